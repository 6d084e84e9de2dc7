"""`make demo`: the story end to end, offline, against the bundled tenant simulator and a Samba AD DC.

It starts both (the simulator with the `article` seed; a private copy of the test DC), points the simulated Entra
Connect server at the DC, runs `playbooks/bootstrap.yml` with an inventory of the controller and that server, prints
what happened (groups and their state, the joiner's assignment paths, seats, where the report is), then runs the
playbook again to show that nothing changes: the recap says changed=0 and the simulator logs zero writes. Whatever
happens, it stops what it started. Exit status 0 only when both runs passed and the second changed nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The repository (for the test helpers) and the collection path `make collection-path` links (for what they import).
sys.path[:0] = [str(ROOT), str(ROOT / ".tmp" / "collections")]

from tests.integration.adconnect import FAST, INVENTORY, configure  # noqa: E402
from tests.integration.harness import BIN, HERE, PlaybookRun, Simulator, playbook_env, start_simulator  # noqa: E402
from tests.integration.samba import SambaDC, start_copy  # noqa: E402

JOINER = "BenW@contoso.com"
# A real Entra Connect cycle takes minutes and Entra licenses a group in seconds; the demo keeps both short.
LICENSE_PROCESSING_DELAY = 1.0


def say(text: str = "") -> None:
    print(text, flush=True)


def configure_adconnect(simulator: Simulator, dc: SambaDC) -> None:
    """The simulated Entra Connect server imports from the DC, within the story's OU=Entra."""
    configure(simulator, dc, sync_scope=[dc.sync_ou], **FAST)
    simulator.admin("PUT", "/config", {"license_processing_delay": LICENSE_PROCESSING_DELAY})


def bootstrap(simulator: Simulator, dc: SambaDC, workdir: Path, label: str) -> PlaybookRun:
    """One run of playbooks/bootstrap.yml; the whole output goes to a log file next to the report."""
    command = [
        str(BIN / "ansible-playbook"),
        "-i",
        str(workdir / "inventory.ini"),
        str(ROOT / "playbooks" / "bootstrap.yml"),
        "-e",
        json.dumps({"group_licensing_onprem_path": dc.licensing_ou, "license_report_dir": str(workdir / "report"), "adsync_poll_interval": 0.5}),
    ]
    env = playbook_env(simulator, {**dc.env, "ANSIBLE_CONNECTION_PLUGINS": str(HERE / "connection_plugins")})
    started = time.monotonic()
    completed = subprocess.run(command, env=env, capture_output=True, text=True, cwd=str(ROOT), check=False)
    run = PlaybookRun(completed.returncode, completed.stdout + completed.stderr, command)
    (workdir / f"{label}.log").write_text(run.output)
    say(f"  {recap_line(run)}   ({time.monotonic() - started:.1f} s, full output: {workdir / f'{label}.log'})")
    if run.rc:
        say(run.output[-4000:])
    return run


def recap_line(run: PlaybookRun) -> str:
    counts = run.recap()
    return "recap: " + " ".join(f"{key}={counts.get(key, 0)}" for key in ("ok", "changed", "failed", "skipped"))


def summary(report_file: Path) -> None:
    """Groups and their state, the joiner's paths and the seats, from the report's JSON (what the tenant said)."""
    report: dict[str, Any] = json.loads(report_file.read_text())
    say("  Groups:")
    for group in report["groups"]:
        products = ", ".join(f"{lic['name']} ({len(lic['enabledPlanNames'])} plan(s) on)" for lic in group["licenses"])
        state = (group.get("licenseProcessingState") or {}).get("state")
        source = "synced from AD" if group.get("onPremisesSyncEnabled") else "cloud"
        errors = "members in error" if group.get("hasMembersWithLicenseErrors") else "no errors"
        say(f"    {group['displayName']:<28} {source:<15} {state:<20} {errors:<17} {products}")
    say(f"  Assignment paths of {JOINER}:")
    for user in report["users"]:
        if user["userPrincipalName"].lower() == JOINER.lower():
            for license_ in user["licenses"]:
                for path in license_["paths"]:
                    via = "direct" if path["direct"] else f"group {path['group_name']}"
                    say(f"    {license_['name']} via {via}: {path['state']} ({len(path['enabledPlanNames'])} plan(s) on)")
    say("  Seats:")
    for sku in report["skus"]:
        units = sku["prepaidUnits"]
        say(f"    {sku['name']:<28} {sku['consumedUnits']} of {units['enabled']} used, {sku['available']} available")


def demo(workdir: Path) -> int:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / "inventory.ini").write_text(INVENTORY)
    started = time.monotonic()
    say("Starting the tenant simulator (seed article) and a Samba AD DC ...")
    simulator = start_simulator(workdir / "simulator", seed="article")
    dc = None
    try:
        dc = start_copy(workdir / "samba")
        configure_adconnect(simulator, dc)
        say(f"  simulator {simulator.ready['graph_endpoint']}, domain controller {dc.ip} ({dc.realm}), in {time.monotonic() - started:.1f} s")

        say("\nansible-playbook playbooks/bootstrap.yml: groups in AD with a joiner, one sync, licenses, verification, report")
        first = bootstrap(simulator, dc, workdir, "bootstrap-1")
        if first.rc:
            return 1
        summary(workdir / "report" / "license-report.json")
        say(f"  Report: {workdir / 'report' / 'license-report.html'} (and license-assignments.csv, license-report.json)")

        say("\nansible-playbook playbooks/bootstrap.yml again: nothing to change")
        cursor, usn = simulator.cursor(), dc.highest_usn()
        second = bootstrap(simulator, dc, workdir, "bootstrap-2")
        writes, ldap_writes = simulator.writes_since(cursor), dc.highest_usn() - usn
        say(f"  simulator: {writes} Graph write(s) during the second run; Active Directory: {ldap_writes} LDAP write(s)")
        unchanged = second.rc == 0 and second.recap().get("changed") == 0 and writes == 0 and ldap_writes == 0
        say(f"\n{'Idempotent' if unchanged else 'NOT idempotent'}: demo done in {time.monotonic() - started:.1f} s.")
        return 0 if unchanged else 1
    finally:
        if dc is not None:
            dc.stop()
        simulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / ".tmp" / "demo", help="where the logs, the report and the servers' state go")
    sys.exit(demo(parser.parse_args().workdir))


if __name__ == "__main__":
    main()
