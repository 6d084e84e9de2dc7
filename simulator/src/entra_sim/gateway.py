"""What every request goes through around its route: request ids, injected faults, Graph authentication and
throttling, Graph's response headers, the request log and error envelopes.

Requests come in four kinds by path: ``graph`` (/v1.0), ``msi`` (/msi), ``admin`` (/_admin, which skips
all of this and is never logged) and ``token`` (the authority: discovery, keys, token endpoint).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import socket
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from entra_sim.core import Simulator
from entra_sim.faults import FaultRule
from entra_sim.model import errors
from entra_sim.model.errors import GraphError
from entra_sim.throttling import default_read_quota, request_cost

log = logging.getLogger("entra_sim")

AGS_DIAGNOSTIC = json.dumps({"ServerInfo": {"DataCenter": "Local", "Slice": "E", "Ring": "5", "ScaleUnit": "000",
                                            "RoleInstance": "ENTRA-SIM", "ADSiteName": "LOC"}},
                            separators=(",", ":"))
_FAULT_STATUS = {500: ("UnknownError", ""), 502: ("BadGateway", "Bad gateway."),
                 503: ("serviceNotAvailable", "Service unavailable."), 504: ("GatewayTimeout", "Gateway timeout.")}


def kind_of(path: str) -> str:
    if path.startswith("/v1.0/") or path == "/v1.0":
        return "graph"
    if path.startswith("/_admin"):
        return "admin"
    if path.startswith("/msi/"):
        return "msi"
    return "token"


class Gateway:
    """WSGI middleware in front of Flask: rewrites OData key segments, picks the request's faults once, and drops
    connections.

    A dropped connection must close the socket before Flask could answer, so it cannot live in a Flask hook.
    Requests inside a $batch come back through here marked ``entra_sim.inner``: their keys are rewritten, and
    their faults are picked by the Flask hook.
    """

    def __init__(self, app: Any, simulator: Simulator) -> None:
        self.app = app
        self.sim = simulator

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ["PATH_INFO"] = _key_segments(environ.get("PATH_INFO", ""))
        if environ.get("entra_sim.inner") or kind_of(path) == "admin":
            return self.app(environ, start_response)
        method = environ["REQUEST_METHOD"]
        latency, rule = self.sim.faults.pick(method, path, top_level=True)
        if rule is not None and rule.action == "drop":
            self.sim.requests.add({"kind": kind_of(path), "method": method, "path": path,
                                   "query": environ.get("QUERY_STRING", ""), "status": None, "app": None,
                                   "dropped": True})
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            raise ConnectionAbortedError("entra-sim fault: connection dropped")
        environ["entra_sim.fault"] = (latency, rule)
        return self.app(environ, start_response)


_KEY_SEGMENT = re.compile(r"/(users|groups|directoryObjects)\('((?:[^']|'')*)'\)")


def _key_segments(path: str) -> str:
    """OData key syntax as a path segment: Graph takes /users('a@b') as /users/a@b (with '' for a quote)."""
    return _KEY_SEGMENT.sub(lambda m: f"/{m.group(1)}/{m.group(2).replace(chr(39) * 2, chr(39))}", path)


def install(app: Flask, simulator: Simulator) -> None:
    """Register the hooks and error handlers on ``app`` and put the Gateway in front of it."""

    @app.before_request
    def before() -> Response | None:
        g.kind = kind_of(request.path)
        if g.kind == "admin":
            if not ipaddress.ip_address(request.remote_addr or "0.0.0.0").is_loopback:  # noqa: S104
                return Response(status=403)
            return None
        g.request_id = str(uuid.uuid4())
        g.client_request_id = request.headers.get("client-request-id") or g.request_id
        g.inner = bool(request.environ.get("entra_sim.inner"))
        g.app_id = None
        latency, rule = request.environ.get("entra_sim.fault") or simulator.faults.pick(
            request.method, request.path, top_level=False)
        if latency:
            time.sleep(latency / 1000)
        if rule is not None:
            return _fault_response(rule)
        if g.kind == "graph":
            _authenticate_and_throttle(simulator)
        return None

    @app.after_request
    def after(response: Response) -> Response:
        if g.get("kind", "admin") == "admin":
            return response
        if g.kind == "graph":
            response.headers["request-id"] = g.request_id
            response.headers["client-request-id"] = g.client_request_id
            response.headers["x-ms-ags-diagnostic"] = AGS_DIAGNOSTIC
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
            response.headers.setdefault("Cache-Control", "no-cache")
            response.headers["OData-Version"] = "4.0"
            for name, value in g.get("throttle_headers", {}).items():
                response.headers[name] = value
        else:
            response.headers["x-ms-request-id"] = g.request_id
            response.headers["client-request-id"] = g.client_request_id
        if not g.inner:
            _log(simulator, response)
        return response

    @app.errorhandler(GraphError)
    def graph_error(error: GraphError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if g.get("kind") != "graph":
            return Response(json.dumps({"error": error.name.lower().replace(" ", "_")}), status=error.code,
                            content_type="application/json")
        if isinstance(error, MethodNotAllowed):
            return error_response(GraphError(405, "Request_BadRequest",
                                             "Specified HTTP method is not allowed for the request target."))
        segment = request.path.rstrip("/").rsplit("/", 1)[-1]
        return error_response(GraphError(error.code or 404, "BadRequest",
                                         f"Resource not found for the segment '{segment}'."))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        if g.get("kind") == "graph":
            return error_response(GraphError(500, "UnknownError", ""))
        return Response(json.dumps({"error": "server_error"}), status=500, content_type="application/json")

    app.wsgi_app = Gateway(app.wsgi_app, simulator)


def error_response(error: GraphError) -> Response:
    """Graph's envelope; a 429 carries the extra innerError fields Microsoft's sample shows (reference 4)."""
    inner: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": g.get("request_id", ""),
        "client-request-id": g.get("client_request_id", ""),
    }
    if error.status == 429:
        inner = {"code": "429", **inner, "message": "Please retry after", "status": "429"}
    g.error_code = error.code
    body = json.dumps({"error": {"code": error.code, "message": error.message, "innerError": inner}})
    return Response(body, status=error.status, headers=error.headers, content_type="application/json")


def _fault_response(rule: FaultRule) -> Response:
    headers = {}
    if rule.action == "throttle" and rule.retry_after is not None:
        headers["Retry-After"] = str(rule.retry_after)
    if g.kind != "graph":
        error = "temporarily_unavailable" if rule.action == "throttle" else "server_error"
        body = json.dumps({"error": rule.code or error, "error_description": rule.message or "Injected fault."})
        return Response(body, status=rule.status, headers=headers, content_type="application/json")
    code, message = ("TooManyRequests", errors.THROTTLED) if rule.action == "throttle" else _FAULT_STATUS.get(
        rule.status, ("UnknownError", ""))
    return error_response(GraphError(rule.status, rule.code or code, rule.message or message, headers))


def _authenticate_and_throttle(simulator: Simulator) -> None:
    tenant = simulator.tenant
    g.claims = simulator.tokens.validate(request.headers.get("Authorization"), simulator.base_url,
                                         tenant.tenant_id, simulator.config)
    g.app_id = g.claims["appid"]
    if request.path == "/v1.0/$batch":
        return  # each request inside is charged on its own
    cost = request_cost(request.method, request.path, request.args)
    headers = {"x-ms-resource-unit": str(cost)}
    g.throttle_headers = headers
    settings = simulator.config.throttling
    if not settings.enabled:
        return
    quota = settings.read_units_per_10s or default_read_quota(len(tenant.users))
    verdict = simulator.throttle.charge(g.app_id, cost, request.method != "GET", quota, settings.writes_per_150s)
    if verdict.percentage > 0.8:
        headers["x-ms-throttle-limit-percentage"] = f"{min(verdict.percentage, 1.8):.1f}"
    if verdict.throttled:
        raise GraphError(429, "TooManyRequests", errors.THROTTLED, headers={
            "Retry-After": str(verdict.retry_after),
            "x-ms-throttle-scope": f"Tenant_Application/{verdict.limit}/{g.app_id}/{tenant.tenant_id}",
            "x-ms-throttle-information": verdict.information,
        })


def _log(simulator: Simulator, response: Response) -> None:
    entry = {"kind": g.kind, "method": request.method, "path": request.path,
             "query": request.query_string.decode(), "status": response.status_code, "app": g.get("app_id"),
             "request_id": g.request_id}
    if "batch_log" in g:
        entry["inner"] = g.batch_log
    if response.status_code >= 400 and "error_code" in g:
        entry["error"] = g.error_code
    if "required_roles" in g:
        entry["required_roles"] = g.required_roles
    simulator.requests.add(entry)

