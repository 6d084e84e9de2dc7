"""Member writes: entra.licensing.group_member against the one-request-per-member approach, in one run.

Both approaches add N members to an empty group on the simulator, then reconcile the same list again, with network
latency injected on every HTTP round trip. The simulator's request log counts round trips and write operations, so
the numbers are the service's view, not the client's. Run with `make bench`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from tests.integration.harness import ROOT, Simulator, run_playbook, start_simulator

PLAYBOOK = """---
- name: Members in bulk
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Reconcile the members of the benchmark group
      entra.licensing.group_member:
        group: "{{ bench_group }}"
        members: "{{ bench_members }}"
"""


def graph_session(simulator: Simulator) -> requests.Session:
    """A plain HTTP client with a token, the way a script doing one request per member works."""
    session = requests.Session()
    session.trust_env = False
    session.verify = simulator.ready["ca_bundle"]
    session.headers["Authorization"] = f"Bearer {simulator.token()}"
    return session


def create_group(session: requests.Session, graph: str, name: str) -> str:
    body = {"displayName": name, "mailNickname": name, "mailEnabled": False, "securityEnabled": True, "groupTypes": []}
    answer = session.post(f"{graph}/v1.0/groups", json=body, timeout=30)
    answer.raise_for_status()
    return answer.json()["id"]


def naive_add(session: requests.Session, graph: str, group_id: str, user_ids: list[str]) -> None:
    """What most tools do: one POST members/$ref per member; 'already exists' (400) is tolerated on a rerun."""
    for user_id in user_ids:
        answer = session.post(
            f"{graph}/v1.0/groups/{group_id}/members/$ref", json={"@odata.id": f"{graph}/v1.0/directoryObjects/{user_id}"}, timeout=30
        )
        if answer.status_code not in (204, 400):
            answer.raise_for_status()


def measure(simulator: Simulator, label: str, action) -> dict[str, Any]:
    cursor = simulator.cursor()
    started = time.monotonic()
    action()
    seconds = time.monotonic() - started
    summary = simulator.log_since(cursor)["summary"]
    graph_round_trips = summary["round_trips"] - summary.get("by_kind", {}).get("token", 0)
    return {"approach": label, "round_trips": graph_round_trips, "writes": summary["graph_writes"], "seconds": round(seconds, 2)}


def run(members: int, latency_ms: int, workdir: Path) -> list[dict[str, Any]]:
    simulator = start_simulator(workdir / "sim", seed=f"large:users={members},groups=1")
    try:
        simulator.admin("POST", "/faults", {"rules": [{"action": "latency", "path": "/v1.0/*", "latency_ms": latency_ms, "top_level_only": True}]})
        state = simulator.admin("GET", "/state")["tenant"]
        users = sorted(state["users"].values(), key=lambda user: user["userPrincipalName"])[:members]
        upns = [user["userPrincipalName"] for user in users]
        graph = simulator.ready["graph_endpoint"]
        session = graph_session(simulator)
        collection_group = create_group(session, graph, "Bench_Collection")
        naive_group = create_group(session, graph, "Bench_Naive")
        playbook = workdir / "members.yml"
        playbook.write_text(PLAYBOOK)

        def collection() -> None:
            outcome = run_playbook(playbook, simulator, extra_vars={"bench_group": collection_group, "bench_members": upns})
            if outcome.rc != 0:
                raise RuntimeError(outcome.output)

        user_ids = [user["id"] for user in users]
        return [
            measure(simulator, "entra.licensing.group_member: add", collection),
            measure(simulator, "entra.licensing.group_member: reconcile again", collection),
            measure(simulator, "naive, one request per member: add", lambda: naive_add(session, graph, naive_group, user_ids)),
            measure(simulator, "naive, one request per member: reconcile again", lambda: naive_add(session, graph, naive_group, user_ids)),
        ]
    finally:
        simulator.stop()


# Graph's write quota per app and tenant (throttling-limits: 3,000 writes per 2 min 30 s): the ceiling no client
# can beat, however fast the network.
WRITES_PER_SECOND_CEILING = 3000 / 150


def report(rows: list[dict[str, Any]], members: int, latency_ms: int) -> str:
    lines = [
        f"Member writes: {members} members, {latency_ms} ms latency per HTTP round trip (simulator request log)",
        f"{'approach':<52}{'round trips':>12}{'writes':>10}{'seconds':>10}{'write-limit floor s':>21}",
    ]
    lines += [
        f"{row['approach']:<52}{row['round_trips']:>12}{row['writes']:>10}{row['seconds']:>10}{row['writes'] / WRITES_PER_SECOND_CEILING:>21.1f}"
        for row in rows
    ]
    add, rerun, naive_add_row, naive_rerun = rows
    lines.append(
        f"budget: write operations {add['writes']} <= ceil({members}/20) = {-(-members // 20)}; "
        f"round trips {naive_add_row['round_trips'] / max(1, add['round_trips']):.0f}x fewer than naive on add, "
        f"{naive_rerun['round_trips'] / max(1, rerun['round_trips']):.0f}x fewer on reconcile; reconcile writes {rerun['writes']}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "bench" / "members.json")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-members-") as workdir:
        rows = run(options.members, options.latency_ms, Path(workdir))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps({"members": options.members, "latency_ms": options.latency_ms, "results": rows}, indent=2))
    print(report(rows, options.members, options.latency_ms))


if __name__ == "__main__":
    main()
