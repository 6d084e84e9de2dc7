"""Admin API of the simulated Entra Connect server, under /_admin/adconnect (no authentication; loopback only).

Two kinds of route: settings and state for tests (``GET /``, ``PUT /config``), and one route per ADSync cmdlet,
answering with the objects the cmdlet returns (PascalCase properties, .NET round-trip times) or, when the cmdlet
throws, 409 with ``{"exception": {"message", "type", "fully_qualified_error_id"}}``. The test-only Ansible
connection plugin that plays the Windows server turns these into what the PowerShell scripts print.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from entra_sim.adconnect import ADConnect, ADSyncError
from entra_sim.core import current as sim

bp = Blueprint("adconnect", __name__)


def _model() -> ADConnect:
    return sim().adconnect


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True) if request.get_data() else {}
    return body if isinstance(body, dict) else {}


def _refused(error: ADSyncError) -> Response:
    response = jsonify({"exception": error.to_dict()})
    response.status_code = 409
    return response


def _bad(message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = 400
    return response


@bp.get("/")
def state() -> Response:
    return jsonify(_model().state())


@bp.put("/config")
def put_config() -> Response:
    """Partial update of the settings (the seed's ``adconnect`` keys); an invalid one changes nothing (400)."""
    body = request.get_json(silent=True) if request.get_data() else None
    try:
        config = _model().configure(body)
    except ValueError as exc:
        return _bad(str(exc))
    return jsonify(config.to_dict())


@bp.get("/scheduler")
def scheduler() -> Response:
    """Get-ADSyncScheduler."""
    return jsonify(_model().scheduler())


@bp.get("/connector-run-status")
def connector_run_status() -> Response:
    """Get-ADSyncConnectorRunStatus (an empty list when the engine is idle)."""
    return jsonify(_model().connector_run_status())


@bp.post("/sync-cycle")
def start_sync_cycle() -> Response:
    """Start-ADSyncSyncCycle. Body: ``{"policy_type": "Delta" | "Initial"}`` (default: the scheduler's next type),
    ``"wait": true`` to answer only when the cycle has ended. Tests use it to start a cycle "by the scheduler"."""
    body = _body()
    try:
        return jsonify(_model().start_cycle(body.get("policy_type"), wait=bool(body.get("wait"))))
    except ADSyncError as error:
        return _refused(error)


@bp.post("/stop")
def stop_sync_cycle() -> Response:
    """Stop-ADSyncSyncCycle."""
    _model().stop_cycle()
    return Response(status=204)


@bp.post("/run-profile")
def invoke_run_profile() -> Response:
    """Invoke-ADSyncRunProfile. Body: ``{"connector", "run_profile", "wait"}``; without ``wait`` it returns at once
    and the connector stays busy for ``step_seconds``."""
    body = _body()
    if not isinstance(body.get("connector"), str) or not isinstance(body.get("run_profile"), str):
        return _bad("connector and run_profile are required")
    try:
        return jsonify(_model().invoke_run_profile(body["connector"], body["run_profile"], wait=bool(body.get("wait"))))
    except ADSyncError as error:
        return _refused(error)


@bp.get("/run-profile-results")
def run_profile_results() -> Response:
    """Get-ADSyncRunProfileResult -RunStepDetails [-NumberRequested N], newest first."""
    number = request.args.get("number_requested")
    if number is not None and not number.isdigit():
        return _bad("number_requested must be a non-negative integer")
    return jsonify(_model().run_profile_results(int(number) if number is not None else None))
