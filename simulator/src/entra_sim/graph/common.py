"""What every Graph route shares: the simulator at hand, authorisation and locking, bodies, responses, URLs."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from flask import Response, g, request

from entra_sim.auth.permissions import PERMISSIONS
from entra_sim.core import current as sim
from entra_sim.model import errors

ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"


def accepted_roles(operation_name: str) -> tuple[str, ...]:
    """The permissions that allow an operation: the table of reference section 10, or the configured override."""
    return tuple(sim().config.permissions.get(operation_name) or PERMISSIONS[operation_name])


def authorize(*operations: str) -> None:
    """403 unless the token's roles include one accepted for each operation."""
    roles = set(g.claims.get("roles", ()))
    for operation_name in operations:
        if roles.isdisjoint(accepted_roles(operation_name)):
            g.required_roles = list(accepted_roles(operation_name))
            raise errors.forbidden()


def operation(name: str | None) -> Callable:
    """Decorate a route: authorise ``name`` (None: the view authorises itself), then run it under the lock."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def run(**kwargs: Any) -> Response:
            if name is not None:
                authorize(name)
            request.get_data(cache=True)  # read the body off the socket before taking the lock
            with sim().lock:
                return view(**kwargs)

        return run

    return decorate


def graph_json(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status=status, headers=headers, content_type=ODATA_JSON)


def no_content() -> Response:
    return Response(status=204)


def json_body() -> dict[str, Any]:
    """The request's JSON object, or the 400 Graph answers for an empty or unreadable payload."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise errors.bad_request(errors.EMPTY_PAYLOAD, code="BadRequest")
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise sim().config.error("invalid_json")
    return data


def properties(body: dict[str, Any]) -> dict[str, Any]:
    """The body without instance annotations ("@odata.type": "#microsoft.graph.group", as the SDKs send)."""
    return {name: value for name, value in body.items() if not name.startswith("@")}


def graph_url(path: str = "") -> str:
    return f"{sim().base_url}/v1.0{path}"


def context_url(fragment: str) -> str:
    return f"{sim().base_url}/v1.0/$metadata#{fragment}"


def directory_object_url(kind: str, object_id: str) -> str:
    """The v2 directoryObjects URL Graph puts in ``@odata.id`` and ``Location`` (reference 1.1, 2.2)."""
    return (f"{sim().base_url}/v2/{sim().tenant.tenant_id}/directoryObjects/{object_id}/"
            f"Microsoft.DirectoryServices.{kind.capitalize()}")


def visible(object_id: str) -> bool:
    """False while a new object is inside the configured read-after-write lag (reference 5)."""
    lag = sim().faults.read_after_write_lag
    return not lag or not sim().tenant.is_recent(object_id, lag)
