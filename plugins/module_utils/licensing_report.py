# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Licensing as people read it: products with seats, and per user and product the paths a license comes by.

These views are what the portal shows as "Licenses" and "Licensed users / Assignment paths", as data. Graph's field
names are kept (skuId, servicePlans, assignedByGroup, ...), and names the collection adds sit beside them. Users are
turned into compact records one at a time, so a report over a whole tenant never holds Graph's raw pages.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.licensing import error_code, group_of, has_error, is_active, seat_counts
from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import Catalog

# Graph fields a licensing report needs from each user; licenseAssignmentStates and usageLocation come only on $select.
USER_REPORT_FIELDS = ("id", "userPrincipalName", "displayName", "accountEnabled", "usageLocation", "licenseAssignmentStates")


def sku_view(catalog: Catalog, entry: dict[str, Any]) -> dict[str, Any]:
    """A subscribedSku with its friendly name, seats (``available``: see ``seat_counts``) and named service plans."""
    sku_id = str(entry.get("skuId", "")).lower()
    units = entry.get("prepaidUnits") or {}
    return {
        "skuId": sku_id,
        "skuPartNumber": entry.get("skuPartNumber"),
        "name": catalog.product_name(sku_id),
        "capabilityStatus": entry.get("capabilityStatus"),
        "appliesTo": entry.get("appliesTo"),
        "prepaidUnits": {key: int(units.get(key) or 0) for key in ("enabled", "suspended", "warning", "lockedOut")},
        "consumedUnits": int(entry.get("consumedUnits") or 0),
        "available": seat_counts(entry)["available"],
        "subscriptionIds": entry.get("subscriptionIds") or [],
        "servicePlans": [
            {
                "servicePlanId": str(plan.get("servicePlanId", "")).lower(),
                "servicePlanName": plan.get("servicePlanName"),
                "name": catalog.plan_name(str(plan.get("servicePlanId", ""))),
                "provisioningStatus": plan.get("provisioningStatus"),
                "appliesTo": plan.get("appliesTo"),
            }
            for plan in entry.get("servicePlans") or []
        ],
    }


def path_view(catalog: Catalog, path: dict[str, Any], group_names: dict[str, str | None]) -> dict[str, Any]:
    """One assignment path: direct, or a group (id and name), with its state, error and plans by name."""
    described = catalog.describe({"skuId": path.get("skuId"), "disabledPlans": path.get("disabledPlans") or []})
    group = group_of(path)
    return {
        "direct": group is None,
        "assignedByGroup": group,
        "group_name": group_names.get(group) if group else None,
        "state": path.get("state"),
        "error": error_code(path),
        "disabledPlans": described["disabledPlans"],
        "enabledPlanNames": described["enabledPlanNames"],
        "disabledPlanNames": described["disabledPlanNames"],
        "lastUpdatedDateTime": path.get("lastUpdatedDateTime"),
    }


def license_views(catalog: Catalog, paths: list[dict[str, Any]], group_names: dict[str, str | None], only_errors: bool = False) -> list[dict[str, Any]]:
    """Per product, the user's paths to it (direct first, then groups by name), by product name.

    ``state`` of a product is Active when any path gives it; otherwise the state of its first path. With
    ``only_errors`` only products with a path in error are kept (all of their paths, for context).
    """
    by_sku: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        by_sku.setdefault(str(path.get("skuId")).lower(), []).append(path)
    views = []
    for sku_id, sku_paths in by_sku.items():
        if only_errors and not any(has_error(path) for path in sku_paths):
            continue
        described = catalog.describe({"skuId": sku_id})
        shown = sorted((path_view(catalog, path, group_names) for path in sku_paths), key=_path_order)
        views.append(
            {
                "skuId": sku_id,
                "skuPartNumber": described["skuPartNumber"],
                "name": described["name"],
                "state": "Active" if any(is_active(path) for path in sku_paths) else sku_paths[0].get("state"),
                "paths": shown,
            }
        )
    return sorted(views, key=lambda view: (view["name"].casefold(), view["skuId"]))


def _path_order(view: dict[str, Any]) -> tuple[bool, str, str]:
    return (not view["direct"], (view["group_name"] or "").casefold(), view["assignedByGroup"] or "")


def user_view(catalog: Catalog, user: dict[str, Any], group_names: dict[str, str | None], only_errors: bool = False) -> dict[str, Any]:
    """A user's licensing record: who they are and, per product, how they get it."""
    return {
        "id": user.get("id"),
        "userPrincipalName": user.get("userPrincipalName"),
        "displayName": user.get("displayName"),
        "accountEnabled": user.get("accountEnabled"),
        "usageLocation": user.get("usageLocation"),
        "licenses": license_views(catalog, user.get("licenseAssignmentStates") or [], group_names, only_errors),
    }


def name_groups(records: list[dict[str, Any]], group_names: dict[str, str | None]) -> None:
    """Fill in group names once they are known (a streamed report learns the group ids as it goes)."""
    for record in records:
        for view in record["licenses"]:
            for path in view["paths"]:
                if path["assignedByGroup"]:
                    path["group_name"] = group_names.get(path["assignedByGroup"])
            view["paths"].sort(key=_path_order)


class Summary:
    """Counts over the reported users, kept as they stream by.

    by_sku: per product, the users holding it at all, directly, through a group, both ways, and with a path in error;
    by_error: paths per error code (a path without a code but not Active counts under its state);
    assignment: user and product pairs by direct only, group only, or both (both are candidates for migration).
    """

    def __init__(self) -> None:
        self.users = 0
        self.by_sku: dict[str, dict[str, Any]] = {}
        self.by_error: dict[str, int] = {}
        self.assignment = {"direct_only": 0, "group_only": 0, "both": 0}

    def add(self, record: dict[str, Any]) -> None:
        self.users += 1
        for view in record["licenses"]:
            counts = self.by_sku.get(view["skuId"])
            if counts is None:
                counts = {key: view[key] for key in ("skuId", "skuPartNumber", "name")}
                counts.update(users=0, direct=0, group=0, both=0, errors=0)
                self.by_sku[view["skuId"]] = counts
            direct = any(path["direct"] for path in view["paths"])
            group = any(not path["direct"] for path in view["paths"])
            counts["users"] += 1
            counts["direct"] += direct
            counts["group"] += group
            counts["both"] += direct and group
            errors = [path for path in view["paths"] if has_error(path)]
            counts["errors"] += bool(errors)
            for path in errors:
                key = path["error"] or path["state"] or "Unknown"
                self.by_error[key] = self.by_error.get(key, 0) + 1
            self.assignment["both" if direct and group else "direct_only" if direct else "group_only"] += 1

    def result(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "licenses": sum(self.assignment.values()),
            "by_sku": sorted(self.by_sku.values(), key=lambda counts: (counts["name"].casefold(), counts["skuId"])),
            "by_error": dict(sorted(self.by_error.items())),
            "assignment": dict(self.assignment),
        }
