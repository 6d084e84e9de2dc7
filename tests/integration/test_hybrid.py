"""The hybrid path of the story, for real: ansible-playbook runs ad_group against a Samba AD DC, adsync_cycle through
the simulated Entra Connect server (the entra_sim_adsync connection plugin), whose AD Connect model imports from
that Samba directory and exports to the simulated tenant, then synced_object_wait, group_license and
license_assignment_info against the tenant.

Writes are counted on both sides: the simulator's request log (Graph writes) and Samba's rootDSE highestCommittedUSN
(LDAP writes). The fake server logs every script it answered (JSON lines), so tests also see what was sent.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from ansible_collections.entra.licensing.plugins.action.adsync_cycle import build_script

from .adconnect import FAST, INVENTORY, configure
from .harness import BIN, HERE, ROOT, PlaybookRun, Simulator, playbook_env
from .samba import SambaDC

pytest_plugins = [f"{__package__}.samba_fixtures"]

BASE = "O365_Licenses_E3_Base"
EXCHANGE = "O365_Licenses_E3_Exchange"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
AD_CONNECTOR, AAD_CONNECTOR = "corp.contoso.test", "contoso.onmicrosoft.com - AAD"


class Running:
    """An ansible-playbook run in progress."""

    def __init__(self, process: subprocess.Popen, command: list[str], results: Path) -> None:
        self.process = process
        self.command = command
        self.results = results

    def wait(self) -> tuple[PlaybookRun, dict[str, Any]]:
        output = self.process.communicate(timeout=600)[0]
        run = PlaybookRun(self.process.returncode, output, self.command)
        assert self.results.exists(), run.output
        return run, json.loads(self.results.read_text())


class Hybrid:
    """Runs plays against localhost and the simulated AD Connect server; returns the registered results by name."""

    def __init__(self, simulator: Simulator, dc: SambaDC, tmp_path: Path) -> None:
        self.simulator = simulator
        self.dc = dc
        self.tmp_path = tmp_path
        self.log = tmp_path / "adsync.jsonl"
        self.inventory = tmp_path / "inventory.ini"
        self.inventory.write_text(INVENTORY)
        self.runs = 0

    def __call__(self, tasks: list[dict[str, Any]], check: bool = False, extra_env: dict[str, str] | None = None) -> tuple[PlaybookRun, dict[str, Any]]:
        return self.spawn(tasks, check, extra_env).wait()

    def spawn(self, tasks: list[dict[str, Any]], check: bool = False, extra_env: dict[str, str] | None = None) -> Running:
        """Start ansible-playbook and return at once (wait() gives the run and the registered results)."""
        self.runs += 1
        results = self.tmp_path / f"results-{self.runs}.json"
        names = [task["register"] for task in tasks if "register" in task]
        save = {
            "name": "Save the registered results for the test",
            "ansible.builtin.copy": {"content": "{{ {" + ", ".join(f"'{n}': {n}" for n in names) + "} | to_json }}", "dest": str(results)},
            "check_mode": False,
            "changed_when": False,
        }
        play = {
            "name": "Hybrid",
            "hosts": "localhost",
            "gather_facts": False,
            "module_defaults": {
                "group/entra.licensing.ad": {"server": self.dc.ip, "bind_dn": self.dc.admin_upn, "ca_bundle": str(self.dc.ca_file)},
            },
            "tasks": [*tasks, save],
        }
        playbook = self.tmp_path / f"play-{self.runs}.yml"
        playbook.write_text(json.dumps([play]))
        command = [str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(playbook)]
        if check:
            command.append("--check")
        env = playbook_env(
            self.simulator,
            {
                "AD_BIND_PASSWORD": self.dc.admin_password,
                "ANSIBLE_CONNECTION_PLUGINS": str(HERE / "connection_plugins"),
                "ENTRA_SIM_ADSYNC_LOG": str(self.log),
                **(extra_env or {}),
            },
        )
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(ROOT))
        return Running(process, command, results)

    def scripts(self) -> list[dict[str, Any]]:
        """Every script the fake server answered so far."""
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []


@pytest.fixture
def hybrid(simulator: Simulator, samba_dc: SambaDC, tmp_path: Path) -> Hybrid:
    """The article tenant, and its AD Connect server importing from the test's Samba DC (scope: OU=Entra)."""
    simulator.admin("PUT", "/config", {"license_processing_delay": 0.2})
    configure(simulator, samba_dc, sync_scope=[samba_dc.sync_ou], **FAST)
    yield Hybrid(simulator, samba_dc, tmp_path)
    simulator.admin("POST", "/adconnect/stop")


