# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A licensing plan applied in one process: groups, their members and their licenses, for any number of groups.

Why a plan and not a loop over the single modules: each module run is a process with its own token and its own
reads, so a plan of N groups looped over group, group_member and group_license costs 3N processes and about 8N round
trips. Here one token serves the whole plan, reads travel together in ``$batch`` (groups by name 300 a round trip,
members and license states 20 groups a round trip), and so do writes (creates, member binds, assignLicense).

The steps are the single modules' own functions (``groups``, ``members``, ``group_licenses``), in this order: validate
the whole plan, read the tenant, plan every group, check seats and lost services over all of them, and only then
write. A mistake anywhere in the plan therefore stops it before its first write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.client import GraphClient
from ansible_collections.entra.licensing.plugins.module_utils.directory import (
    GROUP_FIELDS,
    GROUP_LICENSE_FIELDS,
    find_groups_by_id,
    find_groups_by_name,
    find_users,
    object_kind,
)
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.group_licenses import (
    GroupLicenses,
    Outcome,
    check_losses,
    check_seats,
    errors_warning,
    placeholder_group,
    plan_licenses,
    settle,
    write_licenses,
)
from ansible_collections.entra.licensing.plugins.module_utils.groups import (
    CHECK_MODE_ID,
    DIFF_FIELDS,
    changes,
    create_groups,
    diff_view,
    ensure_updated,
    is_synced,
    new_group_body,
    on_prem_source,
    validate_params,
    visible,
)
from ansible_collections.entra.licensing.plugins.module_utils.licensing import (
    DesiredLicense,
    LicensingError,
    assignments,
    combined_seat_needs,
    licenses_diff,
    resolve_licenses,
    service_losses,
)
from ansible_collections.entra.licensing.plugins.module_utils.licensing_graph import MEMBER_LICENSE_FIELDS, read_catalog
from ansible_collections.entra.licensing.plugins.module_utils.members import (
    add_members_many,
    check_writable,
    label,
    list_members,
    members_after,
    members_by_group,
    nested_groups_warning,
    plan_changes,
    remove_members_many,
    resolve_wanted,
)
from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import Catalog

FIELDS = GROUP_FIELDS + GROUP_LICENSE_FIELDS
CLOUD, ONPREM = "cloud", "onprem"


@dataclass(frozen=True)
class PlanOptions:
    """The plan-wide options of ``licensing_plan``, as the single modules name them."""

    members_state: str = "present"
    licenses_state: str = "present"
    capacity_check: str = "fail"
    force: bool = False
    wait: bool = True
    wait_timeout: float = 600


@dataclass
class PlannedGroup:
    """One group of the plan: as given, as found in Entra, and what has to change."""

    spec: dict[str, Any]
    current: dict[str, Any] | None = None
    # The group as it is (or will be) once its properties are right; a placeholder until a new group is created.
    group: dict[str, Any] = field(default_factory=dict)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    to_add: list[dict[str, Any]] = field(default_factory=list)
    to_remove: list[dict[str, Any]] = field(default_factory=list)
    licenses: GroupLicenses | None = None
    losses: list[dict[str, Any]] = field(default_factory=list)
    outcome: Outcome | None = None

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def cloud(self) -> bool:
        return self.spec["source"] == CLOUD

    @property
    def exists(self) -> bool:
        return self.current is not None

    @property
    def manages_members(self) -> bool:
        return self.cloud and self.spec.get("members") is not None

    def group_params(self) -> dict[str, Any]:
        """The ``group`` module's options for this cloud group, so groups.py creates and compares it as that module does."""
        spec = self.spec
        return {
            "id": spec.get("id"),
            "name": spec["name"],
            "description": spec.get("description"),
            "mail_nickname": None,
            "membership_type": spec.get("membership"),
            "membership_rule": spec.get("rule"),
            "membership_rule_processing_state": None,
        }


