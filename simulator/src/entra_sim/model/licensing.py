"""Direct and group-based licensing, as Entra ID applies it (reference section 2).

* Group licences reach a group's direct user members only; nested groups are ignored.
* Per user and SKU, the enabled plans are the union over all paths; one ``assignedLicenses`` entry per SKU, one
  ``licenseAssignmentStates`` entry per path (``assignedByGroup`` null for the direct one), one seat per user and SKU.
* A group path is all or nothing per user: the first failing check (usage location, seats, mutually exclusive
  plans, dependencies) puts every SKU of that group in ``Error`` for that user.
* Direct assignment is synchronous and validated; group assignment is validated synchronously, then processed in
  the background after ``license_processing_delay`` while the group's ``licenseProcessingState`` moves through
  QueuedForProcessing, ProcessingInProgress and ProcessingComplete.
* Paths are evaluated oldest first (direct, then groups by the later of membership and licence time), so when
  seats run out the newest assignments get CountViolation, and nothing ever takes a seat from its holder.
* Like Entra, a CountViolation is not retried when seats free up: reprocessing (or a change to the group) is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from entra_sim import rules
from entra_sim.config import Config
from entra_sim.model import errors
from entra_sim.model.tenant import Tenant, utc_now

ACTIVE = "Active"
ERROR = "Error"
QUEUED, IN_PROGRESS, COMPLETE, FAILED = (
    "QueuedForProcessing", "ProcessingInProgress", "ProcessingComplete", "ProcessingFailed",
)


class PlanRules:
    """The service-plan conflict table: mutually exclusive pairs, and plans that need one of a list of others."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.exclusive: dict[str, set[str]] = {}
        for first, second in data["mutuallyExclusive"]:
            self.exclusive.setdefault(first, set()).add(second)
            self.exclusive.setdefault(second, set()).add(first)
        self.requires: dict[str, list[str]] = {d["plan"]: d["requires"] for d in data["dependencies"]}

    def conflict(self, plans: set[str], others: set[str]) -> tuple[str, str] | None:
        """A pair (plan in ``plans``, plan in ``plans`` or ``others``) that may not be enabled together."""
        for plan in sorted(plans):
            for other in sorted(self.exclusive.get(plan, ())):
                if other in plans or other in others:
                    return plan, other
        return None

    def unmet(self, plans: set[str]) -> list[tuple[str, list[str]]]:
        """Each enabled plan whose prerequisites (any one of the list) are not enabled, with that list."""
        return [
            (plan, self.requires[plan]) for plan in sorted(plans)
            if plan in self.requires and not any(r in plans for r in self.requires[plan])
        ]


def dependency_error(plan: str, required: list[str]) -> errors.GraphError:
    return errors.bad_request(errors.DEPENDENCY.format(plan=plan, required=",".join(required)))


def exclusive_error(pair: tuple[str, str]) -> errors.GraphError:
    return errors.bad_request(errors.MUTUALLY_EXCLUSIVE.format(plans=",".join(pair)))


