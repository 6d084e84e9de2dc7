# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules of licensing, as pure functions over Graph's own shapes.

Everything that protects users lives here, testable without a tenant: a playbook's licenses are validated completely
before anything is written; assignments are compared as sets, so a rerun writes nothing; seats are counted before a
group takes them; a removal that would take a service away from someone with no other path to it is found before it
happens. The shapes are Graph's: ``subscribedSkus`` entries, ``assignedLicenses`` entries (skuId, disabledPlans) and
``licenseAssignmentStates`` entries (skuId, assignedByGroup, state, error, disabledPlans). Graph calls live in
``licensing_graph``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import PUBLISHED_DATE, Catalog, CatalogError, Sku

# A path in one of these states gives the user the product (and takes a seat); Error and Disabled do not.
ACTIVE_STATES = frozenset(["Active", "ActiveWithError"])
# Graph reports a healthy path's error as null or as the string "None" (reference 2.5); both mean no error.
NO_ERROR = (None, "", "None")

# The suboptions of every module's ``licenses`` option (enabled_plans and disabled_plans are mutually exclusive).
LICENSE_OPTIONS: dict[str, dict[str, Any]] = dict(
    sku=dict(type="str", required=True),
    enabled_plans=dict(type="list", elements="str"),
    disabled_plans=dict(type="list", elements="str"),
)

# An assignment as a set: skuId -> disabled plan ids (lower-case GUIDs). Sets make order and case irrelevant.
Assignments = dict[str, frozenset[str]]


class LicensingError(GraphError):
    """A licensing rule refused the task before anything was written; ``details`` are added to the task result."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


# --------------------------------------------------------------------------------------------------- desired state
@dataclass(frozen=True)
class DesiredLicense:
    """One validated item of the ``licenses`` option."""

    sku: Sku
    disabled: frozenset[str]
    # Given as enabled_plans: the disabled list is the complement of the tenant's plans, computed at each run.
    allow_list: bool = False

    @property
    def sku_id(self) -> str:
        return self.sku.sku_id

    def assigned(self) -> dict[str, Any]:
        """The ``addLicenses`` entry, plans in the SKU's order so requests and diffs read the same every run."""
        return {"skuId": self.sku.sku_id, "disabledPlans": [plan.plan_id for plan in self.sku.plans if plan.plan_id in self.disabled]}


def resolve_licenses(catalog: Catalog, specs: list[dict[str, Any]], with_plans: bool = True) -> list[DesiredLicense]:
    """Validate every item of ``licenses`` against the tenant and turn names into GUIDs.

    All problems are collected and raised together, so one run shows every typo and nothing is written until the
    whole list is right. ``with_plans=False`` is for removals, where only the product matters.
    """
    problems: list[str] = []
    desired: list[DesiredLicense] = []
    seen: dict[str, int] = {}
    for number, spec in enumerate(specs, 1):
        where = f"licenses item {number}"
        try:
            sku = catalog.sku(spec["sku"])
        except CatalogError as error:
            problems.append(f"{where}: {error}")
            continue
        if sku.sku_id in seen:
            problems.append(f"{where}: {sku.label} is already licenses item {seen[sku.sku_id]}; list each product once, with all its plans in one item.")
            continue
        seen[sku.sku_id] = number
        enabled = spec.get("enabled_plans")
        refs = (enabled if enabled is not None else spec.get("disabled_plans") or []) if with_plans else []
        named: set[str] = set()
        for ref in refs:
            try:
                named.add(sku.plan(ref).plan_id)
            except CatalogError as error:
                problems.append(f"{where}: {error}")
        if enabled is not None and with_plans:
            desired.append(DesiredLicense(sku, frozenset(sku.disabled_plans_for(sorted(named))), allow_list=True))
        else:
            desired.append(DesiredLicense(sku, frozenset(named)))
    if problems:
        count = f"{len(problems)} problems" if len(problems) > 1 else "A problem"
        raise LicensingError(f"{count} in licenses; nothing was changed. " + " ".join(f"({n}) {p}" for n, p in enumerate(problems, 1)))
    return desired


