# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Licensing reads and writes against Microsoft Graph, in the fewest round trips.

Every read names its fields with ``$select`` (licenseAssignmentStates, usageLocation, assignedLicenses and
licenseProcessingState come back only when asked for), lists use ``$top=999``, and many small reads travel together
in ``$batch``. Writes are single ``assignLicense`` calls carrying every add and remove; they are safe to resend
after a dropped connection because their effect converges.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.client import BatchRequest, GraphClient, raise_for_status
from ansible_collections.entra.licensing.plugins.module_utils.directory import GROUP_LICENSE_FIELDS, find_groups_by_id, select, users_path
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.licensing import (
    LicenseChange,
    LicensingError,
    assignments,
    failed_paths,
    group_of,
    unprocessed_members,
)
from ansible_collections.entra.licensing.plugins.module_utils.members import members_by_group
from ansible_collections.entra.licensing.plugins.module_utils.odata import guid
from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import Catalog
from ansible_collections.entra.licensing.plugins.module_utils.transport import Backoff

SKU_FIELDS = ("skuId", "skuPartNumber", "appliesTo", "capabilityStatus", "consumedUnits", "prepaidUnits", "servicePlans", "subscriptionIds")
LICENSED_GROUP_FIELDS = ("id", "displayName", "securityEnabled", "onPremisesSyncEnabled", *GROUP_LICENSE_FIELDS)
USER_LICENSE_FIELDS = ("id", "userPrincipalName", "displayName", "usageLocation", "assignedLicenses", "licenseAssignmentStates")
MEMBER_LICENSE_FIELDS = ("id", "userPrincipalName", "licenseAssignmentStates")
PAGE = "999"
_GUID_IN_TEXT = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
COMPLETE, FAILED = "ProcessingComplete", "ProcessingFailed"


# ------------------------------------------------------------------------------------------------------------ reads
def subscribed_skus(client: GraphClient) -> list[dict[str, Any]]:
    """The tenant's products (subscribedSkus has no paging and no $filter: one call returns all)."""
    return (client.get("/subscribedSkus", params={"$select": select(SKU_FIELDS)}) or {}).get("value", [])


def read_catalog(client: GraphClient) -> Catalog:
    return Catalog(subscribed_skus(client))


def read_user_and_catalog(client: GraphClient, reference: str) -> tuple[dict[str, Any], Catalog]:
    """A user's licensing fields and the tenant's products, together in one round trip."""
    user_answer, skus_answer = client.batch(
        [
            BatchRequest("GET", f"{users_path(reference)}?$select={select(USER_LICENSE_FIELDS)}"),
            BatchRequest("GET", f"/subscribedSkus?$select={select(SKU_FIELDS)}"),
        ]
    )
    if user_answer.status == 404:
        raise GraphError(f"No user '{reference}' exists in the tenant", status=404, code="Request_ResourceNotFound")
    user = raise_for_status(user_answer, f"read user '{reference}'").body
    skus = raise_for_status(skus_answer, "read subscribedSkus").body or {}
    return user, Catalog(skus.get("value", []))


