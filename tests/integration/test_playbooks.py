"""The collection's playbooks and roles against the simulated tenant, cloud side (the hybrid story is test_bootstrap.py).

Each playbook runs as users run it - check mode first, which must write nothing, then for real, then again, which
must change nothing and write nothing - and the tenant is verified through the simulator or the playbook's own
report. One run goes through ansible-runner with only the credential variables AWX injects.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .harness import BIN, ROOT, PlaybookRun, Simulator, playbook_env, run_playbook

PLAYBOOKS = ROOT / "playbooks"
BASE, EXCHANGE, SALES = "O365_Licenses_E3_Base", "O365_Licenses_E3_Exchange", "O365_Licenses_E3_Sales"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
ADELE, ALEX, MEGAN, LYNNE, DIEGO, GRADY = (
    f"{name}@contoso.onmicrosoft.com" for name in ("AdeleV", "AlexW", "MeganB", "LynneR", "DiegoS", "GradyA")
)
# The story's two groups in the cloud, and a dynamic group of the Sales department.
CLOUD_PLAN = {
    "group_licensing_groups": [
        {"name": BASE, "description": "Office 365 E3, every service plan", "members": [ADELE, ALEX], "licenses": [{"sku": "Office 365 E3"}]},
        {
            "name": EXCHANGE,
            "description": "Office 365 E3, Exchange Online (Plan 2) only",
            "members": [LYNNE, DIEGO],
            "licenses": [{"sku": "Office 365 E3", "enabled_plans": ["Exchange Online (Plan 2)"]}],
        },
        {"name": SALES, "membership": "dynamic", "rule": 'user.department -eq "Sales"', "licenses": [{"sku": "ENTERPRISEPACK"}]},
    ]
}
PLAN_PLAY = """---
- name: The tenant before the playbook under test
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Groups, members and licenses
      entra.licensing.licensing_plan:
        groups: "{{ plan }}"
"""
# The credential variables AWX's Microsoft Azure Resource Manager credential injects, plus where the simulator is.
AWX_VARIABLES = ("AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_TENANT", "ENTRA_GRAPH_ENDPOINT", "AZURE_AUTHORITY_HOST", "ENTRA_CA_BUNDLE")


def playbook(name: str, simulator: Simulator, check: bool = False, **extra_vars: Any) -> PlaybookRun:
    return run_playbook(PLAYBOOKS / f"{name}.yml", simulator, extra_vars=extra_vars or None, check=check, diff=check)


def apply_plan(simulator: Simulator, tmp_path: Path, groups: list[dict[str, Any]]) -> None:
    """Bring the tenant to a starting point with one licensing_plan task (and settle license processing)."""
    play = tmp_path / "plan.yml"
    play.write_text(PLAN_PLAY)
    run = run_playbook(play, simulator, extra_vars={"plan": groups})
    assert run.rc == 0, run.output


def group(simulator: Simulator, name: str) -> dict[str, Any]:
    [found] = [g for g in simulator.admin("GET", "/state")["tenant"]["groups"].values() if g["displayName"] == name]
    return found


def user_paths(report: dict[str, Any], upn: str) -> list[tuple[str, str, str]]:
    """(product, path, state) of a user in a license report's JSON."""
    [user] = [u for u in report["users"] if u["userPrincipalName"].lower() == upn.lower()]
    return sorted((lic["name"], "direct" if p["direct"] else p["group_name"], p["state"]) for lic in user["licenses"] for p in lic["paths"])


def runner_env(simulator: Simulator) -> dict[str, str]:
    """What AWX gives a job: the Azure credential's three variables (and the simulator's endpoints), nothing else."""
    return {
        "AZURE_CLIENT_ID": simulator.ready["client_id"],
        "AZURE_SECRET": simulator.ready["client_secret"],
        "AZURE_TENANT": simulator.ready["tenant_id"],
        "ENTRA_GRAPH_ENDPOINT": simulator.ready["graph_endpoint"],
        "AZURE_AUTHORITY_HOST": simulator.ready["authority_host"],
        "ENTRA_CA_BUNDLE": simulator.ready["ca_bundle"],
    }


