# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A simulated Entra Connect (AD Connect) Windows server, for offline tests and demos of entra.licensing.adsync_cycle.

Tests only: it is not part of the collection's plugins. It receives the ``PowerShell ... -EncodedCommand`` lines
that adsync_cycle sends, decodes them, checks each script with the tree-sitter PowerShell grammar (a syntax error
fails the task, so every playbook run checks the real scripts), checks which commands the script runs, reads the
JSON parameters from the script's one base64 literal, and answers what the real script prints, from the simulator's
AD Connect model (the admin API under ``/_admin/adconnect``, which plays the ADSync cmdlets).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any

import requests
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.plugins.connection import ConnectionBase

try:
    import tree_sitter_powershell
    from tree_sitter import Language, Parser

    PARSER = Parser(Language(tree_sitter_powershell.language()))
except ImportError:  # reported when a command arrives, so ansible-doc still works
    PARSER = None

DOCUMENTATION = r"""
name: entra_sim_adsync
short_description: A simulated Entra Connect Sync server answering entra.licensing.adsync_cycle (tests only)
description:
  - Plays the Windows server that runs Microsoft Entra Connect Sync, for M(entra.licensing.adsync_cycle) run against
    the entra-sim tenant simulator, whose AD Connect model answers the ADSync cmdlets.
  - Each command must be C(PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand ...)
    carrying one of adsync_cycle's scripts (C(status), C(start), C(runs)); the script is parsed with the tree-sitter
    PowerShell grammar and may run only the commands that script needs. Anything else (a module run, gathering
    facts, an unknown script, a syntax error) fails the task with the reason.
  - Needs the Python packages C(tree-sitter) and C(tree-sitter-powershell) on the controller.
author: entra.licensing contributors (@entra-licensing)
options:
  admin_url:
    description: The simulator's admin API (C(admin_url) of its ready file).
    type: str
    vars:
      - name: entra_sim_admin_url
    env:
      - name: SIM_ADMIN_URL
  ca_bundle:
    description: The simulator's CA certificate (C(ca_bundle) of its ready file).
    type: str
    vars:
      - name: entra_sim_ca_bundle
    env:
      - name: ENTRA_CA_BUNDLE
  log:
    description: A file to append one JSON line to per command (script name, parameters, decoded script, answer).
    type: str
    vars:
      - name: entra_sim_adsync_log
    env:
      - name: ENTRA_SIM_ADSYNC_LOG
"""

PREFIX = "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand "
HEADER = re.compile(r"\A# entra\.licensing\.adsync_cycle (\w+)\r?\n")
LITERAL = re.compile(r"FromBase64String\('([A-Za-z0-9+/=]*)'\)")
# Commands every script may run, and those of each script: anything else in a script is a failure.
COMMON = {"Import-Module", "ConvertTo-Json", "ConvertFrom-Json", "ConvertTo-UtcText", "ForEach-Object", "Where-Object", "Select-Object"}
COMMANDS = {
    "status": {"Get-ADSyncScheduler", "Get-ADSyncConnectorRunStatus"},
    "start": {"Start-ADSyncSyncCycle"},
    "runs": {"Get-ADSyncRunProfileResult"},
}
PARAMETERS = {"status": set(), "start": {"policy_type"}, "runs": {"number_requested", "counters"}}
ERROR_LISTS = (("ConnectorDiscoveryErrors", "ConnectorDiscoveryErrorsList"), ("SyncErrors", "SyncErrorsList"), ("MvRetryErrors", "MvRetryErrorsList"))