def validate(specs: list[dict[str, Any]]) -> None:
    """Mistakes that need no Graph call to find, in every group of the plan, reported together."""
    problems = []
    seen: dict[str, int] = {}
    for number, spec in enumerate(specs, 1):
        where = f"groups item {number} ({spec['name']})"
        key = spec["name"].casefold()
        if key in seen:
            problems.append(f"{where}: the group is already groups item {seen[key]}; list each group once.")
        seen.setdefault(key, number)
        if spec["source"] == ONPREM:
            given = [option for option in ("description", "membership", "rule", "members") if spec.get(option) is not None]
            if given:
                problems.append(
                    f"{where}: {', '.join(given)} of an on-premises group are mastered in Active Directory; manage them with "
                    "entra.licensing.ad_group (the group_licensing role does), not here."
                )
            continue
        if spec.get("membership") == "dynamic" and spec.get("members") is not None:
            problems.append(f"{where}: a dynamic group's members follow its rule; give rule, not members.")
        if spec.get("membership") == "dynamic" and not spec.get("rule"):
            problems.append(f"{where}: membership dynamic needs rule.")
        try:
            validate_params(PlannedGroup(spec).group_params())
        except GraphError as error:
            problems.append(f"{where}: {error.message}")
    if problems:
        raise LicensingError(f"{len(problems)} problem(s) in groups; nothing was changed. " + " ".join(f"({n}) {p}" for n, p in enumerate(problems, 1)))


def resolve_all_licenses(catalog: Catalog, specs: list[dict[str, Any]], state: str) -> list[list[DesiredLicense] | None]:
    """Each group's licenses validated against the tenant (None where not managed); the problems of all groups together."""
    desired: list[list[DesiredLicense] | None] = []
    problems = []
    for spec in specs:
        if spec.get("licenses") is None:
            desired.append(None)
            continue
        try:
            desired.append(resolve_licenses(catalog, spec["licenses"], with_plans=state != "absent"))
        except LicensingError as error:
            problems.append(f"group '{spec['name']}': {error.message}")
            desired.append(None)
    if problems:
        raise LicensingError(" ".join(problems))
    return desired


def find_planned(client: GraphClient, planned: list[PlannedGroup]) -> None:
    """Read every group of the plan: those with an id by id, the others by name (300 a round trip either way)."""
    by_id = find_groups_by_id(client, [group.spec["id"] for group in planned if group.spec.get("id")], FIELDS)
    by_name = find_groups_by_name(client, [group.name for group in planned if not group.spec.get("id")], FIELDS)
    for group in planned:
        found = by_id.get(group.spec["id"].lower()) if group.spec.get("id") else by_name[group.name]
        group.current = visible(found) if found else None


def check_sources(planned: list[PlannedGroup], check_mode: bool, warn: Callable[[str], None]) -> None:
    """Each group must be what the plan says: a cloud group not synced, an on-premises group synced and present."""
    problems = []
    for group in planned:
        current = group.current
        if group.cloud and current is None and group.spec.get("id"):
            problems.append(f"group '{group.name}': no group with id '{group.spec['id']}' exists; leave id out to create it.")
        elif group.cloud and current is not None and is_synced(current):
            problems.append(f"group '{group.name}' is synced from {on_prem_source(current)}; give it source: onprem.")
        elif not group.cloud and current is not None and not is_synced(current):
            problems.append(f"group '{group.name}' is a cloud group in Entra, not synced from Active Directory; give it source: cloud.")
        elif not group.cloud and current is None and not check_mode:
            problems.append(
                f"group '{group.name}' is not in Entra yet: sync it first (entra.licensing.adsync_cycle, then "
                "entra.licensing.synced_object_wait, as the group_licensing role does)."
            )
        elif not group.cloud and current is None:
            warn(f"Group '{group.name}' is not synced to Entra yet; check mode assumes the sync earlier in the play brings it and reports its licenses as new.")
    if problems:
        raise LicensingError(f"{len(problems)} problem(s) with the plan's groups in Entra; nothing was changed. " + " ".join(problems))


def plan_members(client: GraphClient, planned: list[PlannedGroup], state: str, warn: Callable[[str], None]) -> None:
    """Current and wanted members of every assigned cloud group with members in the plan, read and resolved together."""
    managed = [group for group in planned if group.manages_members]
    existing = [group for group in managed if group.current is not None]
    for group in existing:
        # As the group will be: a dynamic group the plan turns into an assigned one takes members.
        check_writable({**group.current, **changes(group.current, group.group_params())} if group.current else {})
    current = list_members(client, [group.current["id"] for group in existing if group.current])
    for group in existing:
        group.members = current[group.current["id"].lower()] if group.current else {}
    references = {group.name: [member for member in group.spec["members"] if member and member.strip()] for group in managed}
    wanted = resolve_wanted(client, references, {group.name: group.members for group in managed})
    for group in managed:
        group.to_add, group.to_remove = plan_changes(group.members, wanted[group.name], state)
        warning = nested_groups_warning(group.to_add, group.name)
        if warning:
            warn(warning)


def plan_group_licenses(catalog: Catalog, planned: list[PlannedGroup], desired: list[list[DesiredLicense] | None], options: PlanOptions) -> None:
    for group, wanted in zip(planned, desired, strict=True):
        if wanted is not None:
            group.licenses = plan_licenses(catalog, group.group, group.exists, wanted, state=options.licenses_state, capacity_check=options.capacity_check)


