# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Direct members of an Entra group: read them, compare them with a wanted list, and write the difference in bulk.

Writes use the fewest round trips Graph allows: ``members@odata.bind`` carries 20 members per PATCH, and ``$batch``
carries 20 such PATCHes, so up to 400 members are added per round trip; removals are 20 DELETEs per round trip.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.client import BatchRequest, GraphClient, GraphResponse, raise_for_status
from ansible_collections.entra.licensing.plugins.module_utils.directory import MEMBER_FIELDS, object_kind, resolve_objects, select
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.groups import is_dynamic, is_synced, on_prem_source

BIND_LIMIT = 20
ALREADY_MEMBER = "one or more added object references already exist"


def members_by_group(
    client: GraphClient, group_ids: list[str], fields: tuple[str, ...], collection: str = "members/microsoft.graph.user"
) -> dict[str, list[dict[str, Any]]]:
    """Per lower-case group id, the objects of one of its member collections: direct user members by default, all
    direct ``members``, or ``membersWithLicenseErrors/microsoft.graph.user``.

    The first pages of 20 groups travel in one $batch round trip, 999 users a page, so N groups cost ceil(N/20) round
    trips plus one per further page.
    """
    ids = list(dict.fromkeys(group_id.lower() for group_id in group_ids))
    asks = [BatchRequest("GET", f"/groups/{group_id}/{collection}?$select={select(fields)}&$top=999") for group_id in ids]
    users: dict[str, list[dict[str, Any]]] = {group_id: [] for group_id in ids}
    for index, user in client.iterate_many(asks):
        users[ids[index]].append(user)
    return users


