"""adsync_cycle against recorded AD Connect transcripts, in the manner of ansible.windows' test_win_updates.

The plugin's ``_low_level_execute_command`` is replaced by a fake server that decodes each ``-EncodedCommand``,
syntax-checks the PowerShell with the tree-sitter grammar, checks it is the script the transcript expects next and
answers with the recorded JSON (or raises the recorded connection failure). Time is a fake clock, so timeouts are
exercised without waiting.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any
from unittest.mock import MagicMock

import pytest
import tree_sitter_powershell
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.playbook.task import Task
from ansible.plugins.shell.powershell import ShellModule
from tree_sitter import Language, Parser

from ansible_collections.entra.licensing.plugins.action import adsync_cycle
from ansible_collections.entra.licensing.plugins.action.adsync_cycle import COMMAND_PREFIX, SCRIPTS, build_script, encode_command

PARSER = Parser(Language(tree_sitter_powershell.language()))
BEFORE = "2026-01-12T09:00:03.0000000Z"
STARTED_AT = "2026-01-12T09:30:02.4310000Z"
IDLE = {
    "now": "2026-01-12T09:30:01.0000000Z",
    "sync_cycle_enabled": True,
    "sync_cycle_in_progress": False,
    "staging_mode_enabled": False,
    "scheduler_suspended": False,
    "next_sync_cycle_policy_type": "Delta",
    "next_sync_cycle_start_time_utc": "2026-01-12T10:00:00.0000000Z",
    "connectors_running": [],
}
BUSY = {**IDLE, "sync_cycle_in_progress": True, "connectors_running": [{"connector": "corp.contoso.com", "run_state": "Busy"}]}
BETWEEN_STEPS = {**IDLE, "sync_cycle_in_progress": True}
STAGING = {**IDLE, "staging_mode_enabled": True}
STARTED = {"result": "Success", "started_at": STARTED_AT}
AD = "corp.contoso.com"
AAD = "contoso.onmicrosoft.com - AAD"
HOSTILE = [
    "'; Remove-Item C:\\ -Recurse; '",
    "$(Remove-Item C:\\ -Recurse)",
    "`$env:COMPUTERNAME`n",
    "\"; Stop-Computer -Force; \"",
    "Delta') ; Invoke-Expression('calc",
    "\u2018smart quotes\u2019 and \u201cdoubles\u201d",
    "\x00\r\n#",
]


def run_result(connector: str, profile: str, start: str, result: str = "success", errors: list | None = None, **counters: int) -> dict[str, Any]:
    """A run as the runs script prints it: counters keyed by the RunStepResult property names, summed over steps."""
    names = [*adsync_cycle.COUNTERS, *adsync_cycle.EXPORT_COUNTERS, "ExportFailure"]
    return {
        "run_history_id": "7d0f6f42-3b1e-4a59-9c5e-2f1b8f6a1c10",
        "connector": connector,
        "run_profile": profile,
        "run_number": 412,
        "result": result,
        "is_run_complete": True,
        "start_date": start,
        "end_date": start,
        "counters": {name: counters.get(name, 0) for name in names},
        "errors": errors or [],
    }


PREVIOUS_CYCLE = run_result(AAD, "Export", BEFORE, ExportAdd=9)
DELTA_RUNS = {
    "runs": [
        run_result(AAD, "Export", "2026-01-12T09:30:20.4000000Z", ExportAdd=2, ExportUpdate=1),
        run_result(AD, "Delta Import", "2026-01-12T09:30:03.1000000Z", StageAdd=2, StageUpdate=1),
        run_result(AD, "Delta Synchronization", "2026-01-12T09:30:09.0000000Z"),
        PREVIOUS_CYCLE,
    ]
}
QUIET_RUNS = {"runs": [run_result(AD, "Delta Import", "2026-01-12T09:30:03.1000000Z"), run_result(AAD, "Export", "2026-01-12T09:30:20.4000000Z")]}


def started() -> list[tuple[str, Any]]:
    """An idle server that accepts the start."""
    return [("status", IDLE), ("start", STARTED)]


def finished(runs: dict[str, Any]) -> list[tuple[str, Any]]:
    """The cycle seen running, then idle twice, then its runs read."""
    return [("status", BUSY), ("status", IDLE), ("status", IDLE), ("runs", runs)]


class FakeADConnectServer:
    """Answers each decoded script with the next transcript entry: (script name, JSON answer or exception or raw result)."""

    def __init__(self, transcript: list[tuple[str, Any]]) -> None:
        self.transcript = list(transcript)
        self.scripts: list[tuple[str, str]] = []

    def __call__(self, cmd: str, sudoable: bool = True, **kwargs: Any) -> dict[str, Any]:
        assert sudoable is False
        assert cmd.startswith(COMMAND_PREFIX)
        script = base64.b64decode(cmd[len(COMMAND_PREFIX) :]).decode("utf-16-le")
        assert not PARSER.parse(script.encode("utf-8")).root_node.has_error, script
        name = re.match(r"# entra\.licensing\.adsync_cycle (\w+)\n", script).group(1)
        self.scripts.append((name, script))
        assert self.transcript, f"unexpected {name} script after the transcript ended"
        expected, answer = self.transcript.pop(0)
        assert name == expected, f"sent {name}, the transcript expected {expected}"
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, dict) and "rc" in answer:
            return answer
        return {"rc": 0, "stdout": json.dumps(answer) + "\r\n", "stderr": ""}

    def sent(self, name: str) -> list[str]:
        return [script for sent, script in self.scripts if sent == name]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Rig:
    plugin: adsync_cycle.ActionModule
    server: FakeADConnectServer
    clock: FakeClock
    connection: MagicMock


def make_action(args: dict[str, Any], transcript: list[tuple[str, Any]], check_mode: bool = False) -> Rig:
    task = MagicMock(Task)
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    task.action = "entra.licensing.adsync_cycle"
    connection = MagicMock()
    connection._shell.tmpdir = None
    plugin = adsync_cycle.ActionModule(task, connection, MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    server = FakeADConnectServer(transcript)
    clock = FakeClock()
    plugin._low_level_execute_command = server
    plugin._clock = clock.monotonic
    plugin._sleep = clock.sleep
    return Rig(plugin, server, clock, connection)


def parameters_of(script: str) -> Any:
    literal = re.search(r"FromBase64String\('([A-Za-z0-9+/=]*)'\)", script).group(1)
    return json.loads(base64.b64decode(literal))


@pytest.fixture
def warnings(monkeypatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(adsync_cycle.display, "warning", lambda message, *args, **kwargs: seen.append(message))
    return seen


def test_delta_cycle_waits_and_reports_this_cycles_runs():
    rig = make_action(
        {"poll_interval": 2},
        [("status", IDLE), ("start", STARTED), ("status", BUSY), ("status", BUSY), ("status", IDLE), ("status", IDLE), ("runs", DELTA_RUNS)],
    )
    result = rig.plugin.run(task_vars={})
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["started"] is True
    assert result["started_at"] == STARTED_AT
    assert result["policy_type"] == "Delta"
    assert result["waited_for_running_cycle"] is False
    assert result["exported"] == 3
    assert [(run["connector"], run["run_profile"]) for run in result["runs"]] == [
        (AD, "Delta Import"),
        (AD, "Delta Synchronization"),
        (AAD, "Export"),
    ]  # the previous cycle's export is not ours
    assert result["runs"][0]["counters"]["stage_add"] == 2
    assert result["runs"][2]["counters"] == {
        "stage_add": 0, "stage_update": 0, "stage_rename": 0, "stage_delete": 0, "stage_delete_add": 0, "stage_failure": 0,
        "export_add": 2, "export_update": 1, "export_rename": 0, "export_delete": 0, "export_delete_add": 0, "export_failure": 0,
    }  # fmt: skip
    assert result["scheduler"] == IDLE
    assert parameters_of(rig.server.sent("start")[0]) == {"policy_type": "Delta"}
    assert "Start-ADSyncSyncCycle -PolicyType $p.policy_type" in rig.server.sent("start")[0]
    assert "Get-ADSyncRunProfileResult -RunStepDetails -NumberRequested $p.number_requested" in rig.server.sent("runs")[0]
    assert parameters_of(rig.server.sent("runs")[0])["number_requested"] == 50
    assert not rig.server.transcript
    assert rig.clock.sleeps[-1] == 2  # the confirming poll after the first idle one comes after poll_interval


def test_runs_of_a_cycle_that_ended_just_before_ours_are_not_ours():
    """Back to back cycles: the previous cycle's last runs start within START_TOLERANCE of our start but ended before it."""
    previous = run_result(AAD, "Export", "2026-01-12T09:30:01.9000000Z", ExportAdd=4)
    previous["end_date"] = "2026-01-12T09:30:02.1000000Z"
    ours = run_result(AD, "Delta Import", "2026-01-12T09:30:02.4310000Z")  # rounded down by the run history
    ours["end_date"] = "2026-01-12T09:30:02.4280000Z"
    rig = make_action({"poll_interval": 0.2}, [*started(), *finished({"runs": [ours, previous]})])
    result = rig.plugin.run(task_vars={})
    assert not result.get("failed"), result
    assert [(run["connector"], run["run_profile"]) for run in result["runs"]] == [(AD, "Delta Import")]
    assert result["exported"] == 0 and result["changed"] is False


