# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entra security groups: the properties the collection manages, how they compare, and the writes that change them.

``params`` is always a dict with the option names of the ``group`` module (name, description, mail_nickname,
membership_type, membership_rule, membership_rule_processing_state); ``licensing_plan`` builds one per planned group,
so both modules create, compare and update groups through the same functions.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.client import BatchRequest, GraphClient
from ansible_collections.entra.licensing.plugins.module_utils.directory import GROUP_FIELDS, find_group_by_name, get_group
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError

DYNAMIC = "DynamicMembership"
CHECK_MODE_ID = "00000000-0000-0000-0000-000000000000"
MAIL_NICKNAME_MAX = 64
# Graph refuses these in mailNickname (and anything outside ASCII 0-127).
_NICKNAME_INVALID = re.compile(r"[@()\\\[\]\";:.<>,\s]")


@dataclass(frozen=True)
class GroupProperty:
    """One managed property: the module option and the Graph property it maps to."""

    option: str
    field: str


# Compared and patched one by one; displayName is handled apart because it is also how a group is found.
GROUP_PROPERTIES = (
    GroupProperty("description", "description"),
    GroupProperty("mail_nickname", "mailNickname"),
    GroupProperty("membership_rule", "membershipRule"),
    GroupProperty("membership_rule_processing_state", "membershipRuleProcessingState"),
)
DIFF_FIELDS = ("displayName", "description", "mailNickname", "groupTypes", "membershipRule", "membershipRuleProcessingState")


def derive_mail_nickname(name: str) -> str:
    """A valid, stable mailNickname for a display name.

    Accents are folded to ASCII, characters Graph refuses are dropped, and the result is cut to 64 characters. A name
    with nothing usable left (all non-Latin script) gets a short hash, so the same name always gives the same value.
    """
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    nickname = _NICKNAME_INVALID.sub("", folded)
    nickname = "".join(ch for ch in nickname if 32 < ord(ch) < 127)
    if not nickname:
        nickname = "group-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
    return nickname[:MAIL_NICKNAME_MAX]


def validate_mail_nickname(value: str) -> None:
    if not value or len(value) > MAIL_NICKNAME_MAX or _NICKNAME_INVALID.search(value) or any(ord(ch) > 127 for ch in value):
        raise GraphError(
            f"mail_nickname '{value}' is invalid: 1 to 64 ASCII characters without spaces or any of @ ( ) \\ [ ] \" ; : . < > ,"
        )


def is_dynamic(group: dict[str, Any]) -> bool:
    return DYNAMIC in (group.get("groupTypes") or [])


def is_synced(group: dict[str, Any]) -> bool:
    """Mastered in on-premises AD: Entra refuses cloud writes to its properties and members."""
    return bool(group.get("onPremisesSyncEnabled"))


def on_prem_source(group: dict[str, Any]) -> str:
    """Where a synced group really lives, for error messages that tell users where to make the change."""
    parts = []
    if group.get("onPremisesSamAccountName"):
        parts.append(f"sAMAccountName {group['onPremisesSamAccountName']}")
    if group.get("onPremisesDomainName"):
        parts.append(f"domain {group['onPremisesDomainName']}")
    if group.get("onPremisesSecurityIdentifier"):
        parts.append(f"SID {group['onPremisesSecurityIdentifier']}")
    return "on-premises Active Directory" + (f" ({', '.join(parts)})" if parts else "")


def find_group(client: GraphClient, group_id: str | None, name: str | None, fields: tuple[str, ...] = GROUP_FIELDS) -> dict[str, Any] | None:
    """By id when given (then ``name`` is the desired display name), else by exact display name."""
    if group_id:
        return get_group(client, group_id, fields)
    return find_group_by_name(client, name or "", fields)


def desired_properties(params: dict[str, Any]) -> dict[str, Any]:
    """The Graph values the task asks for; options left unset are not managed."""
    desired: dict[str, Any] = {}
    for prop in GROUP_PROPERTIES:
        if params.get(prop.option) is not None:
            desired[prop.field] = params[prop.option]
    if params.get("name") is not None:
        desired["displayName"] = params["name"]
    membership_type = params.get("membership_type")
    if membership_type == "dynamic":
        desired.setdefault("membershipRuleProcessingState", "On")
    return desired


