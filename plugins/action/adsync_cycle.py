# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start an Entra Connect (AD Connect) sync cycle on the server the task runs against, and wait for it.

Runs short PowerShell scripts over whatever Windows connection the host uses (winrm, psrp, ssh with the
powershell shell) with ``_low_level_execute_command``, the way ansible.windows' win_reboot does: each script is
constant text wrapped as ``PowerShell ... -EncodedCommand <base64 UTF-16-LE>``, prints one JSON document, and gets
its parameters as a JSON document inside a base64 literal that it decodes itself. No option value is ever spliced
into PowerShell source, so no quoting rule has to be right for the scripts to be safe.

Verbosity levels used:
    2 (-vv): each step (scheduler state read, cycle started, waiting, runs found)
    4 (-vvvv): connection plugin operations (reset after a failed poll) and their errors
    5 (-vvvvv): every script sent, decoded, and the raw rc, stdout and stderr it returned
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.entra.licensing.plugins.module_utils.transport import Backoff

display = Display()

ARGUMENT_SPEC = dict(
    policy_type=dict(type="str", default="Delta", choices=["Delta", "Initial"]),
    wait=dict(type="bool", default=True),
    timeout=dict(type="int", default=1800),
    poll_interval=dict(type="float", default=5.0),
    busy=dict(type="str", default="wait", choices=["wait", "fail"]),
    staging_mode=dict(type="str", default="fail", choices=["fail", "warn"]),
)

COMMAND_PREFIX = "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand "
# The texts Start-ADSyncSyncCycle fails with while a cycle runs ("Sync is already running. Cannot start a new run till
# this one completes." and "Connector: <name> - AAD is busy.").
BUSY_ERROR = re.compile(r"sync is already running|\bis busy\b", re.IGNORECASE)
# Run results that mean the run itself did not happen or was cut short; completed-*-errors are per-object errors.
FAILED_RESULT = re.compile(r"^(stopped|no-start)-")
COUNTERS = ("StageAdd", "StageUpdate", "StageRename", "StageDelete", "StageDeleteAdd", "StageFailure")
EXPORT_COUNTERS = ("ExportAdd", "ExportUpdate", "ExportRename", "ExportDelete", "ExportDeleteAdd")
# The runs script reads the 50 latest run profile results (a cycle makes about three per connector) and sums these.
RUNS_PARAMETERS = {"number_requested": 50, "counters": [*COUNTERS, *EXPORT_COUNTERS, "ExportFailure"]}
# Run start dates may be stored with less precision than the clock read before Start-ADSyncSyncCycle.
START_TOLERANCE = timedelta(seconds=1)
# Run history dates are SQL datetime values (rounded to about 3 ms): a run that ended more than this before
# Start-ADSyncSyncCycle was called belongs to an earlier cycle, even one that ended within START_TOLERANCE.
END_TOLERANCE = timedelta(milliseconds=10)
MAX_POLL_INTERVAL = 30.0

# Every script is _HEAD + base64(JSON parameters) + _NECK + body + _TAIL: constant text around one base64 literal.
_HEAD = """$ErrorActionPreference = 'Stop'
$p = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('"""
_NECK = """')) | ConvertFrom-Json
function ConvertTo-UtcText($Value) {
    if ($null -eq $Value) { return $null }
    $d = [DateTime]$Value
    if ($d.Kind -eq 'Unspecified') { $d = [DateTime]::SpecifyKind($d, 'Utc') }
    $d.ToUniversalTime().ToString('o')
}
try {
    Import-Module ADSync
"""
_TAIL = """} catch {
    $r = @{ error = @{ message = $_.Exception.Message; type = $_.Exception.GetType().FullName; id = [string]$_.FullyQualifiedErrorId } }
}
ConvertTo-Json -InputObject $r -Depth 5 -Compress
"""

