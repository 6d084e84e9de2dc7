"""POST /$batch (reference 3): up to 20 requests, each run through the same routes, authentication, faults and
throttling as a top-level request by dispatching it to this WSGI application again."""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from werkzeug.test import EnvironBuilder, run_wsgi_app

from entra_sim.graph.common import graph_json, json_body, sim

bp = Blueprint("batch", __name__)

MAX_REQUESTS = 20
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
# Response headers that describe the outer HTTP exchange, not an inner response.
_TRANSPORT_HEADERS = {"content-length", "strict-transport-security", "date", "server", "connection"}


@bp.post("/$batch")
def batch() -> Response:
    requests = _validated(json_body())
    g.batch_log = []
    status: dict[str, int] = {}
    responses = []
    for item in _in_dependency_order(requests):
        failed = [dep for dep in item.get("dependsOn", []) if status[dep.lower()] >= 400]
        response = _failed_dependency(item) if failed else _dispatch(item)
        status[item["id"].lower()] = response["status"]
        g.batch_log.append({"id": item["id"], "method": item["method"].upper(), "url": item["url"],
                            "status": response["status"]})
        responses.append(response)
    return graph_json({"responses": responses})


def _validated(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The batch's requests, or the 400 for the whole batch (reference 3: count, ids, headers, dependencies)."""
    config = sim().config
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise config.error("batch_invalid_request", detail="the body needs a non-empty 'requests' array")
    if len(requests) > MAX_REQUESTS:
        raise config.error("batch_too_many_requests", count=len(requests))
    seen: set[str] = set()
    for item in requests:
        if not isinstance(item, dict):
            raise config.error("batch_invalid_request", detail="every request must be an object")
        for key in ("id", "method", "url"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise config.error("batch_invalid_request", detail=f"a request is missing '{key}'")
        if item["id"].lower() in seen:
            raise config.error("batch_duplicate_id", id=item["id"])
        seen.add(item["id"].lower())
        if item["method"].upper() not in METHODS:
            raise config.error("batch_invalid_request", detail=f"request '{item['id']}' has an invalid method")
        if "://" in item["url"]:
            raise config.error("batch_invalid_request", detail=f"request '{item['id']}' must use a relative url")
        headers = item.get("headers") or {}
        if not isinstance(headers, dict):
            raise config.error("batch_invalid_request", detail=f"request '{item['id']}' has invalid headers")
        if "body" in item and "content-type" not in {k.lower() for k in headers}:
            raise config.error("batch_invalid_request",
                               detail=f"request '{item['id']}' has a body but no Content-Type header")
    for item in requests:
        depends = item.get("dependsOn", [])
        if not isinstance(depends, list) or any(not isinstance(d, str) or d.lower() not in seen for d in depends):
            raise config.error("batch_invalid_request", detail=f"request '{item['id']}' depends on an unknown id")
    return requests


def _in_dependency_order(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requests in their order, except that each comes after the ones it depends on; a cycle is a bad batch."""
    by_id = {item["id"].lower(): item for item in requests}
    ordered: list[dict[str, Any]] = []
    state: dict[str, str] = {}

    def visit(item: dict[str, Any]) -> None:
        key = item["id"].lower()
        if state.get(key) == "done":
            return
        if state.get(key) == "visiting":
            raise sim().config.error("batch_invalid_request", detail=f"request '{item['id']}' depends on itself")
        state[key] = "visiting"
        for dep in item.get("dependsOn", []):
            visit(by_id[dep.lower()])
        state[key] = "done"
        ordered.append(item)

    for item in requests:
        visit(item)
    return ordered


def _failed_dependency(item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "status": 424, "headers": {"Content-Type": "application/json"},
            "body": {"error": {"code": "FailedDependency", "message": "A request this request depends on failed."}}}


def _dispatch(item: dict[str, Any]) -> dict[str, Any]:
    """Run one inner request through the whole application, as if it had come on its own connection."""
    path, _, query = item["url"].lstrip("/").partition("?")
    headers = {**(item.get("headers") or {}), "Authorization": request.headers.get("Authorization", "")}
    body = item.get("body")
    data = None
    if isinstance(body, str):
        data = base64.b64decode(body)
    elif body is not None:
        data = json.dumps(body).encode()
    builder = EnvironBuilder(path=f"/v1.0/{path}", base_url=sim().base_url, query_string=query,
                             method=item["method"].upper(), headers=headers, data=data,
                             environ_overrides={"entra_sim.inner": True, "REMOTE_ADDR": request.remote_addr})
    app = current_app._get_current_object()
    # A fresh application context gives the inner request its own flask.g.
    with app.app_context():
        chunks, status_line, response_headers = run_wsgi_app(app.wsgi_app, builder.get_environ(), buffered=True)
        raw = b"".join(chunks)
    status = int(status_line.split(" ", 1)[0])
    result: dict[str, Any] = {
        "id": item["id"], "status": status,
        "headers": {k: v for k, v in response_headers.items() if k.lower() not in _TRANSPORT_HEADERS},
    }
    if raw:
        content_type = response_headers.get("Content-Type", "")
        result["body"] = json.loads(raw) if content_type.startswith("application/json") else raw.decode()
    elif sim().config.batch_no_content_body_null:
        result["body"] = None
    return result