def desired_group_types(current_types: list[str], membership_type: str | None) -> list[str]:
    """groupTypes with DynamicMembership added or removed; other types (Unified) are kept as they are."""
    types = [value for value in current_types if value != DYNAMIC]
    if membership_type == "dynamic":
        types.append(DYNAMIC)
    elif membership_type is None and DYNAMIC in current_types:
        types.append(DYNAMIC)
    return types


def create_body(params: dict[str, Any]) -> dict[str, Any]:
    """POST /groups body for a security group (assigned or dynamic)."""
    desired = desired_properties(params)
    body: dict[str, Any] = {
        "displayName": params["name"],
        "mailEnabled": False,
        "securityEnabled": True,
        "mailNickname": desired.pop("mailNickname", None) or derive_mail_nickname(params["name"]),
        "groupTypes": desired_group_types([], params.get("membership_type") or "assigned"),
    }
    body.update({field: value for field, value in desired.items() if field != "displayName"})
    if params.get("membership_type") != "dynamic":
        body.pop("membershipRule", None)
        body.pop("membershipRuleProcessingState", None)
    return body


def changes(current: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body: only what differs from the current group (string values compared exactly)."""
    desired = desired_properties(params)
    patch = {field: value for field, value in desired.items() if (current.get(field) or "") != (value or "")}
    types = desired_group_types(current.get("groupTypes") or [], params.get("membership_type"))
    if sorted(types) != sorted(current.get("groupTypes") or []):
        patch["groupTypes"] = types
    if DYNAMIC not in types:
        # An assigned group has no rule; leaving dynamic membership keeps today's members as assigned ones.
        patch.pop("membershipRule", None)
        patch.pop("membershipRuleProcessingState", None)
    return patch


def diff_view(group: dict[str, Any] | None) -> dict[str, Any] | None:
    """The properties shown in ``--diff``, lists sorted so the comparison is about content only."""
    if group is None:
        return None
    view = {field: group.get(field) for field in DIFF_FIELDS}
    view["groupTypes"] = sorted(view["groupTypes"] or [])
    return view


# ------------------------------------------------------------------------------------------------ validation
def validate_params(params: dict[str, Any]) -> None:
    """Mistakes in the options that need no Graph call to find, refused before anything is read or written."""
    if params.get("mail_nickname") is not None:
        validate_mail_nickname(params["mail_nickname"])
    if params.get("membership_rule") is not None and params.get("membership_type") == "assigned":
        raise GraphError("membership_rule applies only to membership_type=dynamic")


def check_rule_target(current: dict[str, Any], params: dict[str, Any]) -> None:
    """A rule for an existing assigned group must come with membership_type=dynamic: switching is never implied."""
    if params.get("membership_rule") is not None and params.get("membership_type") is None and not is_dynamic(current):
        raise GraphError(f"Group '{current['displayName']}' has assigned membership; set membership_type=dynamic to give it a rule")


# ---------------------------------------------------------------------------------------------------- writes
def new_group_body(params: dict[str, Any]) -> dict[str, Any]:
    """The POST /groups body for a group that does not exist yet, or the reason it cannot be created."""
    if not params.get("name"):
        raise GraphError(f"No group with id '{params['id']}' exists; give name to create a new group")
    body = create_body(params)
    if DYNAMIC in body["groupTypes"] and not body.get("membershipRule"):
        raise GraphError("membership_type=dynamic needs membership_rule")
    return body


def create_group(client: GraphClient, body: dict[str, Any], unsettled: GraphError | None = None) -> dict[str, Any]:
    """POST /groups, never twice: after an ambiguous failure the group is looked up by name before another POST."""
    return client.create("/groups", body, find=lambda: find_group_by_name(client, body["displayName"]), unsettled=unsettled)


def create_groups(client: GraphClient, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Create many groups, 20 POSTs per $batch round trip, in the order given.

    A POST inside a batch is not resent by the client (it is not idempotent). An answer that leaves the outcome unknown
    (a 5xx, no answer, or the whole batch lost) is settled like a single create: the group is looked up by name, and
    only posted again when it did not appear. Any other error stops the run.
    """
    try:
        answers = client.batch([BatchRequest("POST", "/groups", body) for body in bodies])
    except GraphError as error:
        if not error.ambiguous:
            raise
        return [create_group(client, body, unsettled=error) for body in bodies]
    created = []
    for body, answer in zip(bodies, answers, strict=True):
        if answer.status < 400:
            created.append(answer.body)
            continue
        error = GraphError.from_response(answer.status, answer.headers, answer.body, f"create group '{body['displayName']}'")
        if answer.status < 500:
            raise error
        error.ambiguous = True
        created.append(create_group(client, body, unsettled=error))
    return created


def ensure_updated(client: GraphClient, current: dict[str, Any], params: dict[str, Any], check_mode: bool, warn: Callable[[str], None]) -> dict[str, Any]:
    """PATCH only what differs and return the group as it is afterwards (``current`` itself when nothing differs).

    Synced groups are refused with their on-premises source; switching between assigned and dynamic membership warns,
    since members, and with them licenses, change.
    """
    patch = changes(current, params)
    if not patch:
        return current
    if is_synced(current):
        names = ", ".join(sorted(patch))
        raise GraphError(
            f"Group '{current['displayName']}' is synced from {on_prem_source(current)}; Entra refuses cloud changes to "
            f"{names}. Change the group on premises (entra.licensing.ad_group) and let AD Connect sync it."
        )
    becomes_dynamic = DYNAMIC in patch.get("groupTypes", []) and not is_dynamic(current)
    if becomes_dynamic:
        if not (patch.get("membershipRule") or current.get("membershipRule")):
            raise GraphError("membership_type=dynamic needs membership_rule")
        warn(
            f"Group '{current['displayName']}' switches from assigned to dynamic membership: Entra replaces its members "
            "with the rule's result, and members who leave lose the group's licenses."
        )
    elif "groupTypes" in patch:
        warn(f"Group '{current['displayName']}' switches from dynamic to assigned membership: today's members stay as assigned members.")
    if not check_mode:
        client.patch(f"/groups/{current['id']}", patch)
    return {**current, **patch}


def user_member_labels(client: GraphClient, group_id: str) -> list[dict[str, Any]]:
    """The direct user members (id and UPN): the people who lose a group's licenses when it goes."""
    params = {"$select": "id,userPrincipalName", "$top": "999"}
    users = client.iterate(f"/groups/{group_id}/members/microsoft.graph.user", params)
    return [{"id": user["id"], "userPrincipalName": user.get("userPrincipalName")} for user in users]


def ensure_absent(client: GraphClient, current: dict[str, Any], force: bool, check_mode: bool) -> dict[str, Any]:
    """Delete the group; licenses first when forced, since Entra refuses to delete a licensed group.

    Returns ``removed_licenses`` and ``members_affected`` when the group had licenses.
    """
    if is_synced(current):
        raise GraphError(
            f"Group '{current['displayName']}' is synced from {on_prem_source(current)}; delete it there "
            "(entra.licensing.ad_group state=absent) and let AD Connect remove it from Entra."
        )
    result: dict[str, Any] = {}
    skus = [license_["skuId"] for license_ in current.get("assignedLicenses") or []]
    if skus:
        affected = user_member_labels(client, current["id"])
        result = {"removed_licenses": skus, "members_affected": affected}
        if not force:
            raise GraphError(
                f"Group '{current['displayName']}' still has {len(skus)} license(s) ({', '.join(skus)}); deleting it would "
                f"take them from {len(affected)} member(s). Remove the licenses first (entra.licensing.group_license "
                "state=absent) or set force=true."
            ).with_context("refused")
        if not check_mode:
            client.post(f"/groups/{current['id']}/assignLicense", {"addLicenses": [], "removeLicenses": skus}, retry_writes=True)
    if not check_mode:
        client.delete(f"/groups/{current['id']}")
    return result


def visible(group: dict[str, Any]) -> dict[str, Any]:
    """The group as a module returns it: Graph's properties without OData annotations."""
    return {key: value for key, value in group.items() if not key.startswith("@odata")}