@dataclass
class SeatTakers:
    """A group's users who may take seats: its user members once the plan's member changes are made (read only when
    the group gets new products or loses plans), and the users the plan adds to it."""

    members: list[dict[str, Any]] = field(default_factory=list)
    joining: list[dict[str, Any]] = field(default_factory=list)


def products_after(group: PlannedGroup) -> set[str]:
    """The SKU ids the group assigns once the plan is applied (those it has now when the plan leaves its licenses alone)."""
    if group.licenses:
        return set(group.licenses.after)
    return set(assignments(group.group.get("assignedLicenses") or []))


def seat_takers(client: GraphClient, planned: list[PlannedGroup]) -> dict[int, SeatTakers]:
    """Users with their license states, by position in the plan, for the two ways a plan takes seats: products new to
    a group (all its members) and members new to a group with products (the joiners)."""
    with_new = {index for index, group in enumerate(planned) if group.licenses and (group.licenses.new or group.licenses.reduced)}
    with_joiners = {index for index, group in enumerate(planned) if group.to_add and products_after(group)}
    existing = [planned[index].current["id"] for index in with_new if planned[index].current]
    now = members_by_group(client, existing, MEMBER_LICENSE_FIELDS) if existing else {}
    joining = [member["id"] for index in with_new | with_joiners for member in planned[index].to_add if object_kind(member) == "user"]
    found = find_users(client, joining, MEMBER_LICENSE_FIELDS)[0] if joining else {}
    takers: dict[int, SeatTakers] = {}
    for index in with_new | with_joiners:
        group = planned[index]
        joiners = [found[member["id"]] for member in group.to_add if member["id"] in found]
        leaving = {member["id"].lower() for member in group.to_remove}
        staying = [user for user in now.get(group.current["id"].lower(), []) if user["id"].lower() not in leaving] if group.current else []
        takers[index] = SeatTakers(staying + joiners, joiners)
    return takers


def seat_grants(catalog: Catalog, planned: list[PlannedGroup], takers: dict[int, SeatTakers]) -> list[tuple[DesiredLicense, list[dict[str, Any]]]]:
    """Who would take a seat of which product: every member for a product new to a group, the joiners for the products
    a group keeps."""
    grants: list[tuple[DesiredLicense, list[dict[str, Any]]]] = []
    for index, group in enumerate(planned):
        taking = takers.get(index)
        if taking is None:
            continue
        new = {item.sku_id: item for item in group.licenses.new} if group.licenses else {}
        grants += [(item, taking.members) for item in new.values()]
        kept = [catalog.sku_by_id(sku_id) for sku_id in sorted(products_after(group) - set(new))]
        grants += [(DesiredLicense(sku, frozenset()), taking.joining) for sku in kept if sku is not None]
    return grants