def list_members(client: GraphClient, group_ids: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per lower-case group id, its direct members (users, groups, devices, service principals) by lower-case object id."""
    by_group = members_by_group(client, group_ids, MEMBER_FIELDS, "members")
    return {group_id: {member["id"].lower(): member for member in members} for group_id, members in by_group.items()}


def label(member: dict[str, Any]) -> str:
    """How a member is shown to people: UPN for users, display name for the rest, id as the last resort."""
    return member.get("userPrincipalName") or member.get("displayName") or member["id"]


def match_current(references: list[str], current: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """References already answered by the member list (by id or UPN), and those that need a lookup."""
    by_upn = {(member.get("userPrincipalName") or "").casefold(): member for member in current.values() if member.get("userPrincipalName")}
    known: dict[str, dict[str, Any]] = {}
    unknown: list[str] = []
    for reference in references:
        key = reference.strip()
        member = current.get(key.lower()) or by_upn.get(key.casefold())
        if member is None:
            unknown.append(key)
        else:
            known[key] = member
    return known, unknown


def resolve_wanted(
    client: GraphClient, wanted: dict[str, list[str]], current: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per group id, every wanted reference as a directory object.

    References a group's member list already answers need no lookup; the rest, of every group together, are looked up
    at once. Unknown references are all named in one error before any write.
    """
    known: dict[str, dict[str, dict[str, Any]]] = {}
    lookups: dict[str, list[str]] = {}
    for group_id, references in wanted.items():
        known[group_id], lookups[group_id] = match_current(references, current.get(group_id, {}))
    unknown = [reference for references in lookups.values() for reference in references]
    found, missing = resolve_objects(client, unknown) if unknown else ({}, [])
    if missing:
        raise GraphError(f"{len(missing)} member(s) do not exist in the tenant: {', '.join(missing)}", status=404, code="Request_ResourceNotFound")
    for group_id, references in lookups.items():
        known[group_id].update({reference: found[reference] for reference in references})
    return known


def plan_changes(current: dict[str, dict[str, Any]], wanted: dict[str, dict[str, Any]], state: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Objects to add and to remove for ``state`` present, absent or exact."""
    wanted_ids = {member["id"].lower(): member for member in wanted.values()}
    if state == "absent":
        return [], [current[object_id] for object_id in sorted(wanted_ids) if object_id in current]
    to_add = [wanted_ids[object_id] for object_id in sorted(wanted_ids) if object_id not in current]
    to_remove = [current[object_id] for object_id in sorted(current) if object_id not in wanted_ids] if state == "exact" else []
    return to_add, to_remove


def _bind_url(client: GraphClient, object_id: str) -> str:
    return client.url(f"/directoryObjects/{object_id}")


def add_members(client: GraphClient, group_id: str, members: list[dict[str, Any]]) -> None:
    """Add members to one group (see ``add_members_many``)."""
    add_members_many(client, {group_id: members})


def add_members_many(client: GraphClient, additions: dict[str, list[dict[str, Any]]]) -> None:
    """Add members to many groups: 20 per PATCH, the PATCHes of every group packed together into $batch.

    A PATCH with ``members@odata.bind`` is all or nothing: if one member was added meanwhile (another run, a race), the
    whole PATCH fails with "already exist"; that chunk is then added one by one, and "already exists" counts as done.
    New groups may not be replicated yet, so Graph's "objects being referenced don't exist" is retried briefly.
    """
    chunks = [
        (group_id, members[start:start + BIND_LIMIT]) for group_id, members in additions.items() for start in range(0, len(members), BIND_LIMIT)
    ]
    patches = [
        BatchRequest("PATCH", f"/groups/{group_id}", {"members@odata.bind": [_bind_url(client, m["id"]) for m in chunk]}) for group_id, chunk in chunks
    ]
    one_by_one: list[tuple[str, dict[str, Any]]] = []
    for (group_id, chunk), response in zip(chunks, client.batch(patches, retry_not_found=True), strict=True):
        if _already_member(response):
            one_by_one.extend((group_id, member) for member in chunk)
        else:
            raise_for_status(response, f"add members to group {group_id}")
    if one_by_one:
        singles = [BatchRequest("POST", f"/groups/{group_id}/members/$ref", {"@odata.id": _bind_url(client, m["id"])}) for group_id, m in one_by_one]
        for (group_id, member), response in zip(one_by_one, client.batch(singles, retry_not_found=True), strict=True):
            if not _already_member(response):
                raise_for_status(response, f"add {label(member)} to group {group_id}")


def remove_members(client: GraphClient, group_id: str, members: list[dict[str, Any]]) -> None:
    """Remove members from one group (see ``remove_members_many``)."""
    remove_members_many(client, {group_id: members})


def remove_members_many(client: GraphClient, removals: dict[str, list[dict[str, Any]]]) -> None:
    """Remove members through ``/members/{id}/$ref`` (never the object itself), 20 per $batch; gone already is done."""
    pairs = [(group_id, member) for group_id, members in removals.items() for member in members]
    deletes = [BatchRequest("DELETE", f"/groups/{group_id}/members/{m['id']}/$ref") for group_id, m in pairs]
    for (group_id, member), response in zip(pairs, client.batch(deletes), strict=True):
        if response.status != 404:
            raise_for_status(response, f"remove {label(member)} from group {group_id}")


def _already_member(response: GraphResponse) -> bool:
    if response.status != 400:
        return False
    message = ((response.body or {}).get("error") or {}).get("message") or ""
    return ALREADY_MEMBER in message.lower()


def nested_groups(members: list[dict[str, Any]]) -> list[str]:
    """Groups among the members: group-based licensing gives licenses to direct user members only."""
    return [label(member) for member in members if object_kind(member) == "group"]


def check_writable(group: dict[str, Any]) -> None:
    """Members of dynamic groups follow their rule and those of synced groups are mastered on premises: both refused."""
    if is_dynamic(group):
        raise GraphError(
            f"Group '{group['displayName']}' has dynamic membership (rule: {group.get('membershipRule')}); its members follow "
            "the rule and cannot be added or removed. Change the rule with entra.licensing.group, or use an assigned group."
        )
    if is_synced(group):
        raise GraphError(
            f"Group '{group['displayName']}' is synced from {on_prem_source(group)}; its members are managed there "
            "(entra.licensing.ad_group) and Entra refuses cloud changes."
        )


def members_after(current: dict[str, dict[str, Any]], to_add: list[dict[str, Any]], to_remove: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The member list once the changes are written (what check mode reports as the result)."""
    after = dict(current)
    for member in to_remove:
        after.pop(member["id"].lower(), None)
    for member in to_add:
        after[member["id"].lower()] = member
    return after


def nested_groups_warning(members: list[dict[str, Any]], group_name: str) -> str | None:
    """The warning for groups about to become members: group-based licensing does not reach their members."""
    nested = nested_groups(members)
    if not nested:
        return None
    return (
        f"Adding group(s) {', '.join(nested)} as members of '{group_name}': group-based licensing gives "
        "licenses to direct user members only, so their members get no license from this group."
    )


def members_diff(current: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"before": {"members": sorted(label(m) for m in current.values())}, "after": {"members": sorted(label(m) for m in after.values())}}
