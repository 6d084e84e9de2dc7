# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A group's licenses from wanted to written to verified: the steps ``group_license`` and ``licensing_plan`` share.

Every step takes any number of groups, so ``licensing_plan`` applies a whole plan in a few round trips and
``group_license`` runs the same code for one group. The order protects users: plan every group, read the members
the checks need, check seats and lost services for all of them, and only then write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.client import GraphClient
from ansible_collections.entra.licensing.plugins.module_utils.directory import require_group
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.groups import CHECK_MODE_ID
from ansible_collections.entra.licensing.plugins.module_utils.licensing import (
    Assignments,
    DesiredLicense,
    LicenseChange,
    LicensingError,
    as_assigned_licenses,
    assignments,
    describe_assignments,
    failed_paths,
    licenses_diff,
    losses_message,
    new_plans_warning,
    plan_change,
    plans_kept_off,
    plans_reduced,
    shortfall_message,
)
from ansible_collections.entra.licensing.plugins.module_utils.licensing_graph import (
    LICENSED_GROUP_FIELDS,
    assign_group_licenses,
    members_with_errors,
    wait_for_groups,
)
from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import Catalog


@dataclass
class GroupLicenses:
    """One group's licenses: as they are, the change that gives the wanted ones, and what the change affects."""

    group: dict[str, Any]
    # False in check mode for a group an earlier task (or the plan itself) is about to create.
    exists: bool
    current: Assignments
    change: LicenseChange
    after: Assignments
    plans_kept_off: list[dict[str, Any]]
    # Products new to the group, whose seats are checked (empty with capacity_check=off).
    new: list[DesiredLicense]
    # Products whose assignment turns some plan off: removed, or with more plans disabled.
    reduced: list[str]

    @property
    def group_id(self) -> str:
        return self.group["id"]

    @property
    def name(self) -> str:
        return self.group.get("displayName") or self.group["id"]

    @property
    def needs_members(self) -> bool:
        """Whether the seat check or the lost-service check must read the members' license states."""
        return self.exists and bool(self.new or self.reduced)

    def new_plans_warning(self) -> str | None:
        added = {item.sku_id for item in self.change.add}
        return new_plans_warning([entry for entry in self.plans_kept_off if entry["skuId"] in added])

    def result(self, catalog: Catalog, read_after: Assignments | None = None) -> dict[str, Any]:
        """What the modules report about the change, in the shapes group_license documents.

        The licenses after the task are those computed from the change, or ``read_after`` when read again after waiting.
        """
        after = self.after if read_after is None else read_after
        return {
            "added": self.change.body()["addLicenses"],
            "removed": self.change.remove,
            "plans_kept_off": self.plans_kept_off,
            "assignedLicenses": as_assigned_licenses(catalog, after),
            "licenses": describe_assignments(catalog, after),
        }

    def diff(self, catalog: Catalog) -> dict[str, Any]:
        return {
            "before": {"group": self.name, "licenses": licenses_diff(catalog, self.current)},
            "after": {"group": self.name, "licenses": licenses_diff(catalog, self.after)},
        }


def licensed_group(client: GraphClient, reference: str, check_mode: bool) -> tuple[dict[str, Any], bool]:
    """The group, and whether it exists. In check mode a missing group stands for one created earlier in the play.

    A check-mode run of a whole bootstrap play creates no group, so its licenses are reported as additions to a new,
    empty group instead of failing the run.
    """
    try:
        return require_group(client, reference, LICENSED_GROUP_FIELDS), True
    except GraphError as error:
        if not check_mode or error.status != 404:
            raise
    return placeholder_group(reference), False


def placeholder_group(name: str) -> dict[str, Any]:
    """A group that check mode assumes is created first: security-enabled, no licenses, no members."""
    return {"id": CHECK_MODE_ID, "displayName": name, "securityEnabled": True, "assignedLicenses": []}


def check_licensable(group: dict[str, Any]) -> None:
    if not group.get("securityEnabled"):
        raise LicensingError(
            f"Group '{group.get('displayName')}' is not security-enabled; Entra assigns licenses only to security groups "
            "(and Microsoft 365 groups with securityEnabled)."
        )