def check_licenses(
    catalog: Catalog, planned: list[PlannedGroup], takers: dict[int, SeatTakers], options: PlanOptions, warn: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Seats over the whole plan (a user counted once per product), then services lost per group; returns the seats."""
    seats = combined_seat_needs(seat_grants(catalog, planned, takers)) if options.capacity_check != "off" else []
    check_seats(seats, "the members of the plan's groups", options.capacity_check, warn)
    refused = []
    for index, group in enumerate(planned):
        if group.licenses and group.licenses.reduced and group.current:
            group.losses = service_losses(catalog, group.current["id"], takers[index].members, group.licenses.after)
            try:
                check_losses(group.losses, group.name, options.force)
            except LicensingError as error:
                refused.append(error.message)
        if group.licenses:
            warning = group.licenses.new_plans_warning()
            if warning:
                warn(warning)
    if refused:
        raise LicensingError(" ".join(refused), details={"users_losing_service": [loss for group in planned for loss in group.losses]})
    return seats


def write(client: GraphClient, catalog: Catalog, planned: list[PlannedGroup], check_mode: bool, warn: Callable[[str], None]) -> None:
    """Every write of the plan: new groups, changed properties, members, licenses; each kind batched across groups."""
    cloud = [group for group in planned if group.cloud]
    new = [group for group in cloud if not group.exists]
    if new and not check_mode:
        for group, created in zip(new, create_groups(client, [new_group_body(group.group_params()) for group in new]), strict=True):
            group.group.update(visible(created))
            if group.licenses:
                group.licenses.exists = True
    for group in cloud:
        if group.exists and group.current:
            group.group = ensure_updated(client, group.current, group.group_params(), check_mode, warn)
            if group.licenses:
                group.licenses.group = group.group
    if not check_mode:
        additions = {group.group["id"]: group.to_add for group in planned if group.to_add}
        removals = {group.group["id"]: group.to_remove for group in planned if group.to_remove}
        if additions:
            add_members_many(client, additions)
        if removals:
            remove_members_many(client, removals)
    write_licenses(client, catalog, [group.licenses for group in planned if group.licenses], check_mode)


def initial_group(group: PlannedGroup) -> dict[str, Any]:
    """The group to plan licenses on: as found, or what check mode (and the plan, until it creates it) stands in for it."""
    if group.current is not None:
        return dict(group.current)
    if group.cloud:
        return {**new_group_body(group.group_params()), **placeholder_group(group.name)}
    return placeholder_group(group.name)


def apply_plan(client: GraphClient, specs: list[dict[str, Any]], options: PlanOptions, check_mode: bool, warn: Callable[[str], None]) -> dict[str, Any]:
    """Make the tenant match the plan and return the module result (``changed``, ``groups``, ``seats``, ``diff``)."""
    validate(specs)
    catalog = read_catalog(client)
    desired = resolve_all_licenses(catalog, specs, options.licenses_state)
    planned = [PlannedGroup(spec) for spec in specs]
    find_planned(client, planned)
    check_sources(planned, check_mode, warn)
    for group in planned:
        group.group = initial_group(group)
    plan_members(client, planned, options.members_state, warn)
    plan_group_licenses(catalog, planned, desired, options)
    seats = check_licenses(catalog, planned, seat_takers(client, planned), options, warn)
    write(client, catalog, planned, check_mode, warn)
    if options.wait:
        outcomes = settle(client, catalog, [group.licenses for group in planned if group.licenses], check_mode, options.wait_timeout)
        for group in planned:
            if group.licenses:
                group.outcome = outcomes[group.licenses.group_id.lower()]
                if group.outcome.members_with_errors:
                    warn(errors_warning(group.outcome.members_with_errors, group.name))
    results = [group_result(catalog, group) for group in planned]
    return {
        "changed": any(result["changed"] for result in results),
        "groups": results,
        "seats": seats,
        "members_with_errors": [dict(error, group=group.name) for group in planned if group.outcome for error in group.outcome.members_with_errors],
        "diff": plan_diff(catalog, planned),
    }


def group_result(catalog: Catalog, group: PlannedGroup) -> dict[str, Any]:
    """One group's part of the result: what the plan did to it, and the state Entra reports."""
    before = group.current or {}
    updated = sorted(key for key in DIFF_FIELDS if group.exists and before.get(key) != group.group.get(key))
    result: dict[str, Any] = {
        "name": group.name,
        "id": group.group.get("id", CHECK_MODE_ID),
        "source": group.spec["source"],
        "created": not group.exists and group.cloud,
        "updated": updated,
        "members_added": [label(member) for member in group.to_add],
        "members_removed": [label(member) for member in group.to_remove],
        "users_losing_service": group.losses,
    }
    licenses_changed = False
    if group.licenses:
        read_after = group.outcome.after if group.outcome else None
        details = group.licenses.result(catalog, read_after)
        licenses_changed = group.licenses.change.changed
        result.update(
            licenses_added=details["added"],
            licenses_removed=details["removed"],
            licenses=details["licenses"],
            plans_kept_off=details["plans_kept_off"],
        )
    if group.outcome:
        result["licenseProcessingState"] = group.outcome.license_processing_state
        result["members_with_errors"] = group.outcome.members_with_errors
    result["changed"] = bool(result["created"] or updated or group.to_add or group.to_remove or licenses_changed)
    return result


def plan_diff(catalog: Catalog, planned: list[PlannedGroup]) -> dict[str, Any]:
    """``--diff`` per group name: properties, members (where the plan manages them) and licenses, before and after."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for group in planned:
        before[group.name] = None if group.current is None else {"group": diff_view(group.current)}
        after[group.name] = {"group": diff_view(group.group)}
        if group.manages_members and before[group.name] is not None:
            before[group.name]["members"] = sorted(label(member) for member in group.members.values())
        if group.manages_members:
            after[group.name]["members"] = sorted(label(member) for member in members_after(group.members, group.to_add, group.to_remove).values())
        if group.licenses:
            if before[group.name] is not None:
                before[group.name]["licenses"] = licenses_diff(catalog, group.licenses.current)
            after[group.name]["licenses"] = licenses_diff(catalog, group.licenses.after)
    return {"before": before, "after": after}
