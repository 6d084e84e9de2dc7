"""directoryObjects: any user or group by id, one at a time or many with getByIds."""

from __future__ import annotations

from flask import Blueprint, Response

from entra_sim.graph.common import context_url, graph_json, json_body, operation, sim, visible
from entra_sim.graph.directory import typed
from entra_sim.graph.query import parse_select
from entra_sim.model import errors
from entra_sim.model.tenant import is_guid

bp = Blueprint("directory_objects", __name__)

GET_BY_IDS_LIMIT = 1000
TYPES = {"user", "group"}


@bp.get("/directoryObjects/<object_id>")
@operation("directory_objects.read")
def get_directory_object(object_id: str) -> Response:
    if not is_guid(object_id):
        raise errors.bad_request(errors.INVALID_OBJECT_ID.format(id=object_id))
    found = sim().tenant.directory_object(object_id)
    if found is None or not visible(found[1]["id"]):
        raise errors.not_found(object_id)
    kind, obj = found
    select = parse_select("user" if kind == "user" else "group")
    return graph_json({"@odata.context": context_url("directoryObjects/$entity"), **typed(kind, obj, select)})


@bp.post("/directoryObjects/getByIds")
@operation("directory_objects.read")
def get_by_ids() -> Response:
    """Up to 1,000 ids; unknown ids are left out; ``types`` narrows to users and/or groups."""
    body = json_body()
    ids, types = body.get("ids"), body.get("types") or sorted(TYPES)
    if not isinstance(ids, list) or not ids or len(ids) > GET_BY_IDS_LIMIT:
        raise sim().config.error("property_invalid", name="ids", resource="getByIds")
    if not isinstance(types, list) or not {str(t).lower() for t in types} <= TYPES:
        raise sim().config.error("property_invalid", name="types", resource="getByIds")
    wanted = {str(t).lower() for t in types}
    tenant = sim().tenant
    found = [tenant.directory_object(i) for i in ids if isinstance(i, str) and is_guid(i)]
    value = [typed(kind, obj, None) for kind, obj in filter(None, found) if kind in wanted and visible(obj["id"])]
    return graph_json({"@odata.context": context_url("directoryObjects"), "value": value})