class LicenseEngine:
    """Keeps users' licence states, seat holders and groups' processing states; runs the background processing."""

    def __init__(self, lock: threading.RLock, config: Config) -> None:
        self.lock = lock
        self.config = config
        self.cond = threading.Condition(lock)
        self.tenant: Tenant | None = None
        self.rules = PlanRules({"mutuallyExclusive": [], "dependencies": []})
        # (kind, id) -> time.monotonic() when queued; kind is "group" (licence or membership change) or "user".
        self.jobs: dict[tuple[str, str], float] = {}
        self.holders: dict[str, set[str]] = {}
        self.paths_by_group: dict[str, set[str]] = {}
        self.errors_by_group: dict[str, set[str]] = {}
        self._quiet = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._rule_cache: dict[str, rules.Rule] = {}

    # --- lifecycle -------------------------------------------------------------------------------------------

    def attach(self, tenant: Tenant, *, evaluate: bool) -> None:
        """Take over ``tenant``: evaluate every licence afresh (a seed), or trust the stored states (a snapshot)."""
        with self.lock:
            self.tenant = tenant
            self.rules = PlanRules(tenant.plan_rules)
            self.jobs.clear()
            self.holders = {sku: set() for sku in tenant.skus}
            self.paths_by_group.clear()
            self.errors_by_group.clear()
            tenant.on_group_changed = self._group_changed
            tenant.on_user_changed = self._user_changed
            if evaluate:
                self._evaluate_everything()
            else:
                self._rebuild_indexes()
            self.cond.notify_all()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="license-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self.lock:
            self._stopping = True
            self.cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def settle(self) -> None:
        """Finish all pending processing now, whatever the delay (the admin API's ``POST /settle``)."""
        with self.lock:
            while self.jobs:
                self._process_due(force=True)

    def pending(self) -> int:
        with self.lock:
            return len(self.jobs)

    # --- queries ---------------------------------------------------------------------------------------------

    def consumed(self, sku_id: str) -> int:
        return len(self.holders.get(sku_id, ()))

    def capacity(self, sku_id: str) -> int:
        """Assignable seats: enabled units plus those in the warning (grace) state (reference 2.1)."""
        units = self.tenant.skus[sku_id]["prepaidUnits"]
        return units["enabled"] + units["warning"]

    def members_with_errors(self, group_id: str) -> set[str]:
        return self.errors_by_group.get(group_id, set())

    # --- synchronous operations ------------------------------------------------------------------------------

    def assign_direct(self, user: dict[str, Any], add: list[tuple[str, list[str]]], remove: list[str]) -> None:
        """POST /users/{id}/assignLicense: validate in the documented order, then apply, or raise and change nothing."""
        tenant = self.tenant
        for sku in [s for s, _ in add] + remove:
            self._require_sku(sku)
        direct = {sku: dict(a) for sku, a in user["_direct"].items()}
        inherited = {s["skuId"] for s in user["licenseAssignmentStates"] if s["assignedByGroup"]}
        for sku in (s.lower() for s in remove):
            if sku in direct:
                del direct[sku]
            elif sku in inherited:
                raise errors.bad_request(errors.INHERITED_LICENSE_REMOVAL)
            else:
                raise self.config.error("license_not_assigned")
        for sku, disabled in add:
            self._check_disabled_plans(sku, disabled)
        if add and not user["usageLocation"]:
            raise errors.bad_request(errors.INVALID_USAGE_LOCATION)
        for sku, _ in add:
            if user["usageLocation"] in tenant.skus[sku.lower()].get("prohibitedUsageLocations", ()):
                raise self.config.error("usage_location_prohibited", sku=sku, location=user["usageLocation"])
        for sku, _ in add:
            key = sku.lower()
            if user["id"] not in self.holders[key] and self.consumed(key) >= self.capacity(key):
                raise self.config.error("no_available_licenses", account=tenant.tenant_id, sku=key)
        seq = tenant.next_seq()
        for sku, disabled in add:
            key = sku.lower()
            direct[key] = {"disabledPlans": [p.lower() for p in disabled], "_seq": direct.get(key, {}).get("_seq", seq)}
        enabled = self._union({"skuId": sku, **a} for sku, a in direct.items())
        inherited_plans = self._union(s for s in user["licenseAssignmentStates"]
                                      if s["assignedByGroup"] and s["state"] == ACTIVE)
        pair = self.rules.conflict(enabled, inherited_plans)
        if pair:
            raise exclusive_error(pair)
        unmet = self.rules.unmet(enabled | inherited_plans)
        if unmet:
            raise dependency_error(*unmet[0])
        user["_direct"] = direct
        self.evaluate_user(user["id"])

    def assign_group(self, group: dict[str, Any], add: list[tuple[str, list[str]]], remove: list[str]) -> None:
        """POST /groups/{id}/assignLicense: the synchronous checks, then queue the group for processing."""
        for sku in [s for s, _ in add] + remove:
            self._require_sku(sku)
        if not group["securityEnabled"]:
            raise self.config.error("license_group_not_security_enabled")
        for sku, disabled in add:
            self._check_disabled_plans(sku, disabled)
        removed = {s.lower() for s in remove}
        added = {sku.lower(): [p.lower() for p in disabled] for sku, disabled in add}
        licenses = [a for a in group["assignedLicenses"] if a["skuId"] not in removed and a["skuId"] not in added]
        licenses += [{"disabledPlans": disabled, "skuId": sku} for sku, disabled in added.items()]
        unmet = self.rules.unmet(self._union(licenses))
        if unmet:
            raise dependency_error(*unmet[0])
        seq = self.tenant.next_seq()
        group["_license_seq"] = {a["skuId"]: group["_license_seq"].get(a["skuId"], seq) for a in licenses}
        for sku in added:
            group["_license_seq"][sku] = seq
        group["assignedLicenses"] = licenses
        self._group_changed(group["id"])

    def reprocess(self, user: dict[str, Any]) -> None:
        """POST /users/{id}/reprocessLicenseAssignment: evaluate now; a dependency error surfaces synchronously."""
        self.evaluate_user(user["id"])
        states = user["licenseAssignmentStates"]
        active = self._union(s for s in states if s["state"] == ACTIVE)
        for state in states:
            if state["error"] == "DependencyViolation":
                plans = self._enabled(state["skuId"], state["disabledPlans"])
                unmet = [u for u in self.rules.unmet(active) if plans & set(u[1])]
                if unmet:
                    raise dependency_error(*unmet[0])

    # --- change notifications (called by the tenant, lock held) ------------------------------------------------

    def _group_changed(self, group_id: str) -> None:
        if self._quiet:
            return
        group = self.tenant.groups.get(group_id)
        if group is None:
            self.jobs.pop(("group", group_id), None)
            for user_id in self.paths_by_group.pop(group_id, set()):
                self._queue(("user", user_id))
            return
        licensed = bool(group["assignedLicenses"]) or bool(self.paths_by_group.get(group_id))
        if not licensed and not self._is_dynamic(group):
            return
        if licensed:
            group["licenseProcessingState"] = {"state": QUEUED}
        self._queue(("group", group_id))

    def _user_changed(self, user_id: str) -> None:
        if not self._quiet:
            self._queue(("user", user_id))

    def _queue(self, key: tuple[str, str]) -> None:
        self.jobs.pop(key, None)
        self.jobs[key] = time.monotonic()
        self.cond.notify_all()

    # --- background processing -------------------------------------------------------------------------------

    def _run(self) -> None:
        with self.lock:
            while not self._stopping:
                self.cond.wait(self._process_due(force=False))

    def _process_due(self, *, force: bool) -> float | None:
        """Advance every job that is due; return the seconds until the next one needs attention (None: idle)."""
        now = time.monotonic()
        delay = self.config.license_processing_delay
        wake: float | None = None
        for key, queued in list(self.jobs.items()):
            if force or now >= queued + delay:
                del self.jobs[key]
                self._process(key)
                continue
            if key[0] == "group" and now >= queued + delay / 2:
                group = self.tenant.groups.get(key[1], {})
                if group.get("licenseProcessingState") == {"state": QUEUED}:
                    group["licenseProcessingState"] = {"state": IN_PROGRESS}
                next_step = queued + delay
            else:
                next_step = queued + (delay / 2 if key[0] == "group" else delay)
            wake = next_step if wake is None else min(wake, next_step)
        return None if wake is None else max(0.0, wake - now)

    def _process(self, key: tuple[str, str]) -> None:
        kind, object_id = key
        self._quiet = True
        try:
            if kind == "group":
                self._process_group(object_id)
            else:
                if object_id in self.tenant.users:
                    self._refresh_dynamic_memberships(object_id)
                self.evaluate_user(object_id)
        finally:
            self._quiet = False

    def _process_group(self, group_id: str) -> None:
        tenant = self.tenant
        group = tenant.groups.get(group_id)
        if group is None:
            return
        if self._is_dynamic(group):
            self._apply_rule(group)
        members = [obj["id"] for kind, obj in tenant.members(group) if kind == "user"]
        former = sorted(self.paths_by_group.get(group_id, set()) - set(members))
        for user_id in members + former:
            self.evaluate_user(user_id)
        if group["assignedLicenses"] or group["licenseProcessingState"]:
            failed = self.config.processing_failed_state and self.members_with_errors(group_id)
            group["licenseProcessingState"] = {"state": FAILED if failed else COMPLETE}

    def _refresh_dynamic_memberships(self, user_id: str) -> None:
        tenant = self.tenant
        user = tenant.users[user_id]
        for group in list(tenant.groups.values()):
            if not self._is_dynamic(group):
                continue
            matches = self._rule(group["membershipRule"]).matches(user)
            if matches and user_id not in group["_members"]:
                tenant.add_member(group, user_id)
            elif not matches and user_id in group["_members"]:
                tenant.remove_member(group, user_id)

    def _apply_rule(self, group: dict[str, Any]) -> None:
        """Make a dynamic group's members the users its rule matches (in the tenant's user order)."""
        rule = self._rule(group["membershipRule"])
        self.tenant.set_members(group, [uid for uid, user in self.tenant.users.items() if rule.matches(user)])

    def _rule(self, text: str) -> rules.Rule:
        if text not in self._rule_cache:
            self._rule_cache[text] = rules.parse_rule(text)
        return self._rule_cache[text]

    @staticmethod
    def _is_dynamic(group: dict[str, Any]) -> bool:
        return "DynamicMembership" in group["groupTypes"] and group["membershipRuleProcessingState"] == "On"

    # --- evaluation ------------------------------------------------------------------------------------------

    def evaluate_user(self, user_id: str) -> None:
        """Recompute one user's licence states, assignedLicenses and seats from their direct and group paths."""
        tenant = self.tenant
        user = tenant.users.get(user_id)
        if user is None:
            self._forget_user(user_id)
            return None
        old = {(s["assignedByGroup"], s["skuId"]): s for s in user["licenseAssignmentStates"]}
        old_held = {sku for sku, holders in self.holders.items() if user_id in holders}
        healthy = self.config.healthy_error_value
        states: list[dict[str, Any]] = []
        enabled_by_sku: dict[str, set[str]] = {}
        enabled: set[str] = set()

        def record(group_id: str | None, sku: str, disabled: list[str], error: str | None) -> None:
            plans = self._enabled(sku, disabled)
            if error is None:
                enabled.update(plans)
                enabled_by_sku.setdefault(sku, set()).update(plans)
                self.holders[sku].add(user_id)
            state = {
                "assignedByGroup": group_id, "disabledPlans": disabled, "error": error or healthy,
                "lastUpdatedDateTime": None, "skuId": sku, "state": ERROR if error else ACTIVE,
            }
            before = old.get((group_id, sku))
            unchanged = before and all(before[k] == state[k] for k in ("disabledPlans", "error", "state"))
            state["lastUpdatedDateTime"] = before["lastUpdatedDateTime"] if unchanged else utc_now()
            states.append(state)

        for sku, assignment in sorted(user["_direct"].items(), key=lambda item: item[1]["_seq"]):
            record(None, sku, assignment["disabledPlans"], None)
        for group in self._licensing_groups(user_id):
            error = self._group_path_error(user, group, enabled)
            for assignment in group["assignedLicenses"]:
                record(group["id"], assignment["skuId"], assignment["disabledPlans"], error)
        if self._keep_departed_paths(user, old, states, enabled, record):
            return self.evaluate_user(user_id)

        for sku in old_held - set(enabled_by_sku):
            self.holders[sku].discard(user_id)
        user["licenseAssignmentStates"] = states
        user["assignedLicenses"] = self._assigned_licenses(states, enabled_by_sku)
        self._index_paths(user_id, old, states)
        return None

    def _forget_user(self, user_id: str) -> None:
        """A deleted user (synced from AD, deleted there) holds no seat and is on no group's path any more."""
        for holders in self.holders.values():
            holders.discard(user_id)
        for group_id, paths in self.paths_by_group.items():
            paths.discard(user_id)
            errored = self.errors_by_group.setdefault(group_id, set())
            errored.discard(user_id)
            if group_id in self.tenant.groups:
                self.tenant.groups[group_id]["hasMembersWithLicenseErrors"] = bool(errored)

    def _licensing_groups(self, user_id: str) -> list[dict[str, Any]]:
        """The licensed security groups the user is a direct member of, oldest path first."""
        groups = [g for g in self.tenant.groups_of(user_id) if g["assignedLicenses"] and g["securityEnabled"]]
        return sorted(groups, key=lambda g: (max([g["_members"][user_id], *g["_license_seq"].values()]), g["_seq"]))

    def _group_path_error(self, user: dict[str, Any], group: dict[str, Any], enabled: set[str]) -> str | None:
        """The error a group path gets for this user, or None; checks run in Entra's documented order."""
        tenant = self.tenant
        licenses = group["assignedLicenses"]
        location = user["usageLocation"] or tenant.org.get(self.config.inherited_usage_location)
        if any(location in tenant.skus[a["skuId"]].get("prohibitedUsageLocations", ()) for a in licenses):
            return "ProhibitedInUsageLocationViolation"
        for a in licenses:
            holders = self.holders[a["skuId"]]
            if user["id"] not in holders and len(holders) >= self.capacity(a["skuId"]):
                return "CountViolation"
        plans = self._union(licenses)
        if self.rules.conflict(plans, enabled):
            return "MutuallyExclusiveViolation"
        if any(plan in plans for plan, _ in self.rules.unmet(plans | enabled)):
            return "DependencyViolation"
        return None

    def _keep_departed_paths(self, user: dict[str, Any], old: dict, states: list, enabled: set[str], record) -> bool:
        """Handle group paths that went away while another path still depends on their plans.

        Returns True when the user must be evaluated again (a path was converted into a direct assignment).
        """
        needed = {r for _, required in self.rules.unmet(enabled) for r in required}
        if not needed:
            return False
        current = {(s["assignedByGroup"], s["skuId"]) for s in states}
        for (group_id, sku), before in old.items():
            if group_id is None or (group_id, sku) in current:
                continue
            if before["state"] == ERROR and before["error"] != "DependencyViolation":
                continue
            if not self._enabled(sku, before["disabledPlans"]) & needed:
                continue
            if self.config.dependent_removal == "convert_to_direct" and sku not in user["_direct"]:
                user["_direct"] = {**user["_direct"], sku: {"disabledPlans": before["disabledPlans"],
                                                            "_seq": self.tenant.next_seq()}}
                return True
            record(group_id, sku, before["disabledPlans"], "DependencyViolation")
        return False

    def _assigned_licenses(self, states: list[dict[str, Any]], enabled_by_sku: dict[str, set[str]]) -> list[dict]:
        """One entry per SKU: disabledPlans is what no active path enables."""
        assigned: dict[str, set[str]] = {}
        for state in states:
            sku = state["skuId"]
            if sku in enabled_by_sku:
                assigned[sku] = enabled_by_sku[sku]
            elif self.config.error_paths_in_assigned_licenses:
                assigned.setdefault(sku, set()).update(self._enabled(sku, state["disabledPlans"]))
        return [
            {"disabledPlans": [p for p in self._plans(sku) if p not in plans], "skuId": sku}
            for sku, plans in assigned.items()
        ]

    def _index_paths(self, user_id: str, old: dict, states: list[dict[str, Any]]) -> None:
        before = {group_id for group_id, _ in old if group_id}
        after = {s["assignedByGroup"] for s in states if s["assignedByGroup"]}
        failing = {s["assignedByGroup"] for s in states if s["assignedByGroup"] and s["state"] == ERROR}
        for group_id in before | after:
            paths = self.paths_by_group.setdefault(group_id, set())
            errored = self.errors_by_group.setdefault(group_id, set())
            (paths.add if group_id in after else paths.discard)(user_id)
            (errored.add if group_id in failing else errored.discard)(user_id)
            group = self.tenant.groups.get(group_id)
            if group is not None:
                group["hasMembersWithLicenseErrors"] = bool(errored)

    def _evaluate_everything(self) -> None:
        tenant = self.tenant
        self._quiet = True
        try:
            for group in tenant.groups.values():
                if self._is_dynamic(group):
                    self._apply_rule(group)
            for user in tenant.users.values():
                if user["_direct"]:
                    self.evaluate_user(user["id"])
            for group in tenant.groups.values():
                if group["assignedLicenses"]:
                    self._process_group(group["id"])
        finally:
            self._quiet = False

    def _rebuild_indexes(self) -> None:
        for user_id, user in self.tenant.users.items():
            for state in user["licenseAssignmentStates"]:
                if state["state"] == ACTIVE:
                    self.holders.setdefault(state["skuId"], set()).add(user_id)
            self._index_paths(user_id, {}, user["licenseAssignmentStates"])
        for group_id, group in self.tenant.groups.items():
            if (group["licenseProcessingState"] or {}).get("state") in (QUEUED, IN_PROGRESS):
                self._queue(("group", group_id))

    # --- helpers ---------------------------------------------------------------------------------------------

    def _plans(self, sku_id: str) -> list[str]:
        return [p["servicePlanId"] for p in self.tenant.skus[sku_id]["servicePlans"]]

    def _enabled(self, sku_id: str, disabled: Iterable[str]) -> set[str]:
        return set(self._plans(sku_id)) - set(disabled)

    def _union(self, assignments: Iterable[dict[str, Any]]) -> set[str]:
        """The plans enabled by any of some assignments ({"skuId", "disabledPlans"}: licences or states)."""
        plans: set[str] = set()
        for assignment in assignments:
            plans |= self._enabled(assignment["skuId"], assignment["disabledPlans"])
        return plans

    def _require_sku(self, sku: str) -> None:
        if sku.lower() not in self.tenant.skus:
            raise errors.bad_request(errors.INVALID_LICENSE.format(sku=sku))

    def _check_disabled_plans(self, sku: str, disabled: list[str]) -> None:
        plans = set(self._plans(sku.lower()))
        for plan in disabled:
            if plan.lower() not in plans:
                raise self.config.error("disabled_plan_not_in_sku", plan=plan, sku=sku)