def dotnet_now() -> str:
    """[DateTime]::UtcNow.ToString('o'): seven fractional digits and a Z."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}0Z"


def syntax_errors(script: str) -> list[str]:
    """Where the tree-sitter PowerShell grammar finds errors (ERROR or missing nodes), as line:column texts."""
    problems: list[str] = []

    def walk(node: Any) -> None:
        if node.type == "ERROR" or node.is_missing:
            row, column = node.start_point
            problems.append(f"line {row + 1}, column {column + 1}: {node.type}{' (missing)' if node.is_missing else ''}")
        for child in node.children:
            walk(child)

    walk(PARSER.parse(script.encode("utf-8")).root_node)
    return problems


def commands(script: str) -> set[str]:
    """The names of the commands the script runs (PowerShell compares them case-insensitively)."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if node.type == "command_name":
            names.add(node.text.decode("utf-8"))
        for child in node.children:
            walk(child)

    walk(PARSER.parse(script.encode("utf-8")).root_node)
    return names


def decode(cmd: str) -> str:
    if not cmd.startswith(PREFIX):
        raise AnsibleError(
            "entra_sim_adsync runs only entra.licensing.adsync_cycle's encoded PowerShell scripts, not "
            f"{cmd[:120]!r} (a module run or fact gathering? set gather_facts: false for this host)"
        )
    try:
        return base64.b64decode(cmd[len(PREFIX) :], validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise AnsibleError(f"entra_sim_adsync: the -EncodedCommand is not base64 of UTF-16-LE text: {exc}") from exc


def check(script: str) -> tuple[str, dict[str, Any]]:
    """The script's name and parameters, after checking its syntax, its commands and its one base64 literal."""
    if PARSER is None:
        raise AnsibleError("entra_sim_adsync needs the Python packages tree-sitter and tree-sitter-powershell")
    errors = syntax_errors(script)
    if errors:
        raise AnsibleError("entra_sim_adsync: PowerShell syntax error(s) in the script: " + "; ".join(errors[:5]) + f"\n{script}")
    header = HEADER.match(script)
    if header is None or header.group(1) not in COMMANDS:
        first = script.splitlines()[0] if script else ""
        raise AnsibleError(f"entra_sim_adsync: unknown script (first line {first!r})")
    name = header.group(1)
    unexpected = {c for c in commands(script) if c.lower() not in {k.lower() for k in COMMON | COMMANDS[name]}}
    if unexpected:
        raise AnsibleError(f"entra_sim_adsync: the {name} script runs unexpected command(s): {', '.join(sorted(unexpected))}")
    literals = LITERAL.findall(script)
    if len(literals) != 1:
        raise AnsibleError(f"entra_sim_adsync: the {name} script must carry exactly one base64 parameter literal, not {len(literals)}")
    parameters = json.loads(base64.b64decode(literals[0]).decode("utf-8"))
    if not isinstance(parameters, dict) or set(parameters) != PARAMETERS[name]:
        raise AnsibleError(f"entra_sim_adsync: unexpected parameters for the {name} script: {parameters!r}")
    return name, parameters


class Connection(ConnectionBase):
    """Answers adsync_cycle's scripts from the simulator's AD Connect model."""

    transport = "entra_sim_adsync"
    has_pipelining = True
    always_pipeline_modules = True
    allow_executable = False
    module_implementation_preferences = (".ps1", ".exe", "")
    _shell_type = "powershell"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session: requests.Session | None = None

    def _connect(self) -> Connection:
        if self._session is None:
            admin_url, ca_bundle = self.get_option("admin_url"), self.get_option("ca_bundle")
            if not admin_url or not ca_bundle:
                raise AnsibleError("entra_sim_adsync needs the simulator's admin URL and CA (SIM_ADMIN_URL, ENTRA_CA_BUNDLE)")
            self._session = requests.Session()
            self._session.trust_env = False
            self._session.verify = ca_bundle
        self._connected = True
        return self

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        script = decode(cmd)
        name, parameters = check(script)
        answer = getattr(self, f"_{name}")(parameters)
        self._log({"script": name, "parameters": parameters, "source": script, "answer": answer})
        return 0, (json.dumps(answer, separators=(",", ":")) + "\r\n").encode("utf-8"), b""

    # --- the three scripts, as PowerShell would print them --------------------------------------------------

    def _status(self, parameters: dict[str, Any]) -> dict[str, Any]:
        scheduler = self._admin("GET", "scheduler")
        running = self._admin("GET", "connector-run-status")
        return {
            "now": dotnet_now(),
            "sync_cycle_enabled": bool(scheduler["SyncCycleEnabled"]),
            "sync_cycle_in_progress": bool(scheduler["SyncCycleInProgress"]),
            "staging_mode_enabled": bool(scheduler["StagingModeEnabled"]),
            "scheduler_suspended": bool(scheduler["SchedulerSuspended"]),
            "next_sync_cycle_policy_type": str(scheduler["NextSyncCyclePolicyType"]),
            "next_sync_cycle_start_time_utc": scheduler["NextSyncCycleStartTimeInUTC"],
            "connectors_running": [{"connector": str(r["ConnectorName"]), "run_state": str(r["RunState"])} for r in running],
        }

    def _start(self, parameters: dict[str, Any]) -> dict[str, Any]:
        started = dotnet_now()
        response = self._admin("POST", "sync-cycle", {"policy_type": parameters["policy_type"]}, refused_ok=True)
        if "exception" in response:
            error = response["exception"]
            return {"error": {"message": error["message"], "type": error["type"], "id": error["fully_qualified_error_id"]}}
        return {"result": str(response["Result"]), "started_at": started}

    def _runs(self, parameters: dict[str, Any]) -> dict[str, Any]:
        runs = []
        for run in self._admin("GET", f"run-profile-results?number_requested={int(parameters['number_requested'])}"):
            steps = run.get("RunStepResults") or []
            counters = {name: sum(int(step.get(name) or 0) for step in steps) for name in parameters["counters"]}
            errors = [
                {"dn": str(item.get("ObjectDn") or ""), "error_type": str(item.get("ErrorType") or "")}
                for step in steps
                for prop, items in ERROR_LISTS
                for item in (step.get(prop) or {}).get(items) or []
            ][:20]
            runs.append(
                {
                    "run_history_id": str(run["RunHistoryId"]),
                    "connector": str(run["ConnectorName"]),
                    "run_profile": str(run["RunProfileName"]),
                    "run_number": int(run["RunNumber"]),
                    "result": str(run["Result"]),
                    "is_run_complete": bool(run["IsRunComplete"]),
                    "start_date": run["StartDate"],
                    "end_date": run["EndDate"],
                    "counters": counters,
                    "errors": errors,
                }
            )
        return {"runs": runs}

    # --- plumbing ----------------------------------------------------------------------------------------

    def _admin(self, method: str, path: str, body: Any = None, refused_ok: bool = False) -> Any:
        """The AD Connect model's answer; a refused cmdlet (409) is returned when ``refused_ok``."""
        url = f"{self.get_option('admin_url').rstrip('/')}/adconnect/{path}"
        try:
            response = self._session.request(method, url, json=body, timeout=30)
        except requests.RequestException as exc:
            raise AnsibleConnectionFailure(f"entra_sim_adsync: the simulated server is unreachable: {exc}") from exc
        if response.status_code == 409 and refused_ok:
            return response.json()
        if response.status_code >= 400:
            raise AnsibleError(f"entra_sim_adsync: {method} {url} answered {response.status_code}: {response.text}")
        return response.json()

    def _log(self, entry: dict[str, Any]) -> None:
        path = self.get_option("log")
        if path:
            with open(path, "a", encoding="utf-8") as log:
                log.write(json.dumps({"time": dotnet_now(), "host": self._play_context.remote_addr, **entry}) + "\n")

    def put_file(self, in_path: str, out_path: str) -> None:
        raise AnsibleError("entra_sim_adsync transfers no files; only adsync_cycle's scripts run on it")

    def fetch_file(self, in_path: str, out_path: str) -> None:
        raise AnsibleError("entra_sim_adsync transfers no files; only adsync_cycle's scripts run on it")

    def reset(self) -> None:
        self.close()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        self._connected = False