def assignments(assigned: Iterable[dict[str, Any]]) -> Assignments:
    """Graph's ``assignedLicenses`` as sets."""
    return {str(item["skuId"]).lower(): frozenset(str(plan).lower() for plan in item.get("disabledPlans") or []) for item in assigned}


# ---------------------------------------------------------------------------------------------------------- changes
@dataclass
class LicenseChange:
    """What one ``assignLicense`` call must carry."""

    add: list[DesiredLicense] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.add or self.remove)

    def body(self) -> dict[str, Any]:
        """Both arrays are always sent: Graph rejects a payload that lacks either (reference 1.8)."""
        return {"addLicenses": [item.assigned() for item in self.add], "removeLicenses": list(self.remove)}

    def apply(self, current: Assignments) -> Assignments:
        """The assignments after the call (assignLicense replaces a SKU's disabledPlans, it never merges them)."""
        after = {sku: disabled for sku, disabled in current.items() if sku not in self.remove}
        after.update({item.sku_id: item.disabled for item in self.add})
        return after


def plan_change(current: Assignments, desired: list[DesiredLicense], state: str) -> LicenseChange:
    """The smallest change from ``current`` to the desired state, compared by sets so a rerun changes nothing.

    ``present`` adds or updates the listed products, ``absent`` removes them, ``exact`` also removes the unlisted.
    """
    if state == "absent":
        return LicenseChange(remove=[item.sku_id for item in desired if item.sku_id in current])
    change = LicenseChange(add=[item for item in desired if current.get(item.sku_id) != item.disabled])
    if state == "exact":
        listed = {item.sku_id for item in desired}
        change.remove = [sku for sku in current if sku not in listed]
    return change


def enabled_plans(catalog: Catalog, sku_id: str, disabled: Iterable[str]) -> frozenset[str]:
    """The plan ids an assignment turns on: the SKU's plans (the tenant's list) minus the disabled ones."""
    sku = catalog.sku_by_id(sku_id)
    off = {str(plan).lower() for plan in disabled}
    return frozenset(plan.plan_id for plan in (sku.plans if sku else ()) if plan.plan_id not in off)


def plan_names(catalog: Catalog, sku_id: str, plan_ids: Iterable[str]) -> list[str]:
    """Friendly names of some of a SKU's plans, in the SKU's order (unknown ids last, as given)."""
    wanted = set(plan_ids)
    sku = catalog.sku_by_id(sku_id)
    ordered = [plan.plan_id for plan in (sku.plans if sku else ()) if plan.plan_id in wanted]
    ordered += sorted(wanted - set(ordered))
    return [catalog.plan_name(plan_id) for plan_id in ordered]


def plans_kept_off(catalog: Catalog, desired: list[DesiredLicense], current: Assignments) -> list[dict[str, Any]]:
    """Plans an ``enabled_plans`` allow-list keeps off that deserve a look.

    Two kinds: plans Microsoft added to the product after its published table (``reason: new``), which an allow-list
    disables on purpose but people should know about; and plans that were enabled on the assignment before this run
    (``reason: was_enabled``).
    """
    found = []
    for item in desired:
        if not item.allow_list:
            continue
        published = catalog.published(item.sku_id)
        known = {plan.plan_id for plan in published.plans} if published else None
        before = current.get(item.sku_id)
        for plan in item.sku.plans:
            if plan.plan_id not in item.disabled:
                continue
            if known is not None and plan.plan_id not in known:
                reason = "new"
            elif before is not None and plan.plan_id not in before:
                reason = "was_enabled"
            else:
                continue
            found.append(
                {
                    "skuId": item.sku_id,
                    "sku": item.sku.name,
                    "servicePlanId": plan.plan_id,
                    "servicePlanName": plan.name,
                    "name": plan.friendly_name,
                    "reason": reason,
                }
            )
    return found


def new_plans_warning(kept_off: list[dict[str, Any]]) -> str | None:
    """One line for the plans Microsoft added that an allow-list keeps off, or None."""
    new = [entry for entry in kept_off if entry["reason"] == "new"]
    if not new:
        return None
    by_sku: dict[str, list[str]] = {}
    for entry in new:
        by_sku.setdefault(entry["sku"], []).append(f"{entry['name']} ({entry['servicePlanName']})")
    listed = "; ".join(f"{sku}: {', '.join(names)}" for sku, names in by_sku.items())
    return (
        f"enabled_plans keeps off service plans Microsoft added after its published table of {PUBLISHED_DATE}: {listed}. "
        "Add them to enabled_plans to turn them on."
    )