def load_connection_plugin() -> Any:
    spec = importlib.util.spec_from_file_location("entra_sim_adsync", HERE / "connection_plugins" / "entra_sim_adsync.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ad_group(register: str, name: str, dc: SambaDC, ignore_errors: bool = False, **options: Any) -> dict[str, Any]:
    return task(register, "ad_group", ignore_errors, **{"name": name, "path": dc.licensing_ou, "scope": "universal", **options})


def sync(register: str, ignore_errors: bool = False, **options: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "name": f"adsync_cycle {register}",
        "entra.licensing.adsync_cycle": {"policy_type": "Delta", "poll_interval": 0.2, "timeout": 120, **options},
        "delegate_to": "aadconnect01",
        "register": register,
    }
    if ignore_errors:
        task["ignore_errors"] = True
    return task


def task(register: str, module: str, ignore_errors: bool = False, **options: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": f"{module} {register}", f"entra.licensing.{module}": options, "register": register}
    if ignore_errors:
        entry["ignore_errors"] = True
    return entry


def runs_by(result: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(run["connector"], run["run_profile"]): run for run in result["runs"]}


def nonzero(run: dict[str, Any]) -> dict[str, int]:
    return {name: value for name, value in run["counters"].items() if value}


def story(dc: SambaDC) -> list[dict[str, Any]]:
    """The story's hybrid path: groups on premises, sync, wait, licenses, a joiner on premises, sync, check."""
    return [
        ad_group("base", BASE, dc, description="Office 365 E3, every service plan"),
        ad_group("exchange", EXCHANGE, dc, description="Office 365 E3, Exchange Online (Plan 2) only"),
        sync("first_sync"),
        task("synced", "synced_object_wait", groups=["{{ base.object_sid }}", "{{ exchange.object_sid }}"], wait_timeout=60, poll_interval=0.2),
        task("base_license", "group_license", group=f"{{{{ synced.ids.{BASE} | default('{BASE}') }}}}", licenses=[{"sku": "Office 365 E3"}]),
        task(
            "exchange_license",
            "group_license",
            group=f"{{{{ synced.ids.{EXCHANGE} | default('{EXCHANGE}') }}}}",
            licenses=[{"sku": "Office 365 E3", "enabled_plans": ["Exchange Online (Plan 2)"]}],
        ),
        ad_group("add_ben", BASE, dc, members=["BenW"]),
        sync("second_sync"),
        {
            **task("ben", "license_assignment_info", users=["BenW@contoso.com"]),
            "until": "ben.users | length == 1 and (ben.users[0].licenses | selectattr('skuId', 'equalto', '" + E3 + "') | list | length == 1)",
            "retries": 30,
            "delay": 0.5,
            "when": "not ansible_check_mode",
        },
    ]


def test_the_story_runs_for_real_and_a_rerun_changes_nothing(hybrid, simulator, samba_dc):
    usn, cursor = samba_dc.highest_usn(), simulator.cursor()
    run, planned = hybrid(story(samba_dc), check=True)
    assert run.rc == 0, run.output
    assert samba_dc.highest_usn() == usn and simulator.writes_since(cursor) == 0
    assert planned["first_sync"]["msg"].startswith("check mode: would run Start-ADSyncSyncCycle -PolicyType Delta")
    assert planned["synced"]["missing"] == ["S-1-5-0000"] and not planned["synced"].get("failed")
    assert hybrid.scripts() == []

    started = time.monotonic()
    run, results = hybrid(story(samba_dc))
    elapsed = time.monotonic() - started
    assert run.rc == 0, run.output
    first = runs_by(results["first_sync"])
    assert results["first_sync"]["changed"] is True and results["first_sync"]["exported"] == 6  # 4 users, 2 groups
    assert nonzero(first[(AD_CONNECTOR, "Delta Import")]) == {"stage_add": 6}
    assert nonzero(first[(AAD_CONNECTOR, "Export")]) == {"export_add": 6}
    base_id = results["synced"]["ids"][BASE]
    assert [g["onPremisesSecurityIdentifier"] for g in results["synced"]["groups"]] == [results["base"]["object_sid"], results["exchange"]["object_sid"]]
    assert [g["id"] for g in results["synced"]["groups"]] == [base_id, results["synced"]["ids"][EXCHANGE]]
    assert all(g["onPremisesSyncEnabled"] and g["onPremisesNetBiosName"] == "CORP" for g in results["synced"]["groups"])
    assert results["base_license"]["changed"] and results["exchange_license"]["changed"]
    second = runs_by(results["second_sync"])
    assert nonzero(second[(AD_CONNECTOR, "Delta Import")]) == {"stage_update": 1}
    assert nonzero(second[(AAD_CONNECTOR, "Export")]) == {"export_update": 1}
    [ben] = results["ben"]["users"]
    [e3] = [lic for lic in ben["licenses"] if lic["skuId"] == E3]
    assert e3["state"] == "Active"
    assert [(p["direct"], p["group_name"], p["state"]) for p in e3["paths"]] == [(False, BASE, "Active")]
    assert "Exchange Online (Plan 2)" in e3["paths"][0]["enabledPlanNames"]
    print(f"story: first run {elapsed:.1f} s")

    usn, cursor = samba_dc.highest_usn(), simulator.cursor()
    sent = len(hybrid.scripts())
    run, again = hybrid(story(samba_dc))
    assert run.rc == 0, run.output
    assert run.recap()["changed"] == 0, run.output
    assert all(not result.get("changed") for result in again.values())
    assert again["first_sync"]["exported"] == 0 and again["second_sync"]["exported"] == 0
    assert simulator.writes_since(cursor) == 0
    assert samba_dc.highest_usn() == usn
    assert {entry["script"] for entry in hybrid.scripts()[sent:]} == {"status", "start", "runs"}


def wait_for(condition, what: str, timeout: float = 60.0) -> Any:
    """Poll a condition of the outside world (a log line, the engine's state) until it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never saw {what}")


def scheduler(simulator: Simulator) -> dict[str, Any]:
    return simulator.admin("GET", "/adconnect/scheduler")


def test_a_cycle_already_running_is_waited_for_or_refused(hybrid, simulator, samba_dc):
    configure(simulator, samba_dc, step_seconds=30)
    simulator.admin("POST", "/adconnect/sync-cycle", {"policy_type": "Delta"})  # the scheduler's cycle
    run, results = hybrid([sync("refused", busy="fail", ignore_errors=True)])
    refused = results["refused"]
    assert refused["failed"] and refused["started"] is False
    assert "a sync cycle is already running (SyncCycleInProgress=True, connectors running: corp.contoso.test (Busy)); busy=fail" in refused["msg"]
    assert [entry["script"] for entry in hybrid.scripts()] == ["status"]

    # busy=wait: the plugin polls while the scheduler's cycle runs; an administrator stops that cycle, ours starts.
    running = hybrid.spawn([sync("waited", busy="wait")])
    seen = wait_for(lambda: [entry["script"] for entry in hybrid.scripts()][1:] if len(hybrid.scripts()) >= 3 else None, "adsync_cycle polling")
    assert set(seen) == {"status"}  # polling the running cycle, nothing started
    configure(simulator, samba_dc, **FAST)
    simulator.admin("POST", "/adconnect/stop")
    run, results = running.wait()
    assert run.rc == 0, run.output
    waited = results["waited"]
    assert waited["waited_for_running_cycle"] is True and waited["started"] is True
    assert [(r["connector"], r["run_profile"]) for r in waited["runs"]] == [
        (AD_CONNECTOR, "Delta Import"), (AAD_CONNECTOR, "Delta Import"), (AD_CONNECTOR, "Delta Synchronization"),
        (AAD_CONNECTOR, "Delta Synchronization"), (AAD_CONNECTOR, "Export"), (AD_CONNECTOR, "Export")]
    assert all(r["result"] == "success" for r in waited["runs"])
    history = simulator.admin("GET", "/adconnect/run-profile-results")
    assert history[-1]["Result"] == "stopped-user-termination-from-wmi-or-ui"  # the scheduler's cycle, not reported
    assert waited["exported"] == 4 and waited["changed"] is True  # the four users of OU=Entra


def test_staging_mode_fails_or_warns_and_exports_nothing(hybrid, simulator, samba_dc):
    configure(simulator, samba_dc, staging_mode=True)
    run, results = hybrid([ad_group("base", BASE, samba_dc), sync("blocked", ignore_errors=True), sync("warned", staging_mode="warn")])
    assert results["blocked"]["failed"] and results["blocked"]["started"] is False
    assert "staging mode" in results["blocked"]["msg"] and "staging_mode=warn" in results["blocked"]["msg"]
    warned = results["warned"]
    assert warned["staging_mode"] is True and warned["started"] is True
    assert warned["changed"] is False and warned["exported"] == 0
    assert [r["run_profile"] for r in warned["runs"]] == ["Delta Import", "Delta Import", "Delta Synchronization", "Delta Synchronization"]
    assert "the server is in staging mode" in run.output
    run, found = hybrid([task("wait", "synced_object_wait", groups=[results["base"]["object_sid"]])], check=True)
    assert found["wait"]["missing"] == [results["base"]["object_sid"]]
    pending = simulator.admin("GET", "/adconnect")["connectors"][1]["pending_exports"]
    assert sorted(p["action"] for p in pending) == ["add"] * 5


def test_a_cycle_longer_than_the_timeout_fails_the_task(hybrid, simulator, samba_dc):
    configure(simulator, samba_dc, step_seconds=30)
    results = hybrid([sync("late", timeout=2, ignore_errors=True)])[1]
    late = results["late"]
    assert late["failed"] and late["started"] is True
    assert late["msg"].startswith("timed out after 2 s waiting for the sync cycle to finish; last seen: SyncCycleInProgress=True")


def test_delta_picks_up_only_changes_and_initial_reads_the_whole_scope(hybrid, simulator, samba_dc):
    configure(simulator, samba_dc, sync_scope=[samba_dc.licensing_ou])
    run, first = hybrid([ad_group("base", BASE, samba_dc), sync("first")])
    assert run.rc == 0, run.output
    assert nonzero(runs_by(first["first"])[(AD_CONNECTOR, "Delta Import")]) == {"stage_add": 1}
    assert first["first"]["exported"] == 1

    # The users' OU joins the scope and the group changes: a delta import reads only the changed group.
    configure(simulator, samba_dc, sync_scope=[samba_dc.sync_ou])
    run, results = hybrid([ad_group("base", BASE, samba_dc, description="changed"), sync("delta"), sync("initial", policy_type="Initial"), sync("quiet")])
    assert run.rc == 0, run.output
    delta = runs_by(results["delta"])
    assert nonzero(delta[(AD_CONNECTOR, "Delta Import")]) == {"stage_update": 1}
    assert nonzero(delta[(AAD_CONNECTOR, "Export")]) == {"export_update": 1}
    initial = runs_by(results["initial"])
    assert set(initial) == {(c, p) for c in (AD_CONNECTOR, AAD_CONNECTOR) for p in ("Full Import", "Full Synchronization", "Export")}
    assert nonzero(initial[(AD_CONNECTOR, "Full Import")]) == {"stage_add": 4}
    assert nonzero(initial[(AAD_CONNECTOR, "Export")]) == {"export_add": 4}
    assert results["quiet"]["changed"] is False and results["quiet"]["exported"] == 0
    history = simulator.admin("GET", "/adconnect/run-profile-results")
    full = next(r for r in history if (r["ConnectorName"], r["RunProfileName"]) == (AD_CONNECTOR, "Full Import"))
    assert full["RunStepResults"][0]["StageNoChange"] == 1  # the group, read again unchanged


def test_synced_object_wait_names_what_never_came(hybrid, simulator, samba_dc):
    outside = f"CN=Users,{samba_dc.base_dn}"
    results = hybrid(
        [
            ad_group("inside", BASE, samba_dc),
            ad_group("outside", "Outside_Scope_Group", samba_dc, path=outside),
            sync("sync"),
            task("wait", "synced_object_wait", True, groups=["{{ inside.object_sid }}", "{{ outside.object_sid }}"], wait_timeout=2, poll_interval=0.3),
        ]
    )[1]
    wait = results["wait"]
    assert wait["failed"]
    assert f"still missing: group {results['outside']['object_sid']}." in wait["msg"]
    assert results["inside"]["object_sid"] not in wait["msg"]
    assert [g["onPremisesSamAccountName"] for g in wait["groups"]] == [BASE]


def test_ldap_filter_injection_is_data(hybrid, simulator, samba_dc):
    hostile = "*)(objectClass=*"
    usn = samba_dc.highest_usn()
    results = hybrid([ad_group("members", BASE, samba_dc, True, members=[hostile]), ad_group("name", hostile, samba_dc, True)])[1]
    assert results["members"]["failed"] and f"not found (no object with this sAMAccountName, userPrincipalName or DN): {hostile}" in results["members"]["msg"]
    assert results["name"]["failed"] and "cannot be a sAMAccountName" in results["name"]["msg"]
    assert samba_dc.highest_usn() == usn
    # A group whose name is filter syntax is created, synced and found by its name as it is.
    run, results = hybrid(
        [
            ad_group("literal", hostile, samba_dc, sam_account_name="Literal_Group"),
            sync("sync"),
            task("by_name", "synced_object_wait", groups=["Literal_Group"], wait_timeout=30),
        ]
    )
    assert run.rc == 0, run.output
    [group] = results["by_name"]["groups"]
    assert group["displayName"] == hostile and group["onPremisesSecurityIdentifier"] == results["literal"]["object_sid"]
    assert len(samba_dc.find("(objectClass=group)", ["cn"], base=samba_dc.licensing_ou)) == 1


def test_powershell_injection_in_options_never_reaches_the_server(hybrid, simulator, samba_dc):
    hostile = ["Delta'; Remove-Item C:\\ -Recurse; '", "$(Stop-Computer -Force)", "Delta`nStop-Computer"]
    tasks = [sync(f"policy_{n}", ignore_errors=True, policy_type=value) for n, value in enumerate(hostile)]
    tasks += [sync("busy", ignore_errors=True, busy="wait; Stop-Computer"), sync("clean")]
    results = hybrid(tasks)[1]
    for name in [f"policy_{n}" for n in range(len(hostile))] + ["busy"]:
        assert results[name]["failed"] and "value of" in results[name]["msg"], results[name]
    assert results["clean"]["started"] is True
    scripts = hybrid.scripts()
    assert {entry["script"] for entry in scripts} == {"status", "start", "runs"}
    for entry in scripts:
        assert entry["source"] == build_script(entry["script"], entry["parameters"])
        assert not any(value in entry["source"] for value in hostile)
    assert [entry["parameters"] for entry in scripts if entry["script"] == "start"] == [{"policy_type": "Delta"}]


def test_the_fake_server_checks_every_script(simulator):
    """What adsync_cycle sends passes; an injected command, a syntax error or an unknown script is refused."""
    fake = load_connection_plugin()
    hostile = {"policy_type": "'; Remove-Item C:\\ -Recurse; '"}
    assert fake.check(build_script("start", hostile)) == ("start", hostile)
    tampered = build_script("start", {"policy_type": "Delta"}).replace("-PolicyType $p.policy_type", "-PolicyType Delta; Remove-Item C:\\ -Recurse")
    with pytest.raises(Exception, match="runs unexpected command\\(s\\): Remove-Item"):
        fake.check(tampered)
    with pytest.raises(Exception, match="PowerShell syntax error"):
        fake.check(build_script("status", {}).replace("try {", "try {{"))
    with pytest.raises(Exception, match="unknown script"):
        fake.check("# entra.licensing.adsync_cycle reboot\nRestart-Computer\n")
    with pytest.raises(Exception, match=r"runs only entra\.licensing\.adsync_cycle's encoded PowerShell scripts"):
        fake.decode("/bin/sh -c 'echo hi'")
    # Had a hostile value got through (the plugin's argument spec stops it), it would be data for the cmdlet.
    with pytest.raises(requests.HTTPError) as refused:
        simulator.admin("POST", "/adconnect/sync-cycle", {"policy_type": "'; Remove-Item C:\\ -Recurse; '"})
    assert refused.value.response.status_code == 409
    assert refused.value.response.json()["exception"]["type"] == "System.Management.Automation.ParameterBindingException"
    assert scheduler(simulator)["SyncCycleInProgress"] is False
