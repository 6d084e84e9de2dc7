# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding groups and users: by id, by exact name, by UPN, many at once.

Every lookup of a user-supplied value goes through here, so quoting and the "more than one match" rule live once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote as url_quote

from ansible_collections.entra.licensing.plugins.module_utils.client import BatchRequest, GraphClient, raise_for_status
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
# Graph takes at most 15 values in an "in" list unless the query is an advanced one (Graph known issues).
IN_LIMIT = 15
# Graph matches an eq value of at most 120 characters unless the query is an advanced one (Graph known issues).
EQ_VALUE_LIMIT = 120
# Graph's advanced query parameters need this header (with $count=true).
ADVANCED = {"ConsistencyLevel": "eventual"}


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
    headers = None
    if len(name) > EQ_VALUE_LIMIT:
        # Graph matches eq values of at most 120 characters, unless the query is an advanced one.
        params["$count"] = "true"
        headers = ADVANCED
    return _the_one_named(name, client.iterate("/groups", params=params, headers=headers))


def find_groups_by_name(client: GraphClient, names: list[str], fields: tuple[str, ...] = GROUP_FIELDS) -> dict[str, dict[str, Any] | None]:
    """Groups by exact display name, keyed by the name as given (None for a name no group has).

    Names go 15 to an ``in`` query and 20 queries to a $batch round trip (300 names a round trip); a name longer than
    Graph's eq limit takes an advanced query of its own. Several groups with one name are an error, as for one name.
    """
    unique = list(dict.fromkeys(names))
    short = [name for name in unique if len(name) <= EQ_VALUE_LIMIT]
    long_ = [name for name in unique if len(name) > EQ_VALUE_LIMIT]
    asks = _in_queries("/groups", "displayName", short, fields)
    asks += [BatchRequest("GET", filter_url("/groups", f"displayName eq {quote(name)}", fields) + "&$count=true", headers=ADVANCED) for name in long_]
    candidates: dict[str, list[dict[str, Any]]] = {}
    for _index, group in client.iterate_many(asks):
        candidates.setdefault(str(group.get("displayName") or "").casefold(), []).append(group)
    return {name: _the_one_named(name, candidates.get(name.casefold(), [])) for name in unique}


def _the_one_named(name: str, groups: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    matches = [group for group in groups if group.get("displayName", "").casefold() == name.casefold()]
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


def filter_url(collection: str, filter_: str, fields: tuple[str, ...]) -> str:
    """A relative URL for a $batch request, the filter percent-encoded (names may hold spaces, quotes, '&', '#')."""
    return f"{collection}?$filter={url_quote(filter_, safe='')}&$select={select(fields)}"


def _in_queries(collection: str, prop: str, values: list[str], fields: tuple[str, ...]) -> list[BatchRequest]:
    """One GET per 15 values (Graph's limit for ``in`` without advanced query parameters)."""
    chunks = [values[start:start + IN_LIMIT] for start in range(0, len(values), IN_LIMIT)]
    return [BatchRequest("GET", filter_url(collection, f"{prop} in ({', '.join(quote(value) for value in chunk)})", fields)) for chunk in chunks]


def _found_by(responses: list[Any], prop: str, odata_type: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for response in responses:
        for item in raise_for_status(response, "look up directory objects").body.get("value", []):
            found[str(item.get(prop) or "").casefold()] = {"@odata.type": odata_type, **item}
    return found


def find_users(client: GraphClient, references: list[str], fields: tuple[str, ...] = MEMBER_FIELDS) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Users by UPN or object id: 15 per query, 20 queries per $batch round trip (300 users per round trip).

    Returns the users found, keyed by the reference as given (duplicates once), and the references not found.
    """
    unique = list(dict.fromkeys(reference.strip() for reference in references if reference and reference.strip()))
    ids = [reference.lower() for reference in unique if is_guid(reference)]
    upns = [reference for reference in unique if not is_guid(reference)]
    fields = tuple(dict.fromkeys(("id", "userPrincipalName", *fields)))
    id_asks = _in_queries("/users", "id", ids, fields)
    upn_asks = _in_queries("/users", "userPrincipalName", upns, fields)
    answers = client.batch(id_asks + upn_asks)
    by_id = _found_by(answers[: len(id_asks)], "id", "#microsoft.graph.user")
    by_upn = _found_by(answers[len(id_asks):], "userPrincipalName", "#microsoft.graph.user")
    found = {reference: user for reference in unique if (user := (by_id if is_guid(reference) else by_upn).get(reference.casefold()))}
    return found, [reference for reference in unique if reference not in found]


def find_groups_by_id(client: GraphClient, group_ids: list[str], fields: tuple[str, ...] = GROUP_MEMBER_FIELDS) -> dict[str, dict[str, Any]]:
    """Groups by object id, 300 per round trip, keyed by the lower-case id; ids that are not groups are absent."""
    ids = list(dict.fromkeys(group_id.strip().lower() for group_id in group_ids))
    return _found_by(client.batch(_in_queries("/groups", "id", ids, tuple(dict.fromkeys(("id", *fields))))), "id", "#microsoft.graph.group")


def resolve_objects(client: GraphClient, references: list[str], fields: tuple[str, ...] = MEMBER_FIELDS) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Users (by UPN or id) and groups (by id) for many references, in as few round trips as Graph allows.

    Ids are looked up as users first, the common case, and those that are not users as groups in a second pass.
    That needs only User.Read.All and Group.Read.All, where ``/directoryObjects/{id}`` would need Directory.Read.All.
    Returns the objects found, keyed by the reference as given, and the references that exist as neither, so a
    module can name every unknown reference before it writes anything.
    """
    found, not_users = find_users(client, references, fields)
    candidates = [reference for reference in not_users if is_guid(reference)]
    groups = find_groups_by_id(client, candidates) if candidates else {}
    for reference in candidates:
        if reference.lower() in groups:
            found[reference] = groups[reference.lower()]
    return found, [reference for reference in not_users if reference not in found]


def object_kind(obj: dict[str, Any]) -> str:
    """'user', 'group', ... from Graph's @odata.type, which member lists and resolve_objects always carry."""
    return str(obj.get("@odata.type") or "").rsplit(".", 1)[-1]