# ------------------------------------------------------------------------------------------------------- user paths
def error_code(path: dict[str, Any]) -> str | None:
    """A path's error code, None when healthy."""
    error = path.get("error")
    return None if error in NO_ERROR else error


def is_active(path: dict[str, Any]) -> bool:
    return path.get("state") in ACTIVE_STATES


def has_error(path: dict[str, Any]) -> bool:
    """A path that does not plainly work: an error code, or a state other than Active (Error, ActiveWithError, Disabled).

    Works on Graph's licenseAssignmentStates entries and on ``path_view`` records alike.
    """
    return error_code(path) is not None or path.get("state") != "Active"


def holds_seat(user: dict[str, Any], sku_id: str) -> bool:
    """Whether the user already consumes a seat of this SKU: any path to it (direct or group) is active."""
    return any(str(path.get("skuId")).lower() == sku_id and is_active(path) for path in user.get("licenseAssignmentStates") or [])


def path_plans(catalog: Catalog, path: dict[str, Any]) -> frozenset[str]:
    return enabled_plans(catalog, str(path.get("skuId")).lower(), path.get("disabledPlans") or [])


def group_of(path: dict[str, Any]) -> str | None:
    group = path.get("assignedByGroup")
    return str(group).lower() if group else None


def unprocessed_members(members: list[dict[str, Any]], group_id: str, expected: Assignments) -> list[dict[str, Any]]:
    """Members whose license states do not show the group's current assignments yet: Entra has not reached them.

    A member is done when every product of the group has a path from the group with the group's disabled plans
    (in any state: an error is an outcome too), and no active path remains from a product the group no longer has.
    This is the proof that processing reached the users, whatever licenseProcessingState says.
    """
    group_id = group_id.lower()
    pending = []
    for user in members:
        paths = [path for path in user.get("licenseAssignmentStates") or [] if group_of(path) == group_id]
        current = assignments(path for path in paths if str(path.get("skuId")).lower() in expected or is_active(path))
        if current != expected:
            pending.append({"id": user.get("id"), "userPrincipalName": user.get("userPrincipalName")})
    return pending


