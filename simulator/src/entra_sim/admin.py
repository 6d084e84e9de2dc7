"""The admin API under /_admin (no authentication; loopback only): reset and seed the tenant, dump its state,
read the request log, inject faults, change settings, finish pending licence processing. Never logged."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from entra_sim.core import current as sim
from entra_sim.model.seeding import SeedError

bp = Blueprint("admin", __name__)


def _bad(message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = 400
    return response


def _json() -> Any:
    return request.get_json(silent=True) if request.get_data() else None


@bp.get("/health")
def health() -> Response:
    return jsonify({"status": "ok"})


@bp.post("/reset")
def reset() -> Response:
    sim().reset()
    return jsonify(sim().ready_info())


@bp.post("/seed")
def seed() -> Response:
    """Body: a seed reference ("article", "large:users=500,groups=5", a file path), {"seed": ref}, or a seed."""
    body = _json()
    if isinstance(body, dict) and set(body) == {"seed"}:
        body = body["seed"]
    if not isinstance(body, str | dict):
        return _bad('the body must be a seed name, {"seed": name} or a seed object')
    try:
        sim().load_seed(body)
    except SeedError as exc:
        return _bad(f"invalid seed: {exc}")
    return jsonify(sim().ready_info())


@bp.get("/state")
def state() -> Response:
    simulator = sim()
    with simulator.lock:
        return jsonify({
            "seed": simulator.seed_ref if isinstance(simulator.seed_ref, str) else "custom",
            "tenant": simulator.tenant.snapshot(),
            "licensing": {
                "pending": len(simulator.engine.jobs),
                "consumed": {sku: simulator.engine.consumed(sku) for sku in simulator.tenant.skus},
            },
            "config": simulator.config.to_dict(),
            "faults": simulator.faults.to_dict(),
        })


@bp.get("/requests")
def requests_log() -> Response:
    since = request.args.get("since", "0")
    if not since.isdigit():
        return _bad("since must be a non-negative integer")
    return jsonify(sim().requests.since(int(since)))


@bp.delete("/requests")
def clear_requests() -> Response:
    sim().requests.clear()
    return Response(status=204)


@bp.get("/faults")
def get_faults() -> Response:
    return jsonify(sim().faults.to_dict())


@bp.post("/faults")
def add_faults() -> Response:
    try:
        sim().faults.add(_json())
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    return jsonify(sim().faults.to_dict())


@bp.delete("/faults")
def clear_faults() -> Response:
    sim().faults.clear()
    return Response(status=204)


@bp.get("/config")
def get_config() -> Response:
    return jsonify(sim().config.to_dict())


@bp.put("/config")
def put_config() -> Response:
    body = _json()
    if not isinstance(body, dict):
        return _bad("the body must be a JSON object")
    try:
        with sim().lock:
            sim().config.update(body)
    except ValueError as exc:
        return _bad(str(exc))
    return jsonify(sim().config.to_dict())


@bp.post("/settle")
def settle() -> Response:
    """Finish all pending licence processing now, whatever the configured delay."""
    sim().engine.settle()
    return jsonify({"pending": sim().engine.pending()})
