# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entra security groups: the properties the collection manages, how they compare, and the writes that change them."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.client import GraphClient
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
