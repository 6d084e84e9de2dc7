"""Requests per second the simulator answers, measured over real TLS against the real ``entra-sim serve``.

    .venv/bin/python simulator/bench_sim.py [--seconds 5] [--clients 1,4]

Two workloads: ``GET /v1.0/groups/{id}`` and ``POST /v1.0/$batch`` of 20 member adds (on the ``large`` seed, so
every add names a new user). Each client is a thread with its own requests.Session; werkzeug's server closes
every connection, so each request also pays a TLS handshake, as it would for any client of the simulator.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from entra_sim.seeds.large import user_id
from entra_sim.testing import running_simulator_process

USERS = 60_000


def session(ready: dict[str, Any]) -> requests.Session:
    http = requests.Session()
    http.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    http.verify = ready["ca_bundle"]
    token = http.post(f"{ready['authority_host']}/{ready['tenant_id']}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": ready["client_id"], "client_secret": ready["client_secret"],
        "scope": f"{ready['graph_endpoint']}/.default"}).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def measure(clients: int, seconds: float, make: Callable[[], Callable[[], None]]) -> float:
    """Operations per second of ``clients`` threads, each calling its own operation until time is up."""
    done = [0] * clients
    stop = time.monotonic() + seconds

    def run(index: int) -> None:
        operation = make()
        while time.monotonic() < stop:
            operation()
            done[index] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", default="1,4")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state, \
            running_simulator_process(Path(state), seed=f"large:users={USERS},groups=10") as ready:
        graph = f"{ready['graph_endpoint']}/v1.0"
        body = {"displayName": "bench", "mailNickname": "bench", "mailEnabled": False, "securityEnabled": True}
        group_id = session(ready).post(f"{graph}/groups", json=body).json()["id"]
        users = itertools.count()
        lock = threading.Lock()

        def get_group() -> Callable[[], None]:
            http = session(ready)
            return lambda: http.get(f"{graph}/groups/{group_id}").raise_for_status()

        def batch_of_adds() -> Callable[[], None]:
            http = session(ready)

            def post() -> None:
                with lock:
                    chunk = [next(users) for _ in range(20)]
                requests_ = [{"id": str(n), "method": "POST", "url": f"/groups/{group_id}/members/$ref",
                              "headers": {"Content-Type": "application/json"},
                              "body": {"@odata.id": f"{graph}/directoryObjects/{user_id(n)}"}} for n in chunk]
                answers = http.post(f"{graph}/$batch", json={"requests": requests_}).json()["responses"]
                assert all(a["status"] == 204 for a in answers), answers

            return post

        for clients in (int(c) for c in args.clients.split(",")):
            rate = measure(clients, args.seconds, get_group)
            print(f"GET /groups/{{id}}            {clients} client(s): {rate:7.0f} requests/s")
            rate = measure(clients, args.seconds, batch_of_adds)
            print(f"$batch of 20 member adds     {clients} client(s): {rate:7.0f} batches/s "
                  f"({rate * 20:.0f} member adds/s)")


if __name__ == "__main__":
    main()
