"""The entra-sim command: ready and env files, clean stops on SIGTERM and SIGINT, state kept in --state-dir."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Graph

from entra_sim.testing import running_simulator_process

READY_KEYS = {"authority_host", "graph_endpoint", "tenant_id", "client_id", "client_secret", "ca_bundle", "admin_url",
              "apps", "managed_identity", "pid"}


def serve(state_dir: Path, *args: str) -> tuple[subprocess.Popen, dict]:
    ready_file = state_dir / "ready.json"
    process = subprocess.Popen([sys.executable, "-m", "entra_sim", "serve", "--ready-file", str(ready_file),
                                "--state-dir", str(state_dir), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not ready_file.exists():
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return process, json.loads(ready_file.read_text())


def test_ready_and_env_files_describe_a_server_that_already_accepts_connections(tmp_path):
    with running_simulator_process(tmp_path / "state") as ready:
        assert READY_KEYS <= set(ready)
        port = ready["authority_host"].rsplit(":", 1)[1]
        assert ready["authority_host"] == ready["graph_endpoint"] == f"https://127.0.0.1:{port}"
        assert ready["admin_url"] == f"https://127.0.0.1:{port}/_admin"
        cert = next(a for a in ready["apps"] if a["name"] == "cert")
        assert "BEGIN CERTIFICATE" in Path(cert["certificate_path"]).read_text()
        assert Graph(ready).get("/organization").status_code == 200
        script = (f"source {ready['env_file']} && printf '%s|' \"$AZURE_TENANT_ID\" \"$AZURE_CLIENT_ID\" "
                  "\"$AZURE_CLIENT_SECRET\" \"$AZURE_AUTHORITY_HOST\" \"$ENTRA_GRAPH_ENDPOINT\" \"$ENTRA_CA_BUNDLE\"")
        values = subprocess.run(["/bin/bash", "-c", script], capture_output=True, text=True, check=True).stdout
        assert values.split("|")[:6] == [ready["tenant_id"], ready["client_id"], ready["client_secret"],
                                         ready["authority_host"], ready["graph_endpoint"], ready["ca_bundle"]]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_server_stops_cleanly_on_signals_and_keeps_its_state_for_the_next_start(tmp_path, signum):
    state_dir = tmp_path / "state"
    process, ready = serve(state_dir)
    created = Graph(ready).create_group("Survivor")
    ca = Path(ready["ca_bundle"]).read_bytes()
    process.send_signal(signum)
    process.communicate(timeout=15)  # also closes the output pipe
    assert process.returncode == 0
    assert not (state_dir / "ready.json").exists() and (state_dir / "snapshot.json").exists()
    process, ready = serve(state_dir)
    try:
        assert Path(ready["ca_bundle"]).read_bytes() == ca
        assert Graph(ready).get(f"/groups/{created['id']}").json()["displayName"] == "Survivor"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)


def test_a_bad_seed_stops_the_command_with_a_message(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"tenant": {"id": "nope", "domain": "x.onmicrosoft.com"}, "apps": []}))
    result = subprocess.run([sys.executable, "-m", "entra_sim", "serve", "--ready-file", str(tmp_path / "r.json"),
                             "--seed", str(seed)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "tenant.id: 'nope' is not a GUID" in result.stderr
    assert not (tmp_path / "r.json").exists()


def test_seed_info_summarises_a_seed(tmp_path):
    result = subprocess.run([sys.executable, "-m", "entra_sim", "seed-info", "article"], capture_output=True,
                            text=True, timeout=60, check=True)
    assert "14 users, 3 groups, 4 apps, 2 managed identities" in result.stdout
    assert "ENTERPRISEPACK: 25 seats" in result.stdout
