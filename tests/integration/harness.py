"""Black-box helpers for playbook-level tests: the simulator as a real process, ansible-playbook as a real process.

The simulator is started through its CLI exactly as users start it (`entra-sim serve --ready-file ...`), and playbooks
reach it only through the environment variables its env file names, so the tests exercise what users run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


class Simulator:
    """A running `entra-sim serve` process and its admin API."""

    def __init__(self, process: subprocess.Popen, ready: dict[str, Any], state_dir: Path) -> None:
        self.process = process
        self.ready = ready
        self.state_dir = state_dir
        self._http = requests.Session()
        self._http.trust_env = False
        self._http.verify = ready["ca_bundle"]

    @property
    def env(self) -> dict[str, str]:
        """What a playbook needs to reach this tenant: the variables of the simulator's env file."""
        return {
            "AZURE_TENANT_ID": self.ready["tenant_id"],
            "AZURE_CLIENT_ID": self.ready["client_id"],
            "AZURE_CLIENT_SECRET": self.ready["client_secret"],
            "AZURE_AUTHORITY_HOST": self.ready["authority_host"],
            "ENTRA_GRAPH_ENDPOINT": self.ready["graph_endpoint"],
            "ENTRA_CA_BUNDLE": self.ready["ca_bundle"],
            "SIM_ADMIN_URL": self.ready["admin_url"],
        }

    def token(self) -> str:
        """An access token for the seeded full-permission app, obtained the way any script would (client secret)."""
        answer = self._http.post(
            f"{self.ready['authority_host']}/{self.ready['tenant_id']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.ready["client_id"],
                "client_secret": self.ready["client_secret"],
                "scope": f"{self.ready['graph_endpoint']}/.default",
            },
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()["access_token"]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, f"{self.ready['admin_url']}/{path.lstrip('/')}", json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self, seed: str | dict = "article") -> None:
        """A fresh tenant from ``seed`` (a name or a seed document); seeding also clears faults, config and the log.

        Seeding explicitly, rather than POST /reset, matters: /reset returns to the last seed loaded, which may be a
        special tenant an earlier test on this worker asked for.
        """
        self.admin("POST", "/seed", seed if isinstance(seed, dict) else {"seed": seed})

    def cursor(self) -> int:
        return self.admin("GET", "/requests?since=0")["next"]

    def log_since(self, cursor: int) -> dict[str, Any]:
        return self.admin("GET", f"/requests?since={cursor}")

    def writes_since(self, cursor: int) -> int:
        return self.log_since(cursor)["summary"]["graph_writes"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_simulator(state_dir: Path, seed: str = "article", extra_env: dict[str, str] | None = None) -> Simulator:
    """Start `entra-sim serve` on a free loopback port and wait for its ready file."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ready_file = state_dir / "ready.json"
    ready_file.unlink(missing_ok=True)
    log = (state_dir / "simulator.log").open("ab")
    command = [
        str(BIN / "entra-sim"),
        "serve",
        "--ready-file",
        str(ready_file),
        "--env-file",
        str(state_dir / "simulator.env"),
        "--state-dir",
        str(state_dir),
        "--seed",
        seed,
        "--port",
        "0",
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(extra_env or {})})
    deadline = time.monotonic() + 60
    while not ready_file.exists():
        if process.poll() is not None:
            raise RuntimeError(f"entra-sim exited with {process.returncode}; see {state_dir / 'simulator.log'}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"entra-sim wrote no ready file within 60 s; see {state_dir / 'simulator.log'}")
        time.sleep(0.05)
    return Simulator(process, json.loads(ready_file.read_text()), state_dir)


@dataclass
class PlaybookRun:
    rc: int
    output: str
    command: list[str] = field(default_factory=list)

    def recap(self, host: str = "localhost") -> dict[str, int]:
        """The PLAY RECAP counters of ``host`` (ok, changed, failed, ...), summed over the plays."""
        totals: dict[str, int] = {}
        for line in self.output.splitlines():
            match = re.match(rf"^{re.escape(host)}\s+:\s+(.*)$", line)
            if match:
                for key, value in re.findall(r"(\w+)=(\d+)", match.group(1)):
                    totals[key] = totals.get(key, 0) + int(value)
        return totals


def playbook_env(simulator: Simulator | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".tmp" / "collections"),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_ROLES_PATH": str(HERE / "targets"),
            "ANSIBLE_LOOKUP_PLUGINS": str(HERE / "plugins" / "lookup"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    if simulator is not None:
        env.update(simulator.env)
    env.update(extra or {})
    return env


def run_playbook(
    playbook: Path,
    simulator: Simulator | None,
    *,
    extra_vars: dict[str, Any] | None = None,
    check: bool = False,
    diff: bool = False,
    verbosity: int = 0,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> PlaybookRun:
    """Run ansible-playbook on localhost (local connection, this venv's interpreter) and capture its output."""
    command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    if verbosity:
        command.append("-" + "v" * verbosity)
    completed = subprocess.run(
        command, env=playbook_env(simulator, env), capture_output=True, text=True, timeout=timeout, cwd=str(ROOT), check=False
    )
    return PlaybookRun(completed.returncode, completed.stdout + completed.stderr, command)
