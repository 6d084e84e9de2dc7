# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding groups and users: by id, by exact name, by UPN, many at once.

Every lookup of a user-supplied value goes through here, so quoting and the "more than one match" rule live once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote as url_quote

from ansible_collections.entra.licensing.plugins.module_utils.client import BatchRequest, GraphClient
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.odata import is_guid, quote

GROUP_FIELDS = (
    "id",
    "displayName",
    "description",
    "mailNickname",
    "mailEnabled",
    "securityEnabled",
    "groupTypes",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesSyncEnabled",
    "onPremisesSecurityIdentifier",
    "onPremisesSamAccountName",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "createdDateTime",
)
# Graph returns these two only when asked for by $select.
GROUP_LICENSE_FIELDS = ("assignedLicenses", "licenseProcessingState")
USER_FIELDS = ("id", "userPrincipalName", "displayName", "mail", "usageLocation", "accountEnabled", "onPremisesSyncEnabled")
MEMBER_FIELDS = ("id", "userPrincipalName", "displayName", "onPremisesSyncEnabled")
GROUP_MEMBER_FIELDS = ("id", "displayName", "onPremisesSyncEnabled")


def select(fields: tuple[str, ...] | list[str]) -> str:
    return ",".join(fields)


def users_path(reference: str) -> str:
    """The path of one user by object id or UPN.

    UPNs are URL-encoded (guest UPNs carry ``#EXT#``); a UPN starting with ``$`` must use the key-in-parentheses form.
    """
    reference = reference.strip()
    if reference.startswith("$"):
        return "/users(" + url_quote(quote(reference), safe="") + ")"
    return "/users/" + url_quote(reference, safe="@")


def find_group_by_name(client: GraphClient, name: str, fields: tuple[str, ...] = GROUP_FIELDS) -> dict[str, Any] | None:
    """The one group whose displayName is ``name`` (Entra compares case-insensitively), or None.

    displayName is not unique in Entra: several matches are an error that lists their ids, never a guess.
    """
    params = {"$filter": f"displayName eq {quote(name)}", "$select": select(fields), "$top": "999"}
    matches = [group for group in client.iterate("/groups", params=params) if group.get("displayName", "").casefold() == name.casefold()]
    if len(matches) > 1:
        ids = ", ".join(sorted(group["id"] for group in matches))
        raise GraphError(f"{len(matches)} groups are named '{name}' ({ids}); give the group's id instead of its name")
    return matches[0] if matches else None


def get_group(client: GraphClient, group_id: str, fields: tuple[str, ...] = GROUP_FIELDS, retry_not_found: bool = False) -> dict[str, Any] | None:
    """The group with this object id, or None when it does not exist."""
    if retry_not_found:
        return client.get(f"/groups/{group_id}", params={"$select": select(fields)}, retry_not_found=True)
    return client.get_optional(f"/groups/{group_id}", params={"$select": select(fields)})


def resolve_group(client: GraphClient, reference: str, fields: tuple[str, ...] = GROUP_FIELDS) -> dict[str, Any] | None:
    """A group by object id (GUID) or by exact display name."""
    if is_guid(reference):
        return get_group(client, reference.strip(), fields)
    return find_group_by_name(client, reference, fields)


def require_group(client: GraphClient, reference: str, fields: tuple[str, ...] = GROUP_FIELDS) -> dict[str, Any]:
    """Like resolve_group, for modules that act on an existing group: absence is an error naming the reference."""
    group = resolve_group(client, reference, fields)
    if group is None:
        kind = "id" if is_guid(reference) else "name"
        raise GraphError(f"No group with {kind} '{reference}' exists in the tenant", status=404, code="Request_ResourceNotFound")
    return group


def resolve_objects(client: GraphClient, references: list[str], fields: tuple[str, ...] = MEMBER_FIELDS) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Users (by UPN or id) and groups (by id) for many references, 20 per $batch round trip.

    Ids are looked up as users first, the common case, and those that are not users as groups in a second pass.
    That needs only User.Read.All and Group.Read.All, where ``/directoryObjects/{id}`` would need Directory.Read.All.
    Returns the objects found, keyed by the reference as given, and the references that exist as neither, so a
    module can name every unknown reference before it writes anything.
    """
    unique = list(dict.fromkeys(reference.strip() for reference in references))
    users = {reference: f"{users_path(reference)}?$select={select(fields)}" for reference in unique}
    found, not_users = _batch_lookup(client, users, "#microsoft.graph.user")
    groups = {reference: f"/groups/{reference.lower()}?$select={select(GROUP_MEMBER_FIELDS)}" for reference in not_users if is_guid(reference)}
    found_groups, not_groups = _batch_lookup(client, groups, "#microsoft.graph.group")
    found.update(found_groups)
    missing = [reference for reference in not_users if not is_guid(reference) or reference in not_groups]
    return found, missing


def _batch_lookup(client: GraphClient, paths: dict[str, str], odata_type: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    found: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    asks = [BatchRequest("GET", path) for path in paths.values()]
    for reference, response in zip(paths, client.batch(asks), strict=True):
        if response.status == 404:
            missing.append(reference)
        elif response.status >= 400:
            raise GraphError.from_response(response.status, response.headers, response.body, f"look up '{reference}'")
        else:
            found[reference] = {"@odata.type": odata_type, **response.body}
    return found, missing


def object_kind(obj: dict[str, Any]) -> str:
    """'user', 'group', ... from Graph's @odata.type, which member lists and resolve_objects always carry."""
    return str(obj.get("@odata.type") or "").rsplit(".", 1)[-1]
