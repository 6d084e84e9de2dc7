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
    named = GraphError(
        f"{error.message} ({'; '.join(f'{key}: {name}' for key, name in names.items())})",
        status=error.status,
        code=error.code,
        request_id=error.request_id,
        client_request_id=error.client_request_id,
        ambiguous=error.ambiguous,
        retry_after=error.retry_after,
    )
    return named


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


def wait_for_processing(
    client: GraphClient,
    group_id: str,
    timeout: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    backoff: Backoff | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Wait until Entra has applied the group's licenses to every direct user member; return the group and members.

    licenseProcessingState is polled first (cheap); once it says ProcessingComplete, the members' own
    licenseAssignmentStates are read (999 per page) and must all show the group's current assignments, so a state
    read too early, or a member added meanwhile, does not end the wait. The members returned carry their license
    states, from which the caller reports failures without another request. Polls back off from about 1 s to 15 s.
    ProcessingFailed ends the wait at once (seen in some tenants; the members are still read).
    """
    backoff = backoff or Backoff(base=1.0, cap=15.0)
    deadline = clock() + timeout
    attempt = 0
    while True:
        group = client.get(f"/groups/{group_id}", params={"$select": select(("id", "displayName", *GROUP_LICENSE_FIELDS))})
        state = processing_state(group)
        pending: list[dict[str, Any]] = []
        if state in (None, COMPLETE, FAILED):
            members = list(user_members(client, group_id, MEMBER_LICENSE_FIELDS))
            pending = [] if state == FAILED else unprocessed_members(members, group_id, assignments(group.get("assignedLicenses") or []))
            if not pending:
                return group, members
        delay = backoff.delay(attempt)
        if clock() + delay > deadline:
            waiting = f"licenseProcessingState: {state}" + (f"; {len(pending)} member(s) not reached yet" if pending else "")
            raise LicensingError(
                f"Entra had not finished applying the licenses of group '{group.get('displayName')}' within wait_timeout={timeout:g}s "
                f"({waiting}). Large groups can take longer; raise wait_timeout or check later.",
                details={"licenseProcessingState": group.get("licenseProcessingState"), "members_pending": pending},
            )
        sleep(delay)
        attempt += 1


def members_with_errors(client: GraphClient, catalog: Catalog, group_id: str) -> list[dict[str, Any]]:
    """The group's members whose license from this group failed, from Graph's membersWithLicenseErrors."""
    params = {"$select": select(MEMBER_LICENSE_FIELDS), "$top": PAGE}
    return failed_paths(catalog, group_id, client.iterate(f"/groups/{group_id.lower()}/membersWithLicenseErrors/microsoft.graph.user", params=params))