def test_a_cycle_that_exports_nothing_is_no_change():
    rig = make_action({}, started() + finished(QUIET_RUNS))
    result = rig.plugin.run(task_vars={})
    assert result["changed"] is False
    assert result["started"] is True
    assert result["exported"] == 0
    assert len(result["runs"]) == 2


def test_initial_policy_is_passed_as_a_parameter():
    rig = make_action({"policy_type": "Initial"}, started() + finished(QUIET_RUNS))
    result = rig.plugin.run(task_vars={})
    assert result["policy_type"] == "Initial"
    assert parameters_of(rig.server.sent("start")[0]) == {"policy_type": "Initial"}


def test_idle_between_steps_is_not_the_end_of_the_cycle():
    transcript = [("status", IDLE), ("start", STARTED), ("status", BUSY), ("status", BETWEEN_STEPS), ("status", IDLE), ("status", BUSY)]
    transcript += [("status", IDLE), ("status", IDLE), ("runs", DELTA_RUNS)]
    rig = make_action({}, transcript)
    result = rig.plugin.run(task_vars={})
    assert not result.get("failed"), result
    assert len(rig.server.sent("status")) == 7
    assert not rig.server.transcript


def test_a_queued_cycle_that_has_not_begun_is_waited_for():
    transcript = [("status", IDLE), ("start", STARTED), ("status", IDLE), ("status", IDLE), ("runs", {"runs": [PREVIOUS_CYCLE]})]
    transcript += [("status", IDLE), ("status", IDLE), ("runs", DELTA_RUNS)]
    rig = make_action({}, transcript)
    result = rig.plugin.run(task_vars={})
    assert result["changed"] is True
    assert len(result["runs"]) == 3
    assert not rig.server.transcript