def run_with_ansible_runner(simulator: Simulator, tmp_path: Path, name: str, extra_vars: dict[str, Any]) -> tuple[str, str]:
    """Run a playbook of the collection through ansible-runner the way AWX does: a private data directory with the
    project, extra vars and the credential's environment variables; the parent's Graph variables are removed."""
    private = tmp_path / "runner"
    (private / "project").mkdir(parents=True)
    (private / "env").mkdir()
    shutil.copytree(PLAYBOOKS, private / "project", dirs_exist_ok=True)
    (private / "env" / "envvars").write_text(json.dumps(runner_env(simulator)))
    (private / "env" / "extravars").write_text(json.dumps(extra_vars))
    (private / "inventory").mkdir()
    (private / "inventory" / "hosts").write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    env = {key: value for key, value in playbook_env(None).items() if not key.startswith(("AZURE_", "ENTRA_", "SIM_"))}
    completed = subprocess.run(
        [str(BIN / "ansible-runner"), "run", str(private), "-p", f"{name}.yml"], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    status = (private / "artifacts").glob("*/status")
    return next(status).read_text().strip(), completed.stdout + completed.stderr


def test_bootstrap_of_a_cloud_plan_through_awx_credentials_and_drift_check(simulator, tmp_path):
    """bootstrap.yml with a cloud-only plan (job J3), run by ansible-runner as AWX runs it; drift_check.yml around it."""
    report_dir = tmp_path / "report"
    plan = {**CLOUD_PLAN, "license_report_dir": str(report_dir)}
    cursor = simulator.cursor()
    drift = playbook("drift_check", simulator, **plan)
    assert drift.rc != 0, drift.output
    assert f"The tenant differs from the licensing plan: {BASE} (missing; members to add {ADELE}, {ALEX}; licenses to set Office 365 E3)" in drift.output
    check = playbook("bootstrap", simulator, check=True, **plan)
    assert check.rc == 0, check.output
    assert simulator.writes_since(cursor) == 0

    status, output = run_with_ansible_runner(simulator, tmp_path, "bootstrap", plan)
    assert status == "successful", output
    assert runner_env(simulator)["AZURE_SECRET"] not in output
    report = json.loads((report_dir / "license-report.json").read_text())
    states = {g["displayName"]: g["licenseProcessingState"]["state"] for g in report["groups"]}
    assert states == {BASE: "ProcessingComplete", EXCHANGE: "ProcessingComplete", SALES: "ProcessingComplete"}
    assert user_paths(report, LYNNE) == [("Office 365 E3", EXCHANGE, "Active")]
    assert user_paths(report, ADELE) == [("Office 365 E3", BASE, "Active"), ("Office 365 E3", SALES, "Active")]
    exchange = next(u for u in report["users"] if u["userPrincipalName"] == LYNNE)["licenses"][0]["paths"][0]
    assert exchange["enabledPlanNames"] == ["Exchange Online (Plan 2)"]
    assert group(simulator, SALES)["groupTypes"] == ["DynamicMembership"]

    cursor = simulator.cursor()
    again = playbook("bootstrap", simulator, **plan)
    assert again.rc == 0, again.output
    assert again.recap()["changed"] == 0, again.output
    assert simulator.writes_since(cursor) == 0
    assert playbook("drift_check", simulator, **plan).rc == 0

    lynne_leaves = tmp_path / "leave.yml"
    lynne_leaves.write_text(
        "- {name: Drift, hosts: localhost, gather_facts: false, tasks: [{name: Lynne leaves, entra.licensing.group_member: "
        f"{{group: {EXCHANGE}, members: ['{LYNNE}'], state: absent}}}}]}}\n"
    )
    assert run_playbook(lynne_leaves, simulator).rc == 0
    cursor = simulator.cursor()
    drift = playbook("drift_check", simulator, **plan)
    assert drift.rc != 0
    assert f"The tenant differs from the licensing plan: {EXCHANGE} (members to add {LYNNE})." in drift.output, drift.output
    assert simulator.writes_since(cursor) == 0


# docs/permissions.md: what bootstrap.yml needs for a plan of new cloud groups.
LEAST_PRIVILEGE = ["Organization.Read.All", "Group.Read.All", "User.Read.All", "Group.Create", "GroupMember.ReadWrite.All", "LicenseAssignment.ReadWrite.All"]


def test_the_documented_permissions_are_enough(simulator, tmp_path):
    """bootstrap.yml with an app that holds exactly the permissions docs/permissions.md lists for it, and no more."""
    seed = json.loads((ROOT / "simulator" / "src" / "entra_sim" / "seeds" / "article.json").read_text())
    app = {"name": "licensing", "client_id": "c3000000-0000-4000-8000-0000000000aa", "client_secret": "least-privilege~secret", "roles": LEAST_PRIVILEGE}
    seed["apps"].append(app)
    simulator.reset(seed)
    plan = {**CLOUD_PLAN, "license_report_dir": str(tmp_path / "report")}
    credentials = {"AZURE_CLIENT_ID": app["client_id"], "AZURE_CLIENT_SECRET": app["client_secret"]}
    run = run_playbook(PLAYBOOKS / "bootstrap.yml", simulator, extra_vars=plan, env=credentials)
    assert run.rc == 0, run.output
    refused = [entry for entry in simulator.log_since(0)["requests"] if entry.get("status") == 403]
    assert refused == []


def check_apply_again(simulator: Simulator, name: str, **extra_vars: Any) -> PlaybookRun:
    """A playbook in check mode (no write), for real, and again (changed=0, no write); returns the real run."""
    cursor = simulator.cursor()
    check = playbook(name, simulator, check=True, **extra_vars)
    assert check.rc == 0, check.output
    assert simulator.writes_since(cursor) == 0
    run = playbook(name, simulator, **extra_vars)
    assert run.rc == 0, run.output
    cursor = simulator.cursor()
    again = playbook(name, simulator, **extra_vars)
    assert again.rc == 0 and again.recap()["changed"] == 0, again.output
    assert simulator.writes_since(cursor) == 0
    return run


def test_onboard_user_joins_the_groups_and_waits_for_active_licenses(simulator, tmp_path):
    apply_plan(simulator, tmp_path, CLOUD_PLAN["group_licensing_groups"][:2])
    cursor = simulator.cursor()
    run = check_apply_again(simulator, "onboard_user", onboard_user=GRADY, onboard_groups=[BASE, EXCHANGE])
    assert f"Office 365 E3: {BASE} Active, {EXCHANGE} Active" in run.output
    assert simulator.writes_since(cursor) == 2  # one member write per group, in the real run


def test_migrate_direct_licenses_removes_only_what_the_group_covers(simulator, tmp_path):
    """Megan holds Office 365 E3 directly; she joins the base group, and only then loses the direct assignment."""
    apply_plan(simulator, tmp_path, CLOUD_PLAN["group_licensing_groups"][:1])
    run = check_apply_again(simulator, "migrate_direct_licenses", migrate_group=BASE, migrate_users=[MEGAN], migrate_skus=["Office 365 E3"])
    assert "Migrated 1 user(s) to O365_Licenses_E3_Base." in run.output
    megan = simulator.admin("GET", "/state")["tenant"]["users"]["a1000000-0000-4000-8000-000000000003"]
    assert [(state["assignedByGroup"] is None, state["state"]) for state in megan["licenseAssignmentStates"]] == [(False, "Active")]


# Names that break HTML, CSV and spreadsheets if they are not escaped.
HOSTILE_USER = '<script>alert("pwned")</script> & Ünïcødé O\'Brien 日本'
FORMULA_USER = '=HYPERLINK("http://evil.example","click")'
HOSTILE_GROUP = '<b>Licensing</b> & "Quoted" \'Group\' ü'


def hostile_seed() -> dict[str, Any]:
    seed = json.loads((ROOT / "simulator" / "src" / "entra_sim" / "seeds" / "article.json").read_text())
    seed["users"] += [
        {"userPrincipalName": "hostile@contoso.onmicrosoft.com", "displayName": HOSTILE_USER, "usageLocation": "US"},
        {"userPrincipalName": "formula@contoso.onmicrosoft.com", "displayName": FORMULA_USER, "usageLocation": "US"},
    ]
    seed["groups"].append(
        {
            "displayName": HOSTILE_GROUP,
            "mailNickname": "hostile",
            "members": ["hostile@contoso.onmicrosoft.com", "formula@contoso.onmicrosoft.com"],
            "licenses": [{"skuPartNumber": "ENTERPRISEPACK"}],
        }
    )
    # Exchange Online (Plan 1) beside E3's Exchange Online (Plan 2): a MutuallyExclusiveViolation for the Errors table.
    seed["groups"].append(
        {"displayName": "Kiosk", "mailNickname": "kiosk", "members": ["hostile@contoso.onmicrosoft.com"], "licenses": [{"skuPartNumber": "EXCHANGESTANDARD"}]}
    )
    return seed


def screenshot(html: Path, png: Path, tmp_path: Path) -> None:
    """Open the report in headless Chromium, offline, and save what it shows."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: make sysdeps installs it (Debian package chromium)"
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--window-size=1400,1900",
        f"--screenshot={png}",
    ]
    completed = subprocess.run([chromium, *flags, html.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    assert png.exists(), completed.stderr[-2000:]


def test_license_report_escapes_every_name_and_renders(simulator, tmp_path):
    simulator.reset(hostile_seed())
    simulator.admin("POST", "/settle")
    report_dir = tmp_path / "report"
    cursor = simulator.cursor()
    check = playbook("license_report", simulator, check=True, license_report_dir=str(report_dir))
    assert check.rc == 0, check.output
    assert simulator.writes_since(cursor) == 0
    again = playbook("license_report", simulator, license_report_dir=str(report_dir))
    assert again.rc == 0 and again.recap()["changed"] == 0, again.output  # same tenant, same files

    html = (report_dir / "license-report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<b>Licensing</b>" not in html
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; Ünïcødé O&#39;Brien 日本" in html
    assert "&lt;b&gt;Licensing&lt;/b&gt; &amp; &#34;Quoted&#34; &#39;Group&#39; ü" in html
    assert "http" not in html.replace("http://evil.example", "")  # nothing loaded from anywhere
    for section in ("Products and seats", "Groups with products", "Plans and processing state", "Users and assignment paths", "Errors"):
        assert f">{section}</h2>" in html
    errors = html[html.index('id="errors"'):]
    assert "MutuallyExclusiveViolation" in errors and "Group: Kiosk" in errors

    with (report_dir / "license-assignments.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = {row["displayName"] for row in rows}
    assert HOSTILE_USER in names and "'" + FORMULA_USER in names
    assert {row["group"] for row in rows if row["displayName"] == HOSTILE_USER} == {HOSTILE_GROUP, "Kiosk"}
    data = json.loads((report_dir / "license-report.json").read_text(encoding="utf-8"))
    assert HOSTILE_GROUP in {g["displayName"] for g in data["groups"]}

    png = ROOT / "tests" / "output" / "license-report.png"
    screenshot(report_dir / "license-report.html", png, tmp_path)
    assert png.stat().st_size > 30_000  # a rendered page of tables, not a blank one
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("role", ["group_licensing", "adsync", "license_report"])
def test_every_role_documents_its_variables(role):
    completed = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "role", f"entra.licensing.{role}"], env=playbook_env(None), capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert "ENTRY POINT:" in completed.stdout and "main" in completed.stdout
    assert f"{role}_" in completed.stdout


def test_execution_environment_definition_builds_a_context(tmp_path):
    """docs/execution-environment.yml with the collection from a local tarball: ansible-builder create accepts it, and
    the dependencies it finds in the collection are those of requirements.txt and bindep.txt."""
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    [tarball] = tmp_path.glob("entra-licensing-*.tar.gz")
    definition = yaml.safe_load((ROOT / "docs" / "execution-environment.yml").read_text())
    definition["dependencies"]["galaxy"]["collections"] = [{"name": f"collections/{tarball.name}", "type": "file"}]
    definition["additional_build_files"] = [{"src": str(tarball), "dest": "collections"}]
    (tmp_path / "execution-environment.yml").write_text(yaml.safe_dump(definition))
    context = tmp_path / "context"
    completed = subprocess.run(
        [str(BIN / "ansible-builder"), "create", "-f", str(tmp_path / "execution-environment.yml"), "-c", str(context)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (context / "Containerfile").exists() or (context / "Dockerfile").exists()
    assert (context / "_build" / "collections" / tarball.name).exists()
    installed = tmp_path / "installed"
    # --force: the collection under test is on ANSIBLE_COLLECTIONS_PATH already, which would make install a no-op.
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--force", str(tarball), "-p", str(installed)], check=True, capture_output=True)
    introspect = subprocess.run(
        [sys.executable, str(context / "_build" / "scripts" / "introspect.py"), "introspect", str(installed)], capture_output=True, text=True, check=True
    )
    found = introspect.stdout
    for requirement in (ROOT / "requirements.txt").read_text().splitlines():
        if requirement and not requirement.startswith("#"):
            assert requirement in found
    assert "python3-devel [platform:rpm compile]" in found
    assert os.path.exists(installed / "ansible_collections" / "entra" / "licensing" / "meta" / "execution-environment.yml")
