"""Microsoft's SKU and service-plan table (data/sku_catalog.json), with lookups by GUID or by name."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


class Catalog:
    """SKUs by skuId or skuPartNumber and plans by servicePlanId or servicePlanName, case-insensitively."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.plans: dict[str, dict[str, str]] = data["plans"]
        self.skus: dict[str, dict[str, Any]] = data["skus"]
        self._sku_by_name = {sku["skuPartNumber"].lower(): sku_id for sku_id, sku in self.skus.items()}
        self._plan_by_name: dict[str, set[str]] = {}
        for plan_id, plan in self.plans.items():
            self._plan_by_name.setdefault(plan["servicePlanName"].lower(), set()).add(plan_id)

    def sku_id(self, ref: str) -> str:
        """The skuId for a GUID or a skuPartNumber; KeyError if the catalogue has neither."""
        key = ref.lower()
        if key in self.skus:
            return key
        return self._sku_by_name[key]

    def plan_id(self, ref: str) -> str:
        """The servicePlanId for a GUID or an unambiguous servicePlanName; KeyError otherwise."""
        key = ref.lower()
        if key in self.plans:
            return key
        ids = self._plan_by_name.get(key, set())
        if len(ids) != 1:
            raise KeyError(f"{ref!r} names {len(ids)} service plans")
        return next(iter(ids))


@functools.cache
def load_catalog() -> Catalog:
    text = resources.files("entra_sim").joinpath("data/sku_catalog.json").read_text(encoding="utf-8")
    return Catalog(json.loads(text))