def test_a_running_cycle_is_waited_for_before_ours_starts():
    transcript = [("status", BUSY), ("status", BUSY), ("status", IDLE), ("status", IDLE), ("start", STARTED)]
    transcript += [("status", BUSY), ("status", IDLE), ("status", IDLE), ("runs", DELTA_RUNS)]
    rig = make_action({"busy": "wait"}, transcript)
    result = rig.plugin.run(task_vars={})
    assert not result.get("failed"), result
    assert result["waited_for_running_cycle"] is True
    assert [sent[0] for sent in rig.server.scripts].index("start") == 4
    assert not rig.server.transcript


def test_a_running_cycle_fails_with_busy_fail():
    rig = make_action({"busy": "fail"}, [("status", BUSY)])
    result = rig.plugin.run(task_vars={})
    assert result["failed"] is True
    assert "already running" in result["msg"]
    assert "corp.contoso.com (Busy)" in result["msg"]
    assert result["started"] is False
    assert rig.server.sent("start") == []


@pytest.mark.parametrize(
    "message",
    [
        "System.InvalidOperationException: Sync is already running. Cannot start a new run till this one completes.",
        "System.InvalidOperationException: Connector: contoso.onmicrosoft.com - AAD is busy.",
    ],
)
def test_start_answering_busy_waits_and_starts_again(message):
    busy_error = {"error": {"message": message, "type": "System.InvalidOperationException", "id": "System.InvalidOperationException,StartADSyncSyncCycle"}}
    transcript = [("status", IDLE), ("start", busy_error), ("status", BUSY), ("status", IDLE), ("status", IDLE), ("start", STARTED)]
    transcript += [("status", IDLE), ("status", IDLE), ("runs", DELTA_RUNS)]
    rig = make_action({}, transcript)
    result = rig.plugin.run(task_vars={})
    assert not result.get("failed"), result
    assert result["waited_for_running_cycle"] is True
    assert len(rig.server.sent("start")) == 2
    assert not rig.server.transcript


def test_start_answering_busy_fails_with_busy_fail():
    busy_error = {"error": {"message": "Sync is already running. Cannot start a new run till this one completes.", "type": "System.InvalidOperationException"}}
    rig = make_action({"busy": "fail"}, [("status", IDLE), ("start", busy_error)])
    result = rig.plugin.run(task_vars={})
    assert result["failed"] is True
    assert "Sync is already running" in result["msg"]


