"""Helpers shared by the users and groups routes: rendering directory objects, reading assignLicense bodies,
resolving ``@odata.id`` references, and listing related objects (members, memberOf...)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Response, request

from entra_sim.graph.common import context_url, graph_json, sim, visible
from entra_sim.graph.query import count_response, page, parse_list_query, select_fragment
from entra_sim.model import errors
from entra_sim.model.schema import canonical_property, render
from entra_sim.model.tenant import is_guid

GUID_CONVERSION = (
    "Cannot convert a primitive value to the expected type 'Edm.Guid'. See the inner exception for more details"
)
_REFERENCE = re.compile(
    r"^(?:https?://[^/]+)?/?(?:v1\.0/|beta/)?"
    r"(directoryObjects|users|groups|devices|servicePrincipals|orgContacts|contacts)"
    r"(?:/|\(')([^/')]+)(?:'\))?/?$"
)


def entity(kind: str, obj: dict[str, Any], select: list[str] | None) -> Response:
    """One user or group, with the @odata.context Graph gives a single entity."""
    fragment = select_fragment(f"{kind}s", select) + "/$entity"
    return graph_json({"@odata.context": context_url(fragment), **render(kind, obj, select)})


def typed(kind: str, obj: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    """A member of a directoryObjects collection: @odata.type first, then the properties of its kind."""
    if select is not None:
        select = [name for name in select if canonical_property(kind, name) == name]
    return {"@odata.type": f"#microsoft.graph.{kind}", **render(kind, obj, select)}


def visible_or_404(obj: dict[str, Any], key: str) -> dict[str, Any]:
    if not visible(obj["id"]):
        raise errors.not_found(key)
    return obj


def license_changes(body: dict[str, Any]) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """(addLicenses as (skuId, disabledPlans), removeLicenses) of an assignLicense body; both are required."""
    missing = [name for name in ("addLicenses", "removeLicenses") if body.get(name) is None]
    if missing:
        raise errors.bad_request(errors.MISSING_ACTION_PARAMETERS.format(action="assignLicense",
                                                                         names=", ".join(missing)))
    if not isinstance(body["addLicenses"], list) or not isinstance(body["removeLicenses"], list):
        raise errors.bad_request(GUID_CONVERSION, code="BadRequest")
    add = []
    for item in body["addLicenses"]:
        if not isinstance(item, dict):
            raise errors.bad_request(GUID_CONVERSION, code="BadRequest")
        disabled = item.get("disabledPlans") or []
        add.append((_guid(item.get("skuId")), [_guid(plan) for plan in disabled]))
    return add, [_guid(sku) for sku in body["removeLicenses"]]


def _guid(value: Any) -> str:
    if not isinstance(value, str) or not is_guid(value):
        raise errors.bad_request(GUID_CONVERSION, code="BadRequest")
    return value


def resolve_reference(url: Any, prop: str) -> tuple[str, dict[str, Any]]:
    """The ("user" | "group", object) an ``@odata.id`` URL names; the errors Graph gives for bad references."""
    match = _REFERENCE.match(url) if isinstance(url, str) else None
    if match is None or not is_guid(match.group(2)):
        raise errors.GraphError(400, "Request_UnsupportedQuery", errors.UNSUPPORTED_REFERENCE.format(prop=prop))
    segment, object_id = match.groups()
    found = sim().tenant.directory_object(object_id)
    if found is None or (segment in ("users", "groups") and found[0] != segment[:-1]):
        raise errors.not_found(object_id)
    if not visible(object_id):
        raise errors.bad_request(errors.NOT_REPLICATED)
    return found


def related_list(objects: list[tuple[str, dict[str, Any]]], key: Callable[[dict[str, Any]], int],
                 cast: str | None, fragment: str) -> Response:
    """A directoryObjects collection (members, memberOf, membersWithLicenseErrors...), optionally cast to one type
    (``/microsoft.graph.user``); supports $select, $filter, $search, $top, $count and paging like the top lists."""
    if cast not in (None, "microsoft.graph.user", "microsoft.graph.group"):
        raise errors.GraphError(404, "BadRequest", f"Resource not found for the segment '{cast}'.")
    kind = cast.rsplit(".", 1)[1] if cast else None
    if kind is not None:
        objects = [(k, obj) for k, obj in objects if k == kind]
    query = parse_list_query(kind or _members_kind())
    kinds = {obj["id"]: k for k, obj in objects}
    ordered = sorted((obj for _, obj in objects if visible(obj["id"])), key=key)
    if request.path.endswith("/$count"):
        return count_response(ordered, query)
    if kind is not None:
        return page(ordered, key, query, lambda o: render(kind, o, query.select), context_url(
            select_fragment(f"{kind}s", query.select)))
    return page(ordered, key, query, lambda o: typed(kinds[o["id"]], o, query.select), context_url(fragment))


def _members_kind() -> str:
    """Uncast collections mix users and groups; $select names are checked against users, then groups."""
    text = request.args.get("$select", "")
    names = [n.strip() for n in text.split(",") if n.strip()]
    if all(canonical_property("user", n) for n in names):
        return "user"
    return "group"
