"""The story's playbooks on premises and in the cloud, as shipped: the collection is built with ansible-galaxy, installed
from its tarball, and its playbooks run by name (``ansible-playbook entra.licensing.bootstrap``) against a Samba AD
DC, the simulated Entra Connect server and the simulated tenant.

Writes are counted on both sides: the simulator's request log (Graph) and Samba's highestCommittedUSN (LDAP). Every
playbook runs in check mode first (nothing written anywhere), then for real, then again (changed=0, nothing
written). One test runs the whole sequence, since each playbook needs the tenant the previous one left.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .adconnect import FAST, INVENTORY, configure
from .harness import BIN, HERE, ROOT, PlaybookRun, Simulator, playbook_env
from .samba import SambaDC

pytest_plugins = [f"{__package__}.samba_fixtures"]

BASE, EXCHANGE = "O365_Licenses_E3_Base", "O365_Licenses_E3_Exchange"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The collection as users get it: built into a tarball and installed from it."""
    workdir = tmp_path_factory.mktemp("galaxy")
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(workdir), str(ROOT)], check=True, capture_output=True)
    [tarball] = workdir.glob("entra-licensing-*.tar.gz")
    # --force: the collection under test is on ANSIBLE_COLLECTIONS_PATH already, which would make install a no-op.
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--force", str(tarball), "-p", str(workdir / "collections")], check=True, capture_output=True
    )
    assert (workdir / "collections" / "ansible_collections" / "entra" / "licensing" / "playbooks" / "bootstrap.yml").exists()
    return workdir / "collections"


class Story:
    """Runs the installed collection's playbooks against the test's Samba DC, Entra Connect server and tenant."""

    def __init__(self, simulator: Simulator, dc: SambaDC, collections: Path, tmp_path: Path) -> None:
        self.simulator = simulator
        self.dc = dc
        self.collections = collections
        self.tmp_path = tmp_path
        self.inventory = tmp_path / "inventory.ini"
        self.inventory.write_text(INVENTORY)
        self.scripts = tmp_path / "adsync.jsonl"
        self.report = tmp_path / "report"

    def run(self, playbook: str, check: bool = False, **extra_vars: Any) -> PlaybookRun:
        variables = {"group_licensing_onprem_path": self.dc.licensing_ou, "license_report_dir": str(self.report), "adsync_poll_interval": 0.2}
        command = [str(BIN / "ansible-playbook"), "-i", str(self.inventory), f"entra.licensing.{playbook}", "-e", json.dumps({**variables, **extra_vars})]
        if check:
            command += ["--check", "--diff"]
        env = playbook_env(
            self.simulator,
            {
                **self.dc.env,
                "ANSIBLE_COLLECTIONS_PATH": str(self.collections),
                "ANSIBLE_CONNECTION_PLUGINS": str(HERE / "connection_plugins"),
                "ENTRA_SIM_ADSYNC_LOG": str(self.scripts),
            },
        )
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=str(self.tmp_path), check=False)
        return PlaybookRun(completed.returncode, completed.stdout + completed.stderr, command)

    def quiet(self, playbook: str, check: bool = False, **extra_vars: Any) -> PlaybookRun:
        """Run a playbook and assert that it wrote nothing, to the tenant or to the directory."""
        cursor, usn = self.simulator.cursor(), self.dc.highest_usn()
        run = self.run(playbook, check, **extra_vars)
        assert run.rc == 0, run.output
        assert self.simulator.writes_since(cursor) == 0, run.output
        assert self.dc.highest_usn() == usn, run.output
        return run

    def scripts_sent(self) -> int:
        return len(self.scripts.read_text().splitlines()) if self.scripts.exists() else 0

    def report_json(self) -> dict[str, Any]:
        return json.loads((self.report / "license-report.json").read_text())


@pytest.fixture
def story(simulator: Simulator, samba_dc: SambaDC, installed: Path, tmp_path: Path) -> Story:
    simulator.admin("PUT", "/config", {"license_processing_delay": 0.2})
    configure(simulator, samba_dc, sync_scope=[samba_dc.sync_ou], **FAST)
    yield Story(simulator, samba_dc, installed, tmp_path)
    simulator.admin("POST", "/adconnect/stop")


def paths_of(report: dict[str, Any], upn: str) -> list[tuple[str, str, str, int]]:
    """(product, path, state, plans on) of a user, from a license report's JSON."""
    [user] = [u for u in report["users"] if u["userPrincipalName"].lower() == upn.lower()]
    return [
        (lic["name"], "direct" if path["direct"] else path["group_name"], path["state"], len(path["enabledPlanNames"]))
        for lic in user["licenses"]
        for path in lic["paths"]
    ]


def test_the_story_from_the_installed_collection(story: Story):
    """bootstrap, drift_check, onboard_user (on premises) and adsync: check mode, apply, verify, rerun without change."""
    check = story.quiet("bootstrap", check=True)
    assert "is not synced to Entra yet; check mode assumes the sync earlier in the play brings it" in check.output
    assert story.scripts_sent() == 0  # check mode ran nothing on the Entra Connect server

    run = story.run("bootstrap")
    assert run.rc == 0, run.output
    report = story.report_json()
    groups = {g["displayName"]: g for g in report["groups"]}
    assert set(groups) == {BASE, EXCHANGE}
    assert all(g["onPremisesSyncEnabled"] and g["licenseProcessingState"]["state"] == "ProcessingComplete" for g in groups.values())
    assert groups[EXCHANGE]["licenses"][0]["enabledPlanNames"] == ["Exchange Online (Plan 2)"]
    assert not groups[BASE]["licenses"][0]["disabledPlanNames"]
    assert paths_of(report, "BenW@contoso.com") == [("Office 365 E3", BASE, "Active", 36)]
    assert (story.report / "license-report.html").exists() and (story.report / "license-assignments.csv").exists()

    again = story.quiet("bootstrap")
    assert again.recap()["changed"] == 0, again.output
    story.quiet("drift_check")

    joiner = {"onboard_source": "onprem", "onboard_user": "ChristieC", "onboard_groups": [EXCHANGE], "onboard_path": story.dc.licensing_ou}
    story.quiet("onboard_user", check=True, **joiner)
    joined = story.run("onboard_user", **joiner)
    assert joined.rc == 0, joined.output
    assert f"Office 365 E3: {EXCHANGE} Active" in joined.output
    rejoined = story.quiet("onboard_user", **joiner)
    assert rejoined.recap()["changed"] == 0, rejoined.output

    sent = story.scripts_sent()
    story.quiet("adsync", check=True, adsync_wait_groups=[BASE])
    assert story.scripts_sent() == sent
    synced = story.quiet("adsync", adsync_wait_groups=[BASE, EXCHANGE])
    assert synced.recap()["changed"] == 0, synced.output  # a cycle with nothing to export changes nothing
    assert f"Cycle Delta ran. In Entra ID: {BASE}, {EXCHANGE}." in synced.output
    assert story.scripts_sent() > sent