def plan_licenses(
    catalog: Catalog, group: dict[str, Any], exists: bool, desired: list[DesiredLicense], *, state: str, capacity_check: str
) -> GroupLicenses:
    """The smallest change from the group's licenses to ``desired`` (``state`` present, absent or exact), computed only."""
    check_licensable(group)
    current = assignments(group.get("assignedLicenses") or [])
    change = plan_change(current, desired, state)
    after = change.apply(current)
    new = [item for item in change.add if item.sku_id not in current] if capacity_check != "off" else []
    return GroupLicenses(group, exists, current, change, after, plans_kept_off(catalog, desired, current), new, plans_reduced(catalog, current, after))


def check_seats(needs: list[dict[str, Any]], holder: str, capacity_check: str, warn: Callable[[str], None]) -> None:
    """Stop before any write when seats run short (``capacity_check=fail``), or warn (``warn``)."""
    short = shortfall_message(needs, holder)
    if short and capacity_check == "fail":
        raise LicensingError(f"{short} Nothing was changed. Free or buy seats, or set capacity_check: warn to assign anyway.")
    if short:
        warn(f"{short} Entra will put the members beyond the free seats in CountViolation.")


def check_losses(losses: list[dict[str, Any]], group_name: str, force: bool) -> None:
    """Refuse, unless forced, a change that takes a service plan from members with no other path to it."""
    if losses and not force:
        raise LicensingError(losses_message(losses, group_name))


def write_licenses(client: GraphClient, catalog: Catalog, plans: Iterable[GroupLicenses], check_mode: bool) -> list[GroupLicenses]:
    """Send the changes (one assignLicense per group, batched) and return the plans that changed."""
    changed = [plan for plan in plans if plan.change.changed]
    if changed and not check_mode:
        assign_group_licenses(client, catalog, {plan.group_id: plan.change for plan in changed})
    return changed


@dataclass
class Outcome:
    """A group's licenses once Entra has processed them: the state it reports and the members it failed."""

    license_processing_state: Any
    members_with_errors: list[dict[str, Any]]
    # The group's assignments as read at the end (None when not read again).
    after: Assignments | None = None


def settle(client: GraphClient, catalog: Catalog, plans: list[GroupLicenses], check_mode: bool, timeout: float) -> dict[str, Outcome]:
    """Wait for Entra to process the groups' licenses and collect their members' errors, keyed by lower-case group id.

    A group check mode only pretends to have has nothing to wait for; in check mode the errors are those of the
    group's members now (membersWithLicenseErrors), since nothing was written to wait for.
    """
    outcomes = {plan.group_id.lower(): Outcome(plan.group.get("licenseProcessingState"), []) for plan in plans if not plan.exists}
    existing = [plan.group_id for plan in plans if plan.exists]
    if not existing:
        return outcomes
    if check_mode:
        errors = members_with_errors(client, catalog, existing)
        for plan in plans:
            if plan.exists:
                outcomes[plan.group_id.lower()] = Outcome(plan.group.get("licenseProcessingState"), errors[plan.group_id.lower()])
        return outcomes
    for group_id, (group, members) in wait_for_groups(client, existing, timeout).items():
        after = assignments(group.get("assignedLicenses") or [])
        outcomes[group_id] = Outcome(group.get("licenseProcessingState"), failed_paths(catalog, group_id, members), after)
    return outcomes


def errors_warning(failures: list[dict[str, Any]], group_name: str) -> str:
    """One line summing up the members a group failed to license, by error code."""
    codes: dict[str, int] = {}
    for failure in failures:
        key = failure["error"] or failure["state"]
        codes[key] = codes.get(key, 0) + 1
    users = len({failure["id"] for failure in failures})
    listed = ", ".join(f"{code} ({count})" for code, count in sorted(codes.items()))
    return f"{users} member(s) of '{group_name}' did not get its licenses: {listed}. See members_with_errors."