def test_other_start_errors_fail():
    message = "The term 'Start-ADSyncSyncCycle' is not recognized as the name of a cmdlet"
    error = {"error": {"message": message, "type": "System.Management.Automation.CommandNotFoundException"}}
    rig = make_action({}, [("status", IDLE), ("start", error)])
    result = rig.plugin.run(task_vars={})
    assert result["failed"] is True
    assert result["msg"].startswith("Start-ADSyncSyncCycle failed: The term 'Start-ADSyncSyncCycle' is not recognized")
    assert result["started"] is False


def test_a_script_error_such_as_access_denied_fails():
    error = {"error": {"message": "Access to the registry key is denied.", "type": "System.UnauthorizedAccessException"}}
    rig = make_action({}, [("status", error)])
    result = rig.plugin.run(task_vars={})
    assert result["failed"] is True
    assert "the status script failed: Access to the registry key is denied." in result["msg"]


def test_staging_mode_fails_before_starting():
    rig = make_action({}, [("status", STAGING)])
    result = rig.plugin.run(task_vars={})
    assert result["failed"] is True
    assert "staging mode" in result["msg"]
    assert result["staging_mode"] is True
    assert rig.server.sent("start") == []


def test_staging_mode_warn_runs_the_cycle(warnings):
    staging_busy = {**BUSY, "staging_mode_enabled": True}
    transcript = [("status", STAGING), ("start", STARTED), ("status", staging_busy), ("status", STAGING), ("status", STAGING), ("runs", QUIET_RUNS)]
    rig = make_action({"staging_mode": "warn"}, transcript)
    result = rig.plugin.run(task_vars={})
    assert not result.get("failed"), result
    assert result["staging_mode"] is True
    assert result["changed"] is False
    assert any("staging mode" in warning for warning in warnings)


def test_a_connection_failure_while_polling_is_retried_after_a_reset():
    dropped = AnsibleConnectionFailure("WinRM: connection reset by peer")
    transcript = [("status", IDLE), ("start", STARTED), ("status", BUSY), ("status", dropped), ("status", IDLE), ("status", IDLE)]
    transcript += [("runs", dropped), ("runs", DELTA_RUNS)]
    rig = make_action({}, transcript)
    result = rig.plugin.run(task_vars={})
    assert not result.get("failed"), result
    assert rig.connection.reset.call_count == 2
    assert result["exported"] == 3
    assert not rig.server.transcript


def test_a_connection_failure_on_start_is_not_retried():
    rig = make_action({}, [("status", IDLE), ("start", AnsibleConnectionFailure("WinRM: connection reset"))])
    with pytest.raises(AnsibleConnectionFailure):
        rig.plugin.run(task_vars={})
    assert rig.connection.reset.call_count == 0
    assert len(rig.server.sent("start")) == 1


def test_timeout_fails_with_what_was_seen_last():
    rig = make_action({"timeout": 60, "poll_interval": 5}, [("status", IDLE), ("start", STARTED)] + [("status", BUSY)] * 40)
    result = rig.plugin.run(task_vars={})
    assert result["failed"] is True
    assert result["msg"].startswith("timed out after 60 s waiting for the sync cycle to finish")
    assert "connectors running: corp.contoso.com (Busy)" in result["msg"]
    assert result["scheduler"] == BUSY
    assert result["started"] is True
    assert sum(rig.clock.sleeps) == pytest.approx(60)  # slept until the deadline, not past it
    assert max(rig.clock.sleeps) <= 30  # backoff is capped


def test_timeout_while_a_previous_cycle_runs():
    rig = make_action({"timeout": 20}, [("status", BUSY)] * 20)
    result = rig.plugin.run(task_vars={})
    assert result["failed"] is True
    assert "waiting for the running sync cycle to finish" in result["msg"]
    assert rig.server.sent("start") == []


def test_connection_failures_until_the_timeout_fail_the_task():
    failures = [("status", AnsibleConnectionFailure("host unreachable"))] * 30
    rig = make_action({"timeout": 30}, [("status", IDLE), ("start", STARTED), *failures])
    result = rig.plugin.run(task_vars={})
    assert result["failed"] is True
    assert "lost the connection while polling (status)" in result["msg"]
    assert rig.connection.reset.call_count >= 1


