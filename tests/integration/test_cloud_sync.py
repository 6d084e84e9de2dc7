"""entra.licensing.cloud_sync_provision against the simulated Cloud Sync job, where a test must change the tenant or
inject faults between plays: a paused job started (and not again), provisionOnDemand throttled and retried, more
members than one request takes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from .harness import Simulator, run_playbook

SP = "e5000000-0000-4000-8000-000000000001"
JOB = "AD2AADProvisioning.2d2f61d8f3c04bd29bf5a5d6e3d4c2b1.e5000000-0000-4000-8000-000000000001"
GROUP = "0a000000-0000-4000-8000-000000000001"
NORA, OMAR = "0a000000-0000-4000-8000-000000000002", "0a000000-0000-4000-8000-000000000003"


def graph_post(simulator: Simulator, path: str, body: Any = None) -> requests.Response:
    ready = simulator.ready
    session = requests.Session()
    session.trust_env = False
    session.verify = ready["ca_bundle"]
    token = session.post(
        f"{ready['authority_host']}/{ready['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": ready["client_id"],
            "client_secret": ready["client_secret"],
            "scope": f"{ready['graph_endpoint']}/.default",
        },
        timeout=30,
    ).json()["access_token"]
    return session.post(f"{ready['graph_endpoint']}/v1.0{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def provision(simulator: Simulator, tmp_path: Path, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    results = tmp_path / "result.json"
    playbook = tmp_path / "play.yml"
    play = {
        "name": "cloud_sync_provision",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {"name": "Provision", "entra.licensing.cloud_sync_provision": options, "register": "out", "ignore_errors": True},
            {"name": "Save", "ansible.builtin.copy": {"content": "{{ out | to_json }}", "dest": str(results)}},
        ],
    }
    playbook.write_text(json.dumps([play]))
    run = run_playbook(playbook, simulator)
    assert results.exists(), run.output
    return run, json.loads(results.read_text())


def test_a_paused_job_is_started_once(simulator, tmp_path):
    assert graph_post(simulator, f"/servicePrincipals/{SP}/synchronization/jobs/{JOB}/pause").status_code == 204
    cursor = simulator.cursor()
    run, result = provision(simulator, tmp_path, {"service_principal": SP, "start": True})
    assert not result.get("failed"), run.output
    assert (result["changed"], result["started"], result["job_status"]) == (True, True, "Paused")
    posts = [entry["path"] for entry in simulator.log_since(cursor)["requests"] if entry["method"] == "POST" and entry["kind"] == "graph"]
    assert posts == [f"/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/start"]
    run, again = provision(simulator, tmp_path, {"service_principal": SP, "start": True})
    assert (again["changed"], again["started"], again["job_status"]) == (False, False, "Active")


def test_throttled_requests_are_sent_again_and_members_go_five_at_a_time(simulator, tmp_path):
    throttle = {"action": "throttle", "method": "POST", "path": "/v1.0/servicePrincipals/*/provisionOnDemand", "count": 1, "retry_after": 0.2}
    simulator.admin("POST", "/faults", {"rules": [throttle]})
    cursor = simulator.cursor()
    members = [NORA, OMAR] * 3  # six links: two requests
    run, result = provision(simulator, tmp_path, {"service_principal": "contoso.local", "object": GROUP, "members": members})
    assert not result.get("failed"), run.output
    assert [entry["members"] for entry in result["provisioning"]] == [members[:5], members[5:]]
    assert all(entry["result"] == "Success" for entry in result["provisioning"])
    statuses = [entry["status"] for entry in simulator.log_since(cursor)["requests"] if entry["path"].endswith("/provisionOnDemand")]
    assert statuses == [429, 200, 200]