def failed_paths(catalog: Catalog, group_id: str, users: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The users' failed paths from this group: one entry per user and product, with Graph's state and error code."""
    group_id = group_id.lower()
    entries = []
    for user in users:
        for path in user.get("licenseAssignmentStates") or []:
            if group_of(path) != group_id or not has_error(path):
                continue
            sku_id = str(path.get("skuId")).lower()
            described = catalog.describe({"skuId": sku_id})
            entries.append(
                {
                    "id": user.get("id"),
                    "userPrincipalName": user.get("userPrincipalName"),
                    "skuId": sku_id,
                    "skuPartNumber": described["skuPartNumber"],
                    "sku": described["name"],
                    "state": path.get("state"),
                    "error": error_code(path),
                    "lastUpdatedDateTime": path.get("lastUpdatedDateTime"),
                }
            )
    return entries


# ------------------------------------------------------------------------------------------------------------ seats
def seat_counts(subscribed: dict[str, Any] | None) -> dict[str, int]:
    """Seats of a subscribedSku entry, with the collection's ``available``.

    available = prepaidUnits.enabled + prepaidUnits.warning - consumedUnits, never below 0: units in warning (the
    grace period after a subscription lapses) can still be assigned; suspended and lockedOut units cannot.
    """
    units = (subscribed or {}).get("prepaidUnits") or {}
    enabled = int(units.get("enabled") or 0)
    warning = int(units.get("warning") or 0)
    consumed = int((subscribed or {}).get("consumedUnits") or 0)
    return {"enabled": enabled, "warning": warning, "consumed": consumed, "available": max(0, enabled + warning - consumed)}


def seat_needs(new: list[DesiredLicense], users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each product about to be given to ``users``: how many of them would take a new seat, and how many are free."""
    return combined_seat_needs((item, users) for item in new)


def combined_seat_needs(grants: Iterable[tuple[DesiredLicense, Iterable[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Seats per product for products about to be given to groups of users, several groups counted together.

    A user takes a new seat unless some active path (direct or another group) already gives them the product, and
    takes one seat however many of the groups give it, so two groups that each fit alone can still run short together.
    """
    products: dict[str, DesiredLicense] = {}
    takers: dict[str, dict[str, dict[str, Any]]] = {}
    for item, users in grants:
        products.setdefault(item.sku_id, item)
        bucket = takers.setdefault(item.sku_id, {})
        for user in users:
            bucket.setdefault(str(user.get("id")).lower(), user)
    needs = []
    for sku_id, item in products.items():
        seats = seat_counts(item.sku.subscribed)
        needed = sum(1 for user in takers[sku_id].values() if not holds_seat(user, sku_id))
        needs.append(
            {
                "skuId": sku_id,
                "skuPartNumber": item.sku.part_number,
                "name": item.sku.name,
                "needed": needed,
                "available": seats["available"],
                "enabled": seats["enabled"],
                "warning": seats["warning"],
                "consumed": seats["consumed"],
                "sufficient": needed <= seats["available"],
            }
        )
    return needs


def shortfall_message(needs: list[dict[str, Any]], holder: str) -> str | None:
    """The sentence for products without enough seats, or None."""
    short = [need for need in needs if not need["sufficient"]]
    if not short:
        return None
    parts = [
        f"{need['name']} ({need['skuPartNumber']}) needs {need['needed']} new seat(s) for {holder}, {need['available']} available "
        f"({need['enabled']} enabled + {need['warning']} in warning - {need['consumed']} consumed)"
        for need in short
    ]
    return "Not enough seats. " + "; ".join(parts) + "."


# -------------------------------------------------------------------------------------------- services being lost
def plans_reduced(catalog: Catalog, before: Assignments, after: Assignments) -> list[str]:
    """SKUs whose assignment would turn some plan off: removed, or with more plans disabled."""
    reduced = []
    for sku, disabled in before.items():
        keeps = enabled_plans(catalog, sku, after[sku]) if sku in after else frozenset()
        if enabled_plans(catalog, sku, disabled) - keeps:
            reduced.append(sku)
    return reduced


def service_losses(catalog: Catalog, group_id: str, members: list[dict[str, Any]], after: Assignments) -> list[dict[str, Any]]:
    """Members who would lose a service plan that nothing else gives them, if the group's assignments became ``after``.

    For each active path through this group, the plans it gives now minus those it would still give are lost, unless
    another active path of the user (a direct assignment or another group, of any product) gives the same plan.
    """
    group_id = group_id.lower()
    losses = []
    for user in members:
        paths = user.get("licenseAssignmentStates") or []
        for index, path in enumerate(paths):
            if group_of(path) != group_id or not is_active(path):
                continue
            sku_id = str(path.get("skuId")).lower()
            keeps = enabled_plans(catalog, sku_id, after[sku_id]) if sku_id in after else frozenset()
            lost = set(path_plans(catalog, path) - keeps)
            for other_index, other in enumerate(paths):
                if other_index != index and is_active(other):
                    lost -= path_plans(catalog, other)
            if lost:
                losses.append(
                    {
                        "id": user.get("id"),
                        "userPrincipalName": user.get("userPrincipalName"),
                        "skuId": sku_id,
                        "sku": catalog.product_name(sku_id),
                        "plans": plan_names(catalog, sku_id, lost),
                    }
                )
    return losses


def losses_message(losses: list[dict[str, Any]], group_name: str, limit: int = 10) -> str:
    users = sorted({entry["userPrincipalName"] or entry["id"] for entry in losses})
    shown = _few(users, limit)
    return (
        f"This change to the licenses of '{group_name}' would take service plans away from {len(users)} member(s) who have no "
        f"other license path to them: {shown} (see users_losing_service). Nothing was changed; set force: true to proceed."
    )


# ---------------------------------------------------------------------------------------------------- readable views
def describe_assignments(catalog: Catalog, current: Assignments) -> list[dict[str, Any]]:
    """``licenses`` as people read them: Graph's skuId and disabledPlans with product and plan names, by product name."""
    described = [catalog.describe({"skuId": sku, "disabledPlans": _ordered(catalog, sku, disabled)}) for sku, disabled in current.items()]
    return sorted(described, key=lambda entry: (entry["name"].casefold(), entry["skuId"]))


def as_assigned_licenses(catalog: Catalog, current: Assignments) -> list[dict[str, Any]]:
    """Graph's ``assignedLicenses`` shape for a set of assignments."""
    return [{"skuId": sku, "disabledPlans": _ordered(catalog, sku, disabled)} for sku, disabled in sorted(current.items())]


def licenses_diff(catalog: Catalog, current: Assignments) -> list[dict[str, Any]]:
    """The diff view of a set of assignments: one entry per product, plan names on both sides."""
    return [
        {
            "sku": f"{entry['name']} ({entry['skuPartNumber']})" if entry["skuPartNumber"] else entry["name"],
            "enabled_plans": entry["enabledPlanNames"],
            "disabled_plans": entry["disabledPlanNames"],
        }
        for entry in describe_assignments(catalog, current)
    ]


def _ordered(catalog: Catalog, sku_id: str, disabled: Iterable[str]) -> list[str]:
    off = set(disabled)
    sku = catalog.sku_by_id(sku_id)
    ordered = [plan.plan_id for plan in (sku.plans if sku else ()) if plan.plan_id in off]
    return ordered + sorted(off - set(ordered))


# ------------------------------------------------------------------------------------------------ direct licenses
def direct_assignments(paths: list[dict[str, Any]]) -> Assignments:
    """A user's direct assignments (the paths without ``assignedByGroup``) as sets."""
    return assignments(path for path in paths if group_of(path) is None)


def inheriting_groups(paths: list[dict[str, Any]]) -> dict[str, list[str]]:
    """skuId -> ids of the groups that give the user that product, whatever the state of the path."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        group = group_of(path)
        if group:
            groups.setdefault(str(path.get("skuId")).lower(), []).append(group)
    return groups


def coverage_gap(catalog: Catalog, paths: list[dict[str, Any]], sku_id: str, group_names: dict[str, str | None]) -> str | None:
    """Why the user's groups do not (yet) replace their direct assignment of a product; None when they do.

    Covered means: at least one group path of the same product is active, and the active group paths together enable
    every plan the direct assignment enables. Removing the direct assignment then changes no service.
    """
    direct = [path for path in paths if group_of(path) is None and str(path.get("skuId")).lower() == sku_id]
    needed = frozenset().union(*(path_plans(catalog, path) for path in direct))
    via_groups = [path for path in paths if group_of(path) and str(path.get("skuId")).lower() == sku_id]
    if not via_groups:
        return "no group gives this product to the user"
    active = [path for path in via_groups if is_active(path)]
    if not active:
        states = ", ".join(f"'{_group_label(path, group_names)}' ({path.get('state')}, {error_code(path) or 'no error code'})" for path in via_groups)
        return f"no group path is active yet: {states}"
    missing = needed - frozenset().union(*(path_plans(catalog, path) for path in active))
    if missing:
        groups = ", ".join(f"'{_group_label(path, group_names)}'" for path in active)
        return f"the active group path(s) {groups} do not enable {_few(plan_names(catalog, sku_id, missing))}, which the direct assignment enables"
    return None


def _few(names: list[str], limit: int = 5) -> str:
    """A list for a sentence: the first few names, then how many more."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _group_label(path: dict[str, Any], group_names: dict[str, str | None]) -> str:
    group = group_of(path) or ""
    return group_names.get(group) or group


@dataclass
class DirectPlan:
    """What user_license will do: one assignLicense change, and direct licenses kept on purpose (with the reason)."""

    change: LicenseChange
    kept: list[dict[str, Any]] = field(default_factory=list)


def plan_direct_change(
    catalog: Catalog,
    user: dict[str, Any],
    desired: list[DesiredLicense],
    *,
    state: str,
    require_group_coverage: bool,
    group_names: dict[str, str | None],
) -> DirectPlan:
    """The change to a user's direct assignments; group paths are never touched (Graph does not allow it).

    ``absent`` means the user must not hold the product: if a group gives it, the task is refused with Graph's own
    words and the groups to leave, because removing the direct assignment would not achieve it. With
    ``require_group_coverage`` it means the opposite intent, the migration step: drop the direct assignment only
    where groups cover it, and a product held only through groups is already where it should be. ``exact`` manages
    direct assignments only; ``require_group_coverage`` guards its removals the same way.
    """
    paths = user.get("licenseAssignmentStates") or []
    direct = direct_assignments(paths)
    inherited = inheriting_groups(paths)
    if state == "absent":
        listed = [item.sku_id for item in desired]
        if not require_group_coverage:
            _refuse_inherited(catalog, user, [sku for sku in listed if sku in inherited], group_names)
        removals = [sku for sku in listed if sku in direct]
        plan = DirectPlan(LicenseChange())
    else:
        plan = DirectPlan(LicenseChange(add=[item for item in desired if direct.get(item.sku_id) != item.disabled]))
        listed_ids = {item.sku_id for item in desired}
        removals = [sku for sku in direct if sku not in listed_ids] if state == "exact" else []
    for sku in removals:
        gap = coverage_gap(catalog, paths, sku, group_names) if require_group_coverage else None
        if gap is None:
            plan.change.remove.append(sku)
        else:
            plan.kept.append({"skuId": sku, "sku": catalog.product_name(sku), "reason": gap})
    return plan


def _refuse_inherited(catalog: Catalog, user: dict[str, Any], skus: list[str], group_names: dict[str, str | None]) -> None:
    if not skus:
        return
    paths = user.get("licenseAssignmentStates") or []
    direct = direct_assignments(paths)
    inherited = inheriting_groups(paths)
    who = user.get("userPrincipalName") or user.get("id")
    parts = []
    held = []
    for sku in skus:
        groups = [{"id": group, "displayName": group_names.get(group)} for group in inherited[sku]]
        names = ", ".join(f"'{group['displayName'] or group['id']}'" for group in groups)
        parts.append(f"{catalog.product_name(sku)} from group(s) {names}" + (" (and directly)" if sku in direct else ""))
        held.append({"skuId": sku, "sku": catalog.product_name(sku), "groups": groups})
    raise LicensingError(
        "User license is inherited from a group membership and it cannot be removed directly from the user. "
        f"{who} gets {'; '.join(parts)}. Remove the user from those groups (entra.licensing.group_member with state: absent), "
        "or set require_group_coverage: true to remove only direct assignments that the groups cover. Nothing was changed.",
        details={"inherited_from": held},
    )


def apply_direct_change(paths: list[dict[str, Any]], change: LicenseChange) -> list[dict[str, Any]]:
    """A user's licenseAssignmentStates as they will be after a direct change (check mode's prediction)."""
    touched = set(change.remove) | {item.sku_id for item in change.add}
    kept = [path for path in paths if group_of(path) is not None or str(path.get("skuId")).lower() not in touched]
    added = [
        {"assignedByGroup": None, "skuId": item.sku_id, "disabledPlans": item.assigned()["disabledPlans"], "state": "Active", "error": None}
        for item in change.add
    ]
    return added + kept


def merged_assignments(catalog: Catalog, paths: list[dict[str, Any]]) -> Assignments:
    """Graph's ``assignedLicenses`` from a user's paths: per product, what no active path enables is disabled."""
    enabled: dict[str, set[str]] = {}
    for path in paths:
        if is_active(path):
            enabled.setdefault(str(path.get("skuId")).lower(), set()).update(path_plans(catalog, path))
    merged = {}
    for sku, plans in enabled.items():
        known = catalog.sku_by_id(sku)
        merged[sku] = frozenset(plan.plan_id for plan in (known.plans if known else ()) if plan.plan_id not in plans)
    return merged


def needs_reprocessing(paths: list[dict[str, Any]]) -> bool:
    """Whether reprocessLicenseAssignment can help: some group path is not plainly Active."""
    return any(group_of(path) and has_error(path) for path in paths)


def path_states(paths: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """What reprocessing may change, per path: its state, error and plans (not its timestamp)."""
    return {(group_of(path), str(path.get("skuId")).lower(), path.get("state"), error_code(path), assignments([path]).popitem()[1]) for path in paths}