def test_wait_false_returns_once_started():
    rig = make_action({"wait": False}, [("status", IDLE), ("start", STARTED)])
    result = rig.plugin.run(task_vars={})
    assert result["changed"] is True
    assert result["started_at"] == STARTED_AT
    assert "runs" not in result
    assert not rig.server.transcript


def test_check_mode_runs_nothing():
    rig = make_action({"policy_type": "Initial", "timeout": 600}, [], check_mode=True)
    result = rig.plugin.run(task_vars={})
    assert result["changed"] is False
    assert result["started"] is False
    assert result["msg"] == "check mode: would run Start-ADSyncSyncCycle -PolicyType Initial and wait up to 600 s for the cycle to finish"
    assert rig.server.scripts == []


def test_a_stopped_run_fails_the_task_with_the_runs():
    runs = {"runs": [run_result(AD, "Delta Import", "2026-01-12T09:30:03.1000000Z", result="stopped-extension-dll-exception")]}
    rig = make_action({}, started() + finished(runs))
    result = rig.plugin.run(task_vars={})
    assert result["failed"] is True
    assert "corp.contoso.com Delta Import: stopped-extension-dll-exception" in result["msg"]
    assert result["runs"][0]["result"] == "stopped-extension-dll-exception"


def test_export_errors_warn_and_are_listed(warnings):
    errors = [{"dn": "CN={ABC},OU=Licensing,OU=Entra,DC=corp,DC=contoso,DC=com", "error_type": "AttributeValueMustBeUnique"}]
    export = run_result(AAD, "Export", "2026-01-12T09:30:20.4000000Z", result="completed-export-errors", errors=errors, ExportAdd=1, ExportFailure=1)
    rig = make_action({}, started() + finished({"runs": [export]}))
    result = rig.plugin.run(task_vars={})
    assert not result.get("failed"), result
    assert result["runs"][0]["errors"] == errors
    assert result["exported"] == 1  # failures are not exports
    assert any("completed-export-errors" in warning for warning in warnings)


def test_output_before_the_json_line_is_ignored():
    noisy = {"rc": 0, "stdout": "WARNING: The names of some imported commands include unapproved verbs.\r\n" + json.dumps(STARTED) + "\r\n", "stderr": ""}
    rig = make_action({"wait": False}, [("status", IDLE), ("start", noisy)])
    assert rig.plugin.run(task_vars={})["started_at"] == STARTED_AT


def test_a_script_printing_no_json_fails_with_its_output():
    broken = {"rc": 1, "stdout": "", "stderr": "#< CLIXML\r\n<Objs><S S=\"Error\">Import-Module : The specified module 'ADSync' was not loaded</S></Objs>"}
    rig = make_action({}, [("status", broken)])
    result = rig.plugin.run(task_vars={})
    assert result["failed"] is True
    assert "printed no JSON (rc=1)" in result["msg"]
    assert "The specified module 'ADSync' was not loaded" in result["msg"]


@pytest.mark.parametrize("option", ["policy_type", "busy", "staging_mode"])
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_option_values_are_rejected_before_anything_runs(option, value):
    rig = make_action({option: value}, [])
    with pytest.raises(AnsibleActionFail, match="value of"):
        rig.plugin.run(task_vars={})
    assert rig.server.scripts == []


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_parameters_only_ever_live_inside_the_base64_literal(name):
    """Whatever the values, the script text outside the literal is the same, and the literal is one verbatim string."""
    outside = set()
    for value in ["Delta", *HOSTILE]:
        parameters = {"policy_type": value, "number_requested": value, "counters": [value]}
        script = build_script(name, parameters)
        tree = PARSER.parse(script.encode("utf-8"))
        assert not tree.root_node.has_error
        literal = re.search(r"FromBase64String\('([A-Za-z0-9+/=]*)'\)", script).group(1)
        assert json.loads(base64.b64decode(literal)) == parameters
        outside.add(script.replace(literal, "<literal>"))
        strings = [node for node in _walk(tree.root_node) if node.type == "verbatim_string_characters" and literal.encode() in node.text]
        assert [node.text for node in strings] == [f"'{literal}'".encode()]
    assert len(outside) == 1


def test_commands_are_what_winrm_and_psrp_run_without_re_encoding():
    script = build_script("status", {})
    command = encode_command(script)
    assert command.startswith(ShellModule()._encode_script("", strict_mode=False, preserve_rc=False))
    assert command.startswith("PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand ")
    assert base64.b64decode(command.split(" ")[-1]).decode("utf-16-le") == script


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)
