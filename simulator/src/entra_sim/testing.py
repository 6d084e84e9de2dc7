"""Helpers to run the simulator from tests, in this process or as the real ``entra-sim`` command.

Both yield the ready-file dict (authority_host, graph_endpoint, tenant_id, client_id, client_secret, ca_bundle,
admin_url, apps, managed_identity, ...). :func:`admin` calls the admin API with nothing but the standard library.

    with running_simulator(tmp_path, seed="article") as ready:
        admin(ready, "POST", "/reset")
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from entra_sim.server import SimulatorServer, quiet_werkzeug


@contextlib.contextmanager
def running_simulator(state_dir: Path | str, seed: str | dict[str, Any] = "article",
                      config: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """A simulator serving from a thread of this process; ``config`` is applied as ``PUT /_admin/config``
    would (and again after each ``POST /_admin/reset`` only if the caller re-sends it)."""
    quiet_werkzeug(verbose=False)
    server = SimulatorServer(Path(state_dir), seed=seed)
    server.start()
    try:
        if config:
            server.sim.config.update(config)
        ready = server.sim.ready_info()
        server.write_ready_file(Path(state_dir) / "ready.json")
        yield ready
    finally:
        server.stop()


@contextlib.contextmanager
def running_simulator_process(state_dir: Path | str, seed: str = "article", *, timeout: float = 30.0,
                              extra_args: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """``entra-sim serve`` as a child process; the dict also names its ``ready_file``, ``env_file`` and ``pid``.
    The process gets SIGTERM on exit (and SIGKILL if it has not stopped after 10 seconds)."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    ready_file, env_file = state_dir / "ready.json", state_dir / "sim.env"
    ready_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "entra_sim", "serve", "--ready-file", str(ready_file), "--env-file",
               str(env_file), "--state-dir", str(state_dir), "--seed", seed, *extra_args]
    log = (state_dir / "entra-sim.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not ready_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"entra-sim did not start: {(state_dir / 'entra-sim.log').read_text()}")
            time.sleep(0.02)
        yield {**json.loads(ready_file.read_text()), "ready_file": str(ready_file), "env_file": str(env_file)}
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def admin(ready: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    """Call ``{admin_url}{path}``; returns the decoded JSON (None for 204). Raises HTTPError on 4xx/5xx."""
    context = ssl.create_default_context(cafile=ready["ca_bundle"])
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(ready["admin_url"] + path, data=data, method=method,  # noqa: S310 (https)
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=context, timeout=60) as response:  # noqa: S310
        raw = response.read()
    return json.loads(raw) if raw else None


def environment(ready: dict[str, Any]) -> dict[str, str]:
    """os.environ plus the variables the env file holds, for running a playbook against the simulator."""
    return {
        **os.environ,
        "AZURE_TENANT_ID": ready["tenant_id"],
        "AZURE_CLIENT_ID": ready["client_id"],
        "AZURE_CLIENT_SECRET": ready["client_secret"] or "",
        "AZURE_AUTHORITY_HOST": ready["authority_host"],
        "ENTRA_GRAPH_ENDPOINT": ready["graph_endpoint"],
        "ENTRA_CA_BUNDLE": ready["ca_bundle"],
    }