SCRIPTS = {
    "status": """    $s = Get-ADSyncScheduler
    $running = @(Get-ADSyncConnectorRunStatus | ForEach-Object { @{ connector = [string]$_.ConnectorName; run_state = [string]$_.RunState } })
    $r = @{
        now = ConvertTo-UtcText ([DateTime]::UtcNow)
        sync_cycle_enabled = [bool]$s.SyncCycleEnabled
        sync_cycle_in_progress = [bool]$s.SyncCycleInProgress
        staging_mode_enabled = [bool]$s.StagingModeEnabled
        scheduler_suspended = [bool]$s.SchedulerSuspended
        next_sync_cycle_policy_type = [string]$s.NextSyncCyclePolicyType
        next_sync_cycle_start_time_utc = ConvertTo-UtcText $s.NextSyncCycleStartTimeInUTC
        connectors_running = $running
    }
""",
    "start": """    $started = [DateTime]::UtcNow
    $cycle = Start-ADSyncSyncCycle -PolicyType $p.policy_type
    $r = @{ result = [string]$cycle.Result; started_at = ConvertTo-UtcText $started }
""",
    "runs": """    $runs = @(Get-ADSyncRunProfileResult -RunStepDetails -NumberRequested $p.number_requested | ForEach-Object {
        $run = $_
        $steps = @($run.RunStepResults)
        $counters = @{}
        foreach ($name in $p.counters) { $counters[$name] = 0 }
        foreach ($step in $steps) { foreach ($name in $p.counters) { $counters[$name] += [int]$step.$name } }
        $errors = @($steps | ForEach-Object {
            @($_.ConnectorDiscoveryErrors.ConnectorDiscoveryErrorsList) + @($_.SyncErrors.SyncErrorsList) + @($_.MvRetryErrors.MvRetryErrorsList)
        } | Where-Object { $_ } | Select-Object -First 20 | ForEach-Object { @{ dn = [string]$_.ObjectDn; error_type = [string]$_.ErrorType } })
        @{
            run_history_id = [string]$run.RunHistoryId
            connector = [string]$run.ConnectorName
            run_profile = [string]$run.RunProfileName
            run_number = [int]$run.RunNumber
            result = [string]$run.Result
            is_run_complete = [bool]$run.IsRunComplete
            start_date = ConvertTo-UtcText $run.StartDate
            end_date = ConvertTo-UtcText $run.EndDate
            counters = $counters
            errors = $errors
        }
    })
    $r = @{ runs = $runs }
""",
}


def build_script(name: str, parameters: dict[str, Any]) -> str:
    """The PowerShell source of script ``name``; the parameters travel only as base64 inside one single-quoted literal."""
    literal = base64.b64encode(json.dumps(parameters).encode("utf-8")).decode("ascii")
    return f"# entra.licensing.adsync_cycle {name}\n" + _HEAD + literal + _NECK + SCRIPTS[name] + _TAIL


