"""The hybrid path of the story, for real: ansible-playbook runs ad_group against a Samba AD DC, adsync_cycle through
the simulated Entra Connect server (the entra_sim_adsync connection plugin), whose AD Connect model imports from
that Samba directory and exports to the simulated tenant, then synced_object_wait, group_license and
license_assignment_info against the tenant.

Writes are counted on both sides: the simulator's request log (Graph writes) and Samba's rootDSE highestCommittedUSN
(LDAP writes). The fake server logs every script it answered (JSON lines), so tests also see what was sent.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from .harness import BIN, HERE, ROOT, PlaybookRun, Simulator, playbook_env
from .samba import SambaDC

pytest_plugins = [f"{__package__}.samba_fixtures"]

BASE = "O365_Licenses_E3_Base"
EXCHANGE = "O365_Licenses_E3_Exchange"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
AD_CONNECTOR, AAD_CONNECTOR = "corp.contoso.test", "contoso.onmicrosoft.com - AAD"
INVENTORY = """[controller]
localhost ansible_connection=local

[adconnect]
aadconnect01 ansible_connection=entra_sim_adsync ansible_shell_type=powershell
"""
# Tiny step times keep a cycle well under a second; polls stay at one second where a test waits for a cycle
# started by the scheduler, so the idle confirmation of two polls outlasts adsync_cycle's one-second start tolerance.
FAST = {"step_seconds": 0.05, "gap_seconds": 0.05}


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
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=str(ROOT), check=False)
        run = PlaybookRun(completed.returncode, completed.stdout + completed.stderr, command)
        assert results.exists(), run.output
        return run, json.loads(results.read_text())

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


def configure(simulator: Simulator, dc: SambaDC, **settings: Any) -> dict[str, Any]:
    return simulator.admin(
        "PUT",
        "/adconnect/config",
        {
            "server": dc.ip,
            "base_dn": dc.base_dn,
            "bind_dn": dc.admin_upn,
            "bind_password": dc.admin_password,
            "ca_bundle": str(dc.ca_file),
            **settings,
        },
    )


def ad_group(register: str, name: str, dc: SambaDC, **options: Any) -> dict[str, Any]:
    options = {"name": name, "path": dc.licensing_ou, "scope": "universal", **options}
    return {"name": f"ad_group {register}", "entra.licensing.ad_group": options, "register": register}


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
