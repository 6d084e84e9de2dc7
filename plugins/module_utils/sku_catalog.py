# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolve products (SKUs) and service plans by GUID, part number or friendly name.

Playbooks name products the way people do ("Office 365 E3", "ENTERPRISEPACK") while Graph wants GUIDs. Two sources
are combined: the tenant's ``GET /subscribedSkus`` answer, which is the truth about what the tenant owns and which
plans each SKU really has today, and Microsoft's published table (generated into ``_sku_catalog_data``), which
supplies the friendly names the tenant does not return. Errors always say what would have been valid, because the
person reading them is usually fixing a playbook.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ansible_collections.entra.licensing.plugins.module_utils._sku_catalog_data import PLANS, SKUS, SOURCE

# The date of Microsoft's table: a plan a tenant SKU has beyond it was added by Microsoft later.
PUBLISHED_DATE: str = SOURCE["microsoftLastUpdated"]

_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_SUGGESTIONS = 3


class CatalogError(ValueError):
    """A SKU or plan reference that cannot be resolved; the message names it and lists valid choices."""


def _clean(text: str) -> str:
    """Whitespace-normalised text: users copy names from portals and spreadsheets with stray spaces."""
    return " ".join(str(text).split())


def _fold(text: str) -> str:
    return _clean(text).casefold()


@dataclass(frozen=True)
class Plan:
    plan_id: str
    name: str
    friendly_name: str

    @property
    def label(self) -> str:
        """How a plan is shown in messages: friendly name and plan name, so either can be copied into a playbook."""
        if self.friendly_name == self.name:
            return f"'{self.name}'"
        return f"'{self.friendly_name}' ({self.name})"


@dataclass(frozen=True)
class Sku:
    sku_id: str
    part_number: str
    name: str
    plans: tuple[Plan, ...]
    # The tenant's subscribedSku entry; None for a product known only from Microsoft's table.
    subscribed: dict | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        if self.name == self.part_number:
            return f"'{self.name}'"
        return f"'{self.name}' ({self.part_number})"

    def plan(self, ref: str) -> Plan:
        """Find one of this SKU's plans by GUID, plan name or friendly name (case and spacing ignored)."""
        key = _fold(ref)
        if not key:
            raise CatalogError(f"An empty service plan name was given for {self.label}. {self._plan_list()}")
        for matches in (
            [plan for plan in self.plans if plan.plan_id == key],
            [plan for plan in self.plans if plan.name.casefold() == key],
            [plan for plan in self.plans if _fold(plan.friendly_name) == key],
        ):
            if len(matches) == 1:
                return matches[0]
            if matches:
                listed = ", ".join(f"{plan.label} {plan.plan_id}" for plan in matches)
                raise CatalogError(
                    f"Service plan '{_clean(ref)}' is ambiguous in {self.label}: it matches {listed}. "
                    "Use the plan name or GUID instead."
                )
        raise CatalogError(self._unknown_plan(ref))

    def disabled_plans_for(self, enabled: list[str]) -> list[str]:
        """Turn an allow-list into Graph's ``disabledPlans``: every plan of the SKU that was not named.

        The SKU's plans come from the tenant, so a plan Microsoft adds later is disabled until someone enables it.
        """
        enabled_ids = {self.plan(ref).plan_id for ref in enabled}
        return [plan.plan_id for plan in self.plans if plan.plan_id not in enabled_ids]

    def _unknown_plan(self, ref: str) -> str:
        text = _clean(ref)
        known = _STATIC_PLANS.get(text.lower())
        subject = f"'{text}'" if known is None else f"'{text}' ({known.friendly_name}, {known.name})"
        message = f"Service plan {subject} is not part of {self.label}."
        by_key: dict[str, Plan] = {}
        for plan in self.plans:
            by_key.setdefault(_fold(plan.friendly_name), plan)
            by_key.setdefault(plan.name.casefold(), plan)
        # dict.fromkeys drops repeats (a plan reached by both its names) and keeps difflib's ranking.
        close = list(
            dict.fromkeys(by_key[key] for key in difflib.get_close_matches(_fold(ref), list(by_key), n=_SUGGESTIONS))
        )
        if close:
            message += " Closest matches: " + ", ".join(plan.label for plan in close) + "."
        return f"{message} {self._plan_list()}"

    def _plan_list(self) -> str:
        return f"Plans in {self.label}: " + ", ".join(plan.label for plan in self.plans) + "."


_PLAN_ROWS = [Plan(plan_id, name, friendly_name) for plan_id, name, friendly_name in PLANS]
_STATIC_PLANS = {plan.plan_id: plan for plan in _PLAN_ROWS}
_STATIC_SKUS = {
    sku_id: Sku(sku_id, part_number, name, tuple(_PLAN_ROWS[index] for index in plan_indexes))
    for sku_id, part_number, name, plan_indexes in SKUS
}


def _tenant_sku(entry: dict) -> Sku:
    """Build a SKU from a subscribedSku entry: the tenant's plans, with friendly names from Microsoft's table."""
    sku_id = str(entry.get("skuId", "")).lower()
    known = _STATIC_SKUS.get(sku_id)
    part_number = entry.get("skuPartNumber") or (known.part_number if known else sku_id)
    tenant_plans = entry.get("servicePlans")
    if tenant_plans is None:  # not in the response's $select: Microsoft's list is the best available
        plans = known.plans if known else ()
    else:
        plans = tuple(_tenant_plan(item) for item in tenant_plans)
    return Sku(sku_id, part_number, known.name if known else part_number, plans, entry)