def encode_command(script: str) -> str:
    """The command line every Windows shell runs as is (winrm and psrp recognise the prefix and do not re-encode)."""
    return COMMAND_PREFIX + base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def parse_time(text: str) -> datetime:
    """Round-trip ('o') timestamps from .NET: 7 fractional digits and a Z, which fromisoformat on Python 3.8 rejects."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?", text)
    if not match:
        raise ValueError(f"not a timestamp: {text!r}")
    return datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S") + timedelta(microseconds=int((match.group(2) or "0")[:6].ljust(6, "0")))


def is_idle(status: dict[str, Any]) -> bool:
    return not status["sync_cycle_in_progress"] and not status["connectors_running"]


def describe(status: dict[str, Any]) -> str:
    running = ", ".join(f"{item['connector']} ({item['run_state']})" for item in status["connectors_running"]) or "none"
    return f"SyncCycleInProgress={status['sync_cycle_in_progress']}, connectors running: {running}"


def cycle_runs(runs: list[dict[str, Any]], started_at: str) -> list[dict[str, Any]]:
    """The runs of our cycle: those that started after Start-ADSyncSyncCycle was called and had not ended before it
    (both times are the server's). Without the second condition, the last runs of a cycle that ended just before ours
    started (a scheduler's cycle waited for with busy=wait, or a previous task's) would count as ours."""
    started = parse_time(started_at)
    ours = [
        run
        for run in runs
        if run.get("start_date")
        and parse_time(run["start_date"]) >= started - START_TOLERANCE
        and not (run.get("end_date") and parse_time(run["end_date"]) < started - END_TOLERANCE)
    ]
    for run in ours:
        run["counters"] = {snake_case(name): int(value or 0) for name, value in (run.get("counters") or {}).items()}
    return sorted(ours, key=lambda run: (run["start_date"], run["connector"]))


def exported(runs: list[dict[str, Any]]) -> int:
    """Objects the cycle wrote to a connected directory: the sum of the export counters (failures excluded)."""
    return sum(run["counters"].get(snake_case(name), 0) for run in runs for name in EXPORT_COUNTERS)


class _CycleFailed(Exception):
    """Ends the task as failed with this message, keeping what the result learned so far."""


class _Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())


class ActionModule(ActionBase):
    """See the module documentation in plugins/modules/adsync_cycle.py."""

    TRANSFERS_FILES = False
    # Replaceable in tests: time passes only through these two.
    _clock = staticmethod(time.monotonic)
    _sleep = staticmethod(time.sleep)

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        result.update(changed=False, policy_type=args["policy_type"], started=False)
        if self._task.check_mode:
            result["msg"] = f"check mode: would run Start-ADSyncSyncCycle -PolicyType {args['policy_type']}" + (
                f" and wait up to {args['timeout']} s for the cycle to finish" if args["wait"] else ""
            )
            return result
        begin = self._clock()
        try:
            self._cycle(args, result)
        except _CycleFailed as failure:
            result.update(failed=True, msg=str(failure))
        result["elapsed"] = round(self._clock() - begin, 1)
        return result

    def _cycle(self, args: dict[str, Any], result: dict[str, Any]) -> None:
        deadline = _Deadline(args["timeout"], self._clock)
        status = self._script("status", {})
        display.vv(f"{self._task.action}: scheduler: {describe(status)}, StagingModeEnabled={status['staging_mode_enabled']}")
        result.update(scheduler=status, staging_mode=status["staging_mode_enabled"], waited_for_running_cycle=False)
        if status["staging_mode_enabled"]:
            message = "the server is in staging mode: the cycle imports and synchronizes but exports nothing to Entra ID"
            if args["staging_mode"] == "fail":
                raise _CycleFailed(message + "; set staging_mode=warn to run it anyway")
            display.warning(f"{self._task.action}: {message}")
        started = None
        while started is None:
            if not is_idle(status):
                if args["busy"] == "fail":
                    raise _CycleFailed(f"a sync cycle is already running ({describe(status)}); busy=fail")
                display.vv(f"{self._task.action}: a cycle is already running, waiting for it to finish")
                result["waited_for_running_cycle"] = True
                status = self._wait_idle(deadline, args, "the running sync cycle to finish", result)[0]
            started = self._start(args, result)
            if started is None:
                # Start-ADSyncSyncCycle said busy: a cycle started between our poll and our call.
                status = {**status, "sync_cycle_in_progress": True}
        result.update(started=True, started_at=started, changed=True)
        display.vv(f"{self._task.action}: {args['policy_type']} cycle started at {started} (server time, UTC)")
        if not args["wait"]:
            return
        what = "the sync cycle to finish"
        while True:
            status, seen_busy = self._wait_idle(deadline, args, what, result)
            runs = cycle_runs(self._poll("runs", RUNS_PARAMETERS, deadline)["runs"], started)
            if runs or seen_busy:
                break
            # Start-ADSyncSyncCycle only queues the cycle: idle with no run of ours yet means it has not begun.
            what = "the queued sync cycle to run (no run of it seen yet)"
            display.vv(f"{self._task.action}: no run of this cycle yet, still waiting")
        display.vv(f"{self._task.action}: {len(runs)} run(s) in this cycle")
        count = exported(runs)
        result.update(scheduler=status, runs=runs, exported=count, changed=count > 0)
        failed = [run for run in runs if FAILED_RESULT.match(run["result"] or "")]
        if failed:
            raise _CycleFailed("run(s) failed: " + ", ".join(f"{run['connector']} {run['run_profile']}: {run['result']}" for run in failed))
        for run in (run for run in runs if (run["result"] or "").endswith("-errors")):
            display.warning(f"{self._task.action}: {run['connector']} {run['run_profile']} ended with {run['result']} (see runs[].errors)")

    def _start(self, args: dict[str, Any], result: dict[str, Any]) -> str | None:
        """Start the cycle; its start time, or None when the engine said it is busy (and busy=wait)."""
        response = self._script("start", {"policy_type": args["policy_type"]}, allow_error=True)
        error = response.get("error")
        if error is None:
            return response["started_at"]
        if BUSY_ERROR.search(error.get("message") or ""):
            if args["busy"] == "fail":
                raise _CycleFailed(f"a sync cycle is already running: {error['message']}; busy=fail")
            display.vv(f"{self._task.action}: Start-ADSyncSyncCycle answered busy: {error['message']}")
            result["waited_for_running_cycle"] = True
            return None
        raise _CycleFailed(f"Start-ADSyncSyncCycle failed: {error.get('message')} ({error.get('type')})")

    def _wait_idle(self, deadline: _Deadline, args: dict[str, Any], what: str, result: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Poll until the sync engine is idle on two polls in a row (it is briefly idle between a cycle's steps).

        Returns the last status and whether any poll saw it busy. The interval grows from poll_interval with jittered
        backoff up to 30 s; once idle, the confirming poll comes after poll_interval again.
        """
        backoff = Backoff(base=args["poll_interval"], cap=max(args["poll_interval"], MAX_POLL_INTERVAL))
        idle_polls = attempt = 0
        seen_busy = False
        while True:
            status = self._poll("status", {}, deadline)
            result["scheduler"] = status
            if is_idle(status):
                idle_polls += 1
                if idle_polls == 2:
                    return status, seen_busy
                delay = args["poll_interval"]
            else:
                idle_polls = 0
                seen_busy = True
                delay = backoff.delay(attempt)
                attempt += 1
                display.vv(f"{self._task.action}: waiting for {what}: {describe(status)}")
            if deadline.remaining() <= 0:
                raise _CycleFailed(f"timed out after {args['timeout']} s waiting for {what}; last seen: {describe(status)}")
            self._sleep(min(delay, deadline.remaining()))

    def _poll(self, name: str, parameters: dict[str, Any], deadline: _Deadline) -> dict[str, Any]:
        """Run a read-only script, retrying on connection failures until the deadline (only reads are retried).

        A start is never retried: after a dropped connection nobody knows whether the cycle started.
        """
        failures = 0
        while True:
            try:
                return self._script(name, parameters)
            except AnsibleConnectionFailure as exc:
                failures += 1
                delay = Backoff(cap=MAX_POLL_INTERVAL).delay(failures)
                if deadline.remaining() <= delay:
                    raise _CycleFailed(f"lost the connection while polling ({name}) and the timeout ran out: {exc}") from exc
                display.vvvv(f"{self._task.action}: {name} poll failed ({exc}), resetting the connection and retrying in {delay:.1f} s")
                self._reset_connection()
                self._sleep(delay)

    def _reset_connection(self) -> None:
        try:
            self._connection.reset()
        except AnsibleError as exc:
            # The next poll fails again and is retried; reset is attempted each time.
            display.vvvv(f"{self._task.action}: connection reset failed: {exc}")

    def _script(self, name: str, parameters: dict[str, Any], allow_error: bool = False) -> dict[str, Any]:
        """Run one script and return its JSON document; an error it reports fails the task unless allowed."""
        script = build_script(name, parameters)
        display.vvvvv(f"{self._task.action}: running {name} script:\n{script}")
        response = self._low_level_execute_command(encode_command(script), sudoable=False)
        rc, stdout, stderr = response.get("rc"), response.get("stdout", ""), response.get("stderr", "")
        display.vvvvv(f"{self._task.action}: {name} returned rc={rc}\nstdout: {stdout}\nstderr: {stderr}")
        # Anything else PowerShell printed (a module's banner, progress) precedes the one JSON line the script prints.
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        try:
            document = json.loads(lines[-1])
        except (IndexError, ValueError) as exc:
            output = f"stdout: {stdout.strip() or '(empty)'}; stderr: {stderr.strip() or '(empty)'}"
            raise _CycleFailed(f"the {name} script printed no JSON (rc={rc}); {output}") from exc
        if "error" in document and not allow_error:
            error = document["error"]
            raise _CycleFailed(f"the {name} script failed: {error.get('message')} ({error.get('type')})")
        return document
