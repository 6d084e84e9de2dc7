"""GET /subscribedSkus: the tenant's products with seats; consumedUnits comes live from the licence engine."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from entra_sim.graph.common import context_url, graph_json, operation, sim
from entra_sim.model import errors

bp = Blueprint("skus", __name__)

PROPERTIES = ("accountId", "accountName", "appliesTo", "capabilityStatus", "consumedUnits", "id", "prepaidUnits",
              "servicePlans", "skuId", "skuPartNumber", "subscriptionIds")


def _select() -> tuple[str, ...]:
    """Reference 2.1: only $select is supported on subscribedSkus."""
    for option in request.args:
        if option.startswith("$") and option != "$select":
            raise sim().config.error("query_option_not_supported", option=option)
    text = request.args.get("$select")
    if text is None:
        return PROPERTIES
    lookup = {name.lower(): name for name in PROPERTIES}
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name.lower() not in lookup:
            raise sim().config.error("unknown_property", name=name, type="subscribedSku")
    return tuple(lookup[n.lower()] for n in names)


def _render(sku: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    values = {**sku, "consumedUnits": sim().engine.consumed(sku["skuId"])}
    return {name: values[name] for name in names}


@bp.get("/subscribedSkus")
@operation("skus.read")
def list_skus() -> Response:
    names = _select()
    skus = [_render(sku, names) for sku in sim().tenant.skus.values()]
    return graph_json({"@odata.context": context_url("subscribedSkus"), "value": skus})


@bp.get("/subscribedSkus/<sku_id>")
@operation("skus.read")
def get_sku(sku_id: str) -> Response:
    names = _select()
    tenant = sim().tenant
    sku = next((s for s in tenant.skus.values() if s["id"] == sku_id.lower()), None)
    if sku is None:
        raise errors.not_found(sku_id)
    return graph_json({"@odata.context": context_url("subscribedSkus/$entity"), **_render(sku, names)})