def user_members(client: GraphClient, group_id: str, fields: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """A group's direct user members, page by page: group-based licensing reaches no one else (nested groups neither)."""
    return client.iterate(f"/groups/{group_id}/members/microsoft.graph.user", params={"$select": select(fields), "$top": PAGE})


def all_users(client: GraphClient, fields: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    return client.iterate("/users", params={"$select": select(fields), "$top": PAGE})


def users_with_sku(client: GraphClient, sku_id: str, fields: tuple[str, ...], group_names: dict[str, str | None]) -> Iterator[dict[str, Any]]:
    """Everyone concerned by one product: users who hold it, then users whose group path to it failed.

    Graph can filter users by ``assignedLicenses`` only, which lists users who hold the product; a user whose only path
    is in error (CountViolation, say) does not hold it. Those are found through the groups that carry the product, as
    their members with license errors. The names of those groups are recorded in ``group_names`` on the way.
    """
    seen: set[str] = set()
    users = client.iterate("/users", params={"$filter": f"assignedLicenses/any(x:x/skuId eq {guid(sku_id)})", "$select": select(fields), "$top": PAGE})
    for user in users:
        seen.add(user["id"].lower())
        yield user
    groups = list(
        client.iterate("/groups", params={"$filter": f"assignedLicenses/any(x:x/skuId eq {guid(sku_id)})", "$select": "id,displayName", "$top": PAGE})
    )
    group_names.update({group["id"].lower(): group.get("displayName") for group in groups})
    paths = [f"/groups/{group['id']}/membersWithLicenseErrors/microsoft.graph.user?$select={select(fields)}&$top={PAGE}" for group in groups]
    for user in collections(client, paths):
        if user["id"].lower() not in seen:
            seen.add(user["id"].lower())
            yield user


def collections(client: GraphClient, paths: list[str]) -> Iterator[dict[str, Any]]:
    """Items of several collections: first pages 20 per $batch round trip, further pages by their next links."""
    answers = client.batch([BatchRequest("GET", path) for path in paths])
    for path, answer in zip(paths, answers, strict=True):
        page = raise_for_status(answer, f"GET {path}").body or {}
        yield from page.get("value", [])
        if page.get("@odata.nextLink"):
            yield from client.iterate(page["@odata.nextLink"])


def group_names(client: GraphClient, group_ids: set[str] | list[str]) -> dict[str, str | None]:
    """Display names of groups by id, 300 per round trip; a group deleted meanwhile maps to None."""
    ids = sorted({group_id.lower() for group_id in group_ids})
    groups = find_groups_by_id(client, ids, ("displayName",))
    return {group_id: (groups[group_id].get("displayName") if group_id in groups else None) for group_id in ids}


def path_group_ids(users: list[dict[str, Any]]) -> set[str]:
    """The groups that license these users."""
    return {group for user in users for path in user.get("licenseAssignmentStates") or [] if (group := group_of(path))}


# ----------------------------------------------------------------------------------------------------------- writes
def assign_licenses(client: GraphClient, owner_path: str, change: LicenseChange, catalog: Catalog) -> Any:
    """One assignLicense call (``owner_path`` is /groups/{id} or /users/{id}) with every add and remove."""
    try:
        return client.post(f"{owner_path}/assignLicense", change.body(), retry_writes=True)
    except GraphError as error:
        raise name_guids(error, catalog) from error


def assign_group_licenses(client: GraphClient, catalog: Catalog, changes: dict[str, LicenseChange]) -> None:
    """One assignLicense per group (keys are group ids), 20 per $batch round trip.

    Each call carries every add and remove of its group; resending one converges, so inner 503/504 are retried too.
    """
    ids = list(changes)
    asks = [BatchRequest("POST", f"/groups/{group_id}/assignLicense", changes[group_id].body(), retry_writes=True) for group_id in ids]
    for group_id, answer in zip(ids, client.batch(asks, retry_not_found=True), strict=True):
        if answer.status >= 400:
            raise name_guids(GraphError.from_response(answer.status, answer.headers, answer.body, f"assign licenses to group {group_id}"), catalog)


def name_guids(error: GraphError, catalog: Catalog) -> GraphError:
    """Graph's licensing errors name plans and products by GUID only ("service plans {id},{id} are mutually exclusive").

    Graph's text is kept as it is, since people search for it; the names of the GUIDs it mentions follow it.
    """
    names = {}
    for found in _GUID_IN_TEXT.findall(error.message):
        key = found.lower()
        name = catalog.plan_name(key)
        if name == key and catalog.sku_by_id(key):
            name = catalog.product_name(key)
        if name != key:
            names[key] = name
    if not names:
        return error
    return error.with_message(f"{error.message} ({'; '.join(f'{key}: {name}' for key, name in names.items())})")


def set_usage_location(client: GraphClient, user_id: str, location: str) -> None:
    client.patch(f"/users/{user_id}", {"usageLocation": location})


def reprocess(client: GraphClient, user_id: str) -> None:
    """Ask Entra to evaluate the user's group-based licenses again (there is no group-level reprocess in v1.0)."""
    client.post(f"/users/{user_id}/reprocessLicenseAssignment", retry_writes=True)


def read_user(client: GraphClient, user_id: str) -> dict[str, Any]:
    return client.get(f"/users/{user_id}", params={"$select": select(USER_LICENSE_FIELDS)})


# ------------------------------------------------------------------------------------------------------ processing
def processing_state(group: dict[str, Any]) -> str | None:
    """licenseProcessingState.state (Graph documents a string, the wire carries {"state": ...})."""
    state = group.get("licenseProcessingState")
    return state.get("state") if isinstance(state, dict) else state


def wait_for_groups(
    client: GraphClient,
    group_ids: list[str],
    timeout: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    backoff: Backoff | None = None,
) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Wait until Entra has applied each group's licenses to every direct user member; return, per lower-case group id,
    the group and its user members with their license states.

    Each poll reads the licenseProcessingState of the groups not done yet (cheap, 20 per round trip); those that say
    ProcessingComplete then have their members' own licenseAssignmentStates read (first pages 20 groups per round
    trip, 999 members per page), which must all show the group's current assignments, so a state read too early, or
    a member added meanwhile, does not end the wait. The members returned carry their license states, from which the
    caller reports failures without another request. Polls back off from about 1 s to 15 s. ProcessingFailed ends the
    wait for that group at once (seen in some tenants; the members are still read).
    """
    backoff = backoff or Backoff(base=1.0, cap=15.0)
    deadline = clock() + timeout
    waiting = list(dict.fromkeys(group_id.lower() for group_id in group_ids))
    done: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    attempt = 0
    while True:
        fields = select(("id", "displayName", *GROUP_LICENSE_FIELDS))
        answers = client.batch([BatchRequest("GET", f"/groups/{group_id}?$select={fields}") for group_id in waiting])
        groups = {group_id: raise_for_status(answer, f"read group {group_id}").body for group_id, answer in zip(waiting, answers, strict=True)}
        settled = [group_id for group_id in waiting if processing_state(groups[group_id]) in (None, COMPLETE, FAILED)]
        members = members_by_group(client, settled, MEMBER_LICENSE_FIELDS)
        pending: dict[str, list[dict[str, Any]]] = {}
        for group_id in settled:
            group = groups[group_id]
            expected = assignments(group.get("assignedLicenses") or [])
            not_reached = [] if processing_state(group) == FAILED else unprocessed_members(members[group_id], group_id, expected)
            if not_reached:
                pending[group_id] = not_reached
            else:
                done[group_id] = (group, members[group_id])
        waiting = [group_id for group_id in waiting if group_id not in done]
        if not waiting:
            return done
        delay = backoff.delay(attempt)
        if clock() + delay > deadline:
            raise _wait_timeout([(groups[group_id], pending.get(group_id, [])) for group_id in waiting], timeout)
        sleep(delay)
        attempt += 1


def _wait_timeout(waiting: list[tuple[dict[str, Any], list[dict[str, Any]]]], timeout: float) -> LicensingError:
    """The failure at the deadline: each group still waited for, with the state Entra reported last and the members not reached."""
    described = []
    for group, not_reached in waiting:
        state = f"licenseProcessingState: {processing_state(group)}" + (f"; {len(not_reached)} member(s) not reached yet" if not_reached else "")
        described.append(f"group '{group.get('displayName')}' ({state})")
    return LicensingError(
        f"Entra had not finished applying the licenses of {', '.join(described)} within wait_timeout={timeout:g}s. "
        "Large groups can take longer; raise wait_timeout or check later.",
        details={
            "groups_pending": [
                {
                    "id": group.get("id"),
                    "displayName": group.get("displayName"),
                    "licenseProcessingState": group.get("licenseProcessingState"),
                    "members_pending": not_reached,
                }
                for group, not_reached in waiting
            ]
        },
    )


def members_with_errors(client: GraphClient, catalog: Catalog, group_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per lower-case group id, the members whose license from that group failed, from Graph's membersWithLicenseErrors."""
    users = members_by_group(client, group_ids, MEMBER_LICENSE_FIELDS, "membersWithLicenseErrors/microsoft.graph.user")
    return {group_id: failed_paths(catalog, group_id, members) for group_id, members in users.items()}