def _tenant_plan(item: dict) -> Plan:
    plan_id = str(item.get("servicePlanId", "")).lower()
    known = _STATIC_PLANS.get(plan_id)
    name = item.get("servicePlanName") or (known.name if known else plan_id)
    return Plan(plan_id, name, known.friendly_name if known else name)


class Catalog:
    """The tenant's products, resolvable by any name a person might use."""

    def __init__(self, subscribed_skus: list[dict]) -> None:
        self.skus = tuple(_tenant_sku(entry) for entry in subscribed_skus)
        self._by_id = {sku.sku_id: sku for sku in self.skus}

    def sku(self, ref: str) -> Sku:
        """Find a subscribed SKU by GUID, part number or product name (case and spacing ignored)."""
        text = _clean(ref)
        key = text.casefold()
        if not key:
            raise CatalogError(f"An empty SKU name was given. {self._subscribed_list()}")
        if _GUID.match(text):
            if key in self._by_id:
                return self._by_id[key]
            if key in _STATIC_SKUS:
                raise CatalogError(self._not_subscribed(text, [_STATIC_SKUS[key]]))
            raise CatalogError(self._unknown_sku(text))
        for matches in (
            [sku for sku in self.skus if sku.part_number.casefold() == key],
            [sku for sku in self.skus if _fold(sku.name) == key],
        ):
            if len(matches) == 1:
                return matches[0]
            if matches:
                listed = ", ".join(f"{sku.label} {sku.sku_id}" for sku in matches)
                raise CatalogError(f"SKU '{text}' is ambiguous: it matches {listed}. Use the SKU GUID instead.")
        for matches in (
            [sku for sku in _STATIC_SKUS.values() if sku.part_number.casefold() == key],
            [sku for sku in _STATIC_SKUS.values() if _fold(sku.name) == key],
        ):
            if matches:
                raise CatalogError(self._not_subscribed(text, matches))
        raise CatalogError(self._unknown_sku(text))

    def sku_by_id(self, sku_id: str) -> Sku | None:
        """The tenant's SKU with this GUID, else Microsoft's (``subscribed`` is None), else None."""
        key = _clean(sku_id).lower()
        return self._by_id.get(key) or _STATIC_SKUS.get(key)

    def published(self, sku_id: str) -> Sku | None:
        """Microsoft's own entry for a SKU (its plans as of ``PUBLISHED_DATE``), whatever the tenant says; None if unlisted.

        Comparing it with the tenant's plan list tells which plans Microsoft added to the product since then.
        """
        return _STATIC_SKUS.get(_clean(sku_id).lower())

    def plan_name(self, plan_id: str) -> str:
        """A plan's friendly name, falling back to the tenant's plan name and then to the GUID itself."""
        key = _clean(plan_id).lower()
        if key in _STATIC_PLANS:
            return _STATIC_PLANS[key].friendly_name
        for sku in self.skus:
            for plan in sku.plans:
                if plan.plan_id == key:
                    return plan.name
        return plan_id

    def product_name(self, sku_id: str) -> str:
        """A product's friendly name, falling back to the tenant's part number and then to the GUID itself."""
        sku = self.sku_by_id(sku_id)
        return sku.name if sku else sku_id

    def describe(self, assigned: dict) -> dict:
        """An ``assignedLicenses`` entry as people read it: Graph's fields plus product and plan names.

        Enabled plans are the SKU's plans minus the disabled ones, so an assignment reads the same whichever way it
        was written (allow-list or deny-list).
        """
        sku_id = str(assigned.get("skuId", "")).lower()
        disabled = [str(plan_id).lower() for plan_id in assigned.get("disabledPlans") or []]
        sku = self.sku_by_id(sku_id)
        return {
            "skuId": sku_id,
            "disabledPlans": disabled,
            "skuPartNumber": sku.part_number if sku else None,
            "name": sku.name if sku else sku_id,
            "enabledPlanNames": [self.plan_name(plan.plan_id) for plan in (sku.plans if sku else ()) if plan.plan_id not in disabled],
            "disabledPlanNames": [self.plan_name(plan_id) for plan_id in disabled],
        }

    def _subscribed_list(self) -> str:
        if not self.skus:
            return "This tenant has no subscribed SKUs."
        return "Subscribed SKUs: " + ", ".join(sku.label for sku in self.skus) + "."

    def _not_subscribed(self, text: str, matches: list[Sku]) -> str:
        names = " and ".join(f"{sku.label} {sku.sku_id}" for sku in matches)
        return f"SKU '{text}' is {names}, which this tenant does not subscribe to. {self._subscribed_list()}"

    def _unknown_sku(self, text: str) -> str:
        """Suggest near names, the tenant's own SKUs first since those are the only ones that can be assigned."""
        key = text.casefold()
        close = _close_skus(key, self.skus)
        others = [sku for sku in _STATIC_SKUS.values() if sku.sku_id not in self._by_id]
        close += _close_skus(key, others)[: max(0, _SUGGESTIONS - len(close))]
        if not close:
            return f"Unknown SKU '{text}'. {self._subscribed_list()}"
        labels = [sku.label + ("" if sku.sku_id in self._by_id else " (not subscribed)") for sku in close]
        return f"Unknown SKU '{text}'. Closest matches: " + ", ".join(labels) + "."


def _close_skus(key: str, skus: Iterable[Sku]) -> list[Sku]:
    """SKUs whose product name or part number is near ``key``, best first."""
    by_key: dict[str, Sku] = {}
    for sku in skus:
        by_key.setdefault(_fold(sku.name), sku)
        by_key.setdefault(sku.part_number.casefold(), sku)
    return list(dict.fromkeys(by_key[match] for match in difflib.get_close_matches(key, list(by_key), n=_SUGGESTIONS)))
