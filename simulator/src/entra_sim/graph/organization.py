"""GET /organization: the tenant's id, name, country and verified domains."""

from __future__ import annotations

from flask import Blueprint, Response, request

from entra_sim.graph.common import context_url, graph_json, operation, sim
from entra_sim.model import errors

bp = Blueprint("organization", __name__)


def _render(org: dict) -> dict:
    text = request.args.get("$select")
    if text is None:
        return dict(org)
    names = [n.strip() for n in text.split(",") if n.strip()]
    lookup = {k.lower(): k for k in org}
    for name in names:
        if name.lower() not in lookup:
            raise sim().config.error("unknown_property", name=name, type="organization")
    return {lookup[n.lower()]: org[lookup[n.lower()]] for n in names}


@bp.get("/organization")
@operation("organization.read")
def list_organization() -> Response:
    return graph_json({"@odata.context": context_url("organization"), "value": [_render(sim().tenant.org)]})


@bp.get("/organization/<org_id>")
@operation("organization.read")
def get_organization(org_id: str) -> Response:
    org = sim().tenant.org
    if org_id.lower() != org["id"]:
        raise errors.not_found(org_id)
    return graph_json({"@odata.context": context_url("organization/$entity"), **_render(org)})
