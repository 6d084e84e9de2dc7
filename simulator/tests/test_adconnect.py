"""The simulated Entra Connect server: scheduler, busy answers, cycles and their run history, delta against full
imports, exports to the tenant (and the licence engine's reaction), deletions, staging mode, export errors.

The AD connector reads an in-memory directory here (same interface as ``entra_sim.ad_directory.Directory``, with
USNs and tombstones), so every case is fast and exact; tests/integration/test_hybrid.py runs the same model against
a real Samba domain controller.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import uuid
from typing import Any

import pytest
from conftest import E3, Graph

from entra_sim import adconnect
from entra_sim.ad_directory import ADObject, DirectoryError, DirectorySettings, in_scope, normalize_dn
from entra_sim.testing import admin

BASE = "DC=corp,DC=contoso,DC=test"
SCOPE = f"OU=Entra,{BASE}"
USERS_OU = f"OU=Users,{SCOPE}"
LICENSING_OU = f"OU=Licensing,{SCOPE}"
OUTSIDE = f"OU=Elsewhere,{BASE}"
AD, AAD = "corp.contoso.test", "contoso.onmicrosoft.com - AAD"
SECURITY_GLOBAL, DISTRIBUTION_GLOBAL = -2147483646, 2
FAST = {"step_seconds": 0.01, "gap_seconds": 0.01}


class FakeAD:
    """A directory with update sequence numbers: every write takes the next USN, deletes leave tombstones."""

    def __init__(self) -> None:
        self.usn = 1000
        self.objects: dict[str, dict[str, Any]] = {}
        self.tombstones: list[tuple[str, int]] = []
        self.down = False
        self.rid = 1100

    def _next(self) -> int:
        self.usn += 1
        return self.usn

    def add(self, kind: str, cn: str, ou: str, **values: Any) -> str:
        guid = str(uuid.uuid4())
        self.rid += 1
        sam = values.pop("sam", cn.replace(" ", ""))
        base = {"sAMAccountName": sam, "cn": cn, "objectSid": f"S-1-5-21-1-2-3-{self.rid}", "member": ()}
        if kind == "user":
            base.update(userPrincipalName=f"{sam}@contoso.com", displayName=cn, userAccountControl="512")
        else:
            base.update(groupType=str(SECURITY_GLOBAL))
        base.update(values)
        self.objects[guid] = {"kind": kind, "dn": f"CN={cn},{ou}", "values": base, "usn": self._next()}
        return guid

    def modify(self, guid: str, **values: Any) -> None:
        self.objects[guid]["values"].update(values)
        self.objects[guid]["usn"] = self._next()

    def add_member(self, group: str, member: str) -> None:
        members = set(self.objects[group]["values"]["member"]) | {normalize_dn(self.objects[member]["dn"])}
        self.modify(group, member=tuple(sorted(members)))

    def move(self, guid: str, ou: str) -> None:
        obj = self.objects[guid]
        obj["dn"] = f"{obj['dn'].split(',', 1)[0]},{ou}"
        obj["usn"] = self._next()

    def delete(self, guid: str) -> None:
        del self.objects[guid]
        self.tombstones.append((guid, self._next()))

    def sid(self, guid: str) -> str:
        return self.objects[guid]["values"]["objectSid"]

    def to_object(self, guid: str) -> ADObject:
        obj = self.objects[guid]
        values = {k: v for k, v in obj["values"].items() if obj["kind"] == "group" or k != "member"}
        return ADObject(guid, obj["kind"], obj["dn"], values, base64.b64encode(uuid.UUID(guid).bytes_le).decode(),
                        obj["usn"])


class FakeDirectory:
    """ad_directory.Directory's interface over a FakeAD."""

    def __init__(self, ad: FakeAD, settings: DirectorySettings) -> None:
        self.ad = ad
        self.settings = settings

    def __enter__(self) -> FakeDirectory:
        if self.ad.down:
            raise DirectoryError(f"cannot connect to {self.settings.server}: [Errno 111] Connection refused")
        return self

    def __exit__(self, *exc_info: Any) -> None:
        return None

    def highest_usn(self) -> int:
        return self.ad.usn

    def netbios_name(self) -> str:
        return "CORP"

    def read_scope(self) -> list[ADObject]:
        return [self.ad.to_object(g) for g, o in self.ad.objects.items() if in_scope(o["dn"], self.settings.scope)]

    def read_changes(self, since: int) -> tuple[list[ADObject], list[str]]:
        changed = [self.ad.to_object(g) for g, o in self.ad.objects.items() if o["usn"] > since]
        return changed, [g for g, usn in self.ad.tombstones if usn > since]


@pytest.fixture
def ad(ready, monkeypatch) -> FakeAD:
    directory = FakeAD()
    monkeypatch.setattr(adconnect, "Directory", lambda settings: FakeDirectory(directory, settings))
    configure(ready, server="dc1.corp.contoso.test", base_dn=BASE, bind_dn="svc-sync@corp.contoso.test",
              bind_password="secret", sync_scope=[SCOPE], **FAST)
    return directory


def configure(ready: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return admin(ready, "PUT", "/adconnect/config", settings)


def cycle(ready: dict[str, Any], policy: str = "Delta") -> dict[str, list[dict[str, Any]]]:
    """Run a cycle to its end; its runs by (connector, profile)."""
    before = len(admin(ready, "GET", "/adconnect/run-profile-results"))
    assert admin(ready, "POST", "/adconnect/sync-cycle", {"policy_type": policy, "wait": True}) == {"Result": "Success"}
    runs = admin(ready, "GET", "/adconnect/run-profile-results")
    return {(r["ConnectorName"], r["RunProfileName"]): r for r in runs[: len(runs) - before]}


def counters(run: dict[str, Any], *names: str) -> dict[str, int]:
    step = run["RunStepResults"][0]
    return {name: step[name] for name in names if step[name]}


def refused(ready: dict[str, Any], path: str, body: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(urllib.error.HTTPError) as raised:
        admin(ready, "POST", path, body)
    assert raised.value.code == 409
    return json.loads(raised.value.read())["exception"]


def wait_until(condition, what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError(f"never saw {what}")


def started(ready: dict[str, Any]) -> bool:
    """Start a cycle and wait for its end; False while the engine answers busy."""
    try:
        admin(ready, "POST", "/adconnect/sync-cycle", {"wait": True})
    except urllib.error.HTTPError as exc:
        assert exc.code == 409
        return False
    return True


def synced(graph: Graph, kind: str, sam: str, select: str = "id,displayName,onPremisesSyncEnabled") -> list[dict]:
    response = graph.get(f"/{kind}?$filter=onPremisesSamAccountName eq '{sam}'&$select={select}&$count=true",
                         headers={"ConsistencyLevel": "eventual"})
    assert response.status_code == 200, response.text
    return response.json()["value"]


def test_a_fresh_server_is_idle_and_its_first_cycle_is_initial(ready):
    scheduler = admin(ready, "GET", "/adconnect/scheduler")
    assert scheduler["SyncCycleInProgress"] is False
    assert scheduler["StagingModeEnabled"] is False
    assert scheduler["NextSyncCyclePolicyType"] == "Initial"
    assert scheduler["AllowedSyncCycleInterval"] == "00:30:00"
    assert len(scheduler["NextSyncCycleStartTimeInUTC"]) == 28 and scheduler["NextSyncCycleStartTimeInUTC"][-1] == "Z"
    assert admin(ready, "GET", "/adconnect/connector-run-status") == []
    state = admin(ready, "GET", "/adconnect")
    assert [c["name"] for c in state["connectors"]] == [AD, AAD]


def test_without_a_directory_the_import_cannot_start(ready):
    configure(ready, **FAST)
    runs = cycle(ready)
    assert runs[(AD, "Delta Import")]["Result"] == "no-start-connection"
    [error] = runs[(AD, "Delta Import")]["RunStepResults"][0]["SyncErrors"]["SyncErrorsList"]
    assert "PUT /_admin/adconnect/config" in error["ErrorType"]


def test_an_unreachable_directory_is_no_start_connection(ready, ad):
    ad.down = True
    run = cycle(ready)[(AD, "Delta Import")]
    assert run["Result"] == "no-start-connection" and run["IsRunComplete"] is True


def test_a_delta_cycle_exports_users_security_groups_and_their_synced_members(ready, ad, graph):
    ben = ad.add("user", "Ben Walters", USERS_OU, sam="BenW", givenName="Ben", sn="Walters", department="Sales", c="gb")
    irvin = ad.add("user", "Irvin Sayers", USERS_OU, sam="IrvinS")
    outsider = ad.add("user", "Olga Outside", OUTSIDE, sam="OlgaO")
    base = ad.add("group", "O365_Licenses_E3_Base", LICENSING_OU, description="E3, every plan")
    ad.add("group", "Newsletter", LICENSING_OU, groupType=str(DISTRIBUTION_GLOBAL))
    for member in (ben, irvin, outsider):
        ad.add_member(base, member)

    runs = cycle(ready)
    assert list(runs) == [(AD, "Export"), (AAD, "Export"), (AAD, "Delta Synchronization"),
                          (AD, "Delta Synchronization"), (AAD, "Delta Import"), (AD, "Delta Import")]
    assert all(r["Result"] == "success" and r["IsRunComplete"] for r in runs.values())
    assert counters(runs[(AD, "Delta Import")], "StageAdd", "StageUpdate", "StageNoChange") == {"StageAdd": 4}
    assert counters(runs[(AD, "Delta Synchronization")], "DisconnectorProjectedFlow", "DisconnectorFiltered") == {
        "DisconnectorProjectedFlow": 3, "DisconnectorFiltered": 1}
    assert runs[(AAD, "Delta Synchronization")]["PendingExports"] == {"add": 3, "update": 0, "delete": 0}
    assert counters(runs[(AAD, "Export")], "ExportAdd", "ExportUpdate", "ExportFailure") == {"ExportAdd": 3}
    assert counters(runs[(AD, "Export")], *adconnect.EXPORT_COUNTERS) == {}

    [group] = synced(graph, "groups", "O365_Licenses_E3_Base",
                     "id,displayName,description,onPremisesSyncEnabled,onPremisesSecurityIdentifier,"
                     "onPremisesDomainName,onPremisesNetBiosName,onPremisesLastSyncDateTime,securityEnabled")
    assert group["onPremisesSyncEnabled"] is True and group["securityEnabled"] is True
    assert group["onPremisesSecurityIdentifier"] == ad.sid(base)
    assert (group["onPremisesDomainName"], group["onPremisesNetBiosName"]) == ("corp.contoso.test", "CORP")
    assert group["description"] == "E3, every plan" and group["onPremisesLastSyncDateTime"]
    [user] = synced(graph, "users", "BenW", "id,userPrincipalName,usageLocation,onPremisesImmutableId,"
                    "onPremisesSecurityIdentifier,onPremisesDistinguishedName,givenName,department")
    assert user["userPrincipalName"] == "BenW@contoso.com" and user["usageLocation"] == "GB"
    assert user["onPremisesImmutableId"] == base64.b64encode(uuid.UUID(ben).bytes_le).decode()
    assert user["onPremisesDistinguishedName"] == f"CN=Ben Walters,{USERS_OU}"
    assert synced(graph, "users", "OlgaO") == [] and synced(graph, "groups", "Newsletter") == []
    members = graph.get(f"/groups/{group['id']}/members?$select=userPrincipalName").json()["value"]
    assert sorted(m["userPrincipalName"] for m in members) == ["BenW@contoso.com", "IrvinS@contoso.com"]
    assert admin(ready, "GET", "/adconnect/scheduler")["NextSyncCyclePolicyType"] == "Delta"
    # Cloud writes to the synced group stay refused.
    assert graph.patch(f"/groups/{group['id']}", {"description": "x"}).status_code == 400


def test_delta_reads_only_changes_and_initial_reads_everything(ready, ad):
    guids = [ad.add("user", f"User {n}", USERS_OU, sam=f"user{n}") for n in range(5)]
    cycle(ready)
    ad.modify(guids[2], department="Finance")
    runs = cycle(ready)
    assert counters(runs[(AD, "Delta Import")], *adconnect.STAGE_COUNTERS) == {"StageUpdate": 1}
    assert counters(runs[(AAD, "Export")], *adconnect.EXPORT_COUNTERS) == {"ExportUpdate": 1}
    assert counters(runs[(AAD, "Delta Import")], *adconnect.STAGE_COUNTERS) == {"StageAdd": 5}  # confirms the adds

    quiet = cycle(ready)
    assert counters(quiet[(AD, "Delta Import")], *adconnect.STAGE_COUNTERS) == {}
    assert counters(quiet[(AAD, "Export")], *adconnect.EXPORT_COUNTERS) == {}

    full = cycle(ready, "Initial")
    assert list(full)[-1] == (AD, "Full Import")
    assert counters(full[(AD, "Full Import")], *adconnect.STAGE_COUNTERS) == {"StageNoChange": 5}
    assert counters(full[(AD, "Full Synchronization")], "ConnectorNoFlow") == {"ConnectorNoFlow": 5}
    assert counters(full[(AAD, "Export")], *adconnect.EXPORT_COUNTERS) == {}


def test_a_scope_change_needs_a_full_import(ready, ad, graph):
    ad.add("user", "Ben Walters", USERS_OU, sam="BenW")
    ad.add("user", "Olga Outside", OUTSIDE, sam="OlgaO")
    cycle(ready)
    configure(ready, sync_scope=[SCOPE, OUTSIDE])
    delta = cycle(ready)
    assert counters(delta[(AD, "Delta Import")], *adconnect.STAGE_COUNTERS) == {}
    assert synced(graph, "users", "OlgaO") == []
    full = cycle(ready, "Initial")
    assert counters(full[(AD, "Full Import")], *adconnect.STAGE_COUNTERS) == {"StageAdd": 1, "StageNoChange": 1}
    assert counters(full[(AAD, "Export")], *adconnect.EXPORT_COUNTERS) == {"ExportAdd": 1}
    assert len(synced(graph, "users", "OlgaO")) == 1


def test_deletes_and_moves_out_of_scope_flow_to_entra(ready, ad, graph):
    ben = ad.add("user", "Ben Walters", USERS_OU, sam="BenW")
    irvin = ad.add("user", "Irvin Sayers", USERS_OU, sam="IrvinS")
    group = ad.add("group", "O365_Licenses_E3_Exchange", LICENSING_OU)
    ad.add_member(group, ben)
    ad.add_member(group, irvin)
    cycle(ready)
    entra_group = synced(graph, "groups", "O365_Licenses_E3_Exchange")[0]["id"]

    ad.delete(ben)
    ad.move(irvin, OUTSIDE)
    runs = cycle(ready)
    assert counters(runs[(AD, "Delta Import")], *adconnect.STAGE_COUNTERS) == {"StageDelete": 2}
    assert counters(runs[(AAD, "Export")], *adconnect.EXPORT_COUNTERS) == {"ExportUpdate": 1, "ExportDelete": 2}
    assert synced(graph, "users", "BenW") == [] and synced(graph, "users", "IrvinS") == []
    assert graph.get(f"/groups/{entra_group}/members").json()["value"] == []

    ad.delete(group)
    runs = cycle(ready)
    assert counters(runs[(AAD, "Export")], *adconnect.EXPORT_COUNTERS) == {"ExportDelete": 1}
    assert graph.get(f"/groups/{entra_group}").status_code == 404


def test_initial_compares_with_the_previous_import_to_find_deletions(ready, ad, graph):
    ben = ad.add("user", "Ben Walters", USERS_OU, sam="BenW")
    cycle(ready)
    del ad.objects[ben]  # gone without a tombstone the delta import could read
    assert counters(cycle(ready)[(AD, "Delta Import")], *adconnect.STAGE_COUNTERS) == {}
    full = cycle(ready, "Initial")
    assert counters(full[(AD, "Full Import")], *adconnect.STAGE_COUNTERS) == {"StageDelete": 1}
    assert counters(full[(AAD, "Export")], *adconnect.EXPORT_COUNTERS) == {"ExportDelete": 1}
    assert synced(graph, "users", "BenW") == []


def test_a_member_added_on_premises_gets_the_synced_groups_licence(ready, ad, graph, settle):
    ben = ad.add("user", "Ben Walters", USERS_OU, sam="BenW")
    christie = ad.add("user", "Christie Cline", USERS_OU, sam="ChristieC")
    group = ad.add("group", "O365_Licenses_E3_Base", LICENSING_OU)
    ad.add_member(group, ben)
    cycle(ready)
    group_id = synced(graph, "groups", "O365_Licenses_E3_Base")[0]["id"]
    response = graph.post(f"/groups/{group_id}/assignLicense", {"addLicenses": [{"skuId": E3, "disabledPlans": []}],
                                                                "removeLicenses": []})
    assert response.status_code == 202, response.text
    settle()
    christie_id = synced(graph, "users", "ChristieC")[0]["id"]
    assert graph.user(christie_id)["assignedLicenses"] == []

    ad.add_member(group, christie)
    runs = cycle(ready)
    assert counters(runs[(AAD, "Export")], *adconnect.EXPORT_COUNTERS) == {"ExportUpdate": 1}
    settle()
    states = graph.user(christie_id)["licenseAssignmentStates"]
    assert [(s["skuId"], s["assignedByGroup"], s["state"]) for s in states] == [(E3, group_id, "Active")]

    ad.delete(christie)
    cycle(ready)
    settle()
    assert synced(graph, "users", "ChristieC") == []
    assert admin(ready, "GET", "/state")["licensing"]["consumed"][E3] == 2  # Megan (direct) and Ben


def test_a_licensed_group_deleted_on_premises_is_an_export_error_until_unlicensed(ready, ad, graph, settle):
    group = ad.add("group", "O365_Licenses_E3_Base", LICENSING_OU)
    cycle(ready)
    group_id = synced(graph, "groups", "O365_Licenses_E3_Base")[0]["id"]
    graph.post(f"/groups/{group_id}/assignLicense",
               {"addLicenses": [{"skuId": E3, "disabledPlans": []}], "removeLicenses": []})
    ad.delete(group)
    runs = cycle(ready)
    export = runs[(AAD, "Export")]
    assert export["Result"] == "completed-export-errors"
    assert counters(export, *adconnect.EXPORT_COUNTERS) == {"ExportFailure": 1}
    assert export["RunStepResults"][0]["SyncErrors"]["SyncErrorsList"] == [
        {"ObjectDn": f"CN=O365_Licenses_E3_Base,{LICENSING_OU}", "ErrorType": adconnect.LICENSED_GROUP_DELETE}]
    assert graph.get(f"/groups/{group_id}").status_code == 200
    graph.post(f"/groups/{group_id}/assignLicense", {"addLicenses": [], "removeLicenses": [E3]})
    settle()
    assert counters(cycle(ready)[(AAD, "Export")], *adconnect.EXPORT_COUNTERS) == {"ExportDelete": 1}


def test_a_upn_held_by_a_cloud_user_is_an_export_error_and_does_not_churn_the_group(ready, ad, graph):
    clash = ad.add("user", "Adele Vance", USERS_OU, sam="AdeleV", userPrincipalName="AdeleV@contoso.onmicrosoft.com")
    group = ad.add("group", "O365_Licenses_E3_Base", LICENSING_OU)
    ad.add_member(group, clash)
    first = cycle(ready)[(AAD, "Export")]
    assert counters(first, "ExportAdd", "ExportFailure") == {"ExportAdd": 1, "ExportFailure": 1}
    assert first["RunStepResults"][0]["SyncErrors"]["SyncErrorsList"][0]["ErrorType"] == "AttributeValueMustBeUnique"
    second = cycle(ready)[(AAD, "Export")]
    assert counters(second, *adconnect.EXPORT_COUNTERS) == {"ExportFailure": 1}


def test_a_running_cycle_makes_start_busy_and_the_run_status_empties_between_steps(ready, ad):
    configure(ready, step_seconds=0.3, gap_seconds=0.3)
    assert admin(ready, "POST", "/adconnect/sync-cycle", {}) == {"Result": "Success"}
    busy = wait_until(lambda: admin(ready, "GET", "/adconnect/connector-run-status"), "a busy connector")
    assert busy == [{"RunState": "Busy", "ConnectorName": AD}]
    assert admin(ready, "GET", "/adconnect/scheduler")["SyncCycleInProgress"] is True
    error = refused(ready, "/adconnect/sync-cycle", {"policy_type": "Delta"})
    assert error["message"].startswith("System.InvalidOperationException: Sync is already running. Cannot start a "
                                       "new run till this one completes.")
    assert error["type"] == "System.InvalidOperationException"
    assert error["fully_qualified_error_id"].endswith(f",{adconnect.START_CMDLET}")
    wait_until(lambda: admin(ready, "GET", "/adconnect/scheduler")["SyncCycleInProgress"]
               and not admin(ready, "GET", "/adconnect/connector-run-status"), "the engine between two steps")
    in_progress = admin(ready, "GET", "/adconnect/run-profile-results?number_requested=1")
    assert len(in_progress) == 1
    admin(ready, "POST", "/adconnect/stop")
    wait_until(lambda: not admin(ready, "GET", "/adconnect/scheduler")["SyncCycleInProgress"], "the stop")


def test_a_connector_running_alone_is_busy_by_name(ready, ad):
    configure(ready, step_seconds=5)
    admin(ready, "POST", "/adconnect/run-profile", {"connector": AAD, "run_profile": "Delta Import"})
    error = refused(ready, "/adconnect/sync-cycle", {"policy_type": "Delta"})
    assert error["message"].startswith(f"System.InvalidOperationException: Connector: {AAD} is busy.")
    assert admin(ready, "GET", "/adconnect/scheduler")["SyncCycleInProgress"] is False
    assert admin(ready, "GET", "/adconnect/connector-run-status") == [{"RunState": "Busy", "ConnectorName": AAD}]
    admin(ready, "POST", "/adconnect/stop")
    run = wait_until(lambda: [r for r in admin(ready, "GET", "/adconnect/run-profile-results") if r["IsRunComplete"]],
                     "the stopped run")[0]
    assert run["Result"] == "stopped-user-termination-from-wmi-or-ui" and run["EndDate"]


def test_a_stopped_cycle_runs_no_further_step(ready, ad):
    configure(ready, step_seconds=5)
    admin(ready, "POST", "/adconnect/sync-cycle", {"policy_type": "Initial"})
    wait_until(lambda: admin(ready, "GET", "/adconnect/connector-run-status"), "the first step")
    admin(ready, "POST", "/adconnect/stop")
    wait_until(lambda: not admin(ready, "GET", "/adconnect/scheduler")["SyncCycleInProgress"], "the stop")
    runs = admin(ready, "GET", "/adconnect/run-profile-results")
    assert [(r["RunProfileName"], r["Result"]) for r in runs] == [("Full Import", adconnect.STOPPED)]


def test_staging_mode_imports_and_synchronizes_but_exports_nothing(ready, ad, graph):
    ad.add("user", "Ben Walters", USERS_OU, sam="BenW")
    configure(ready, staging_mode=True)
    assert admin(ready, "GET", "/adconnect/scheduler")["StagingModeEnabled"] is True
    runs = cycle(ready)
    assert [profile for _, profile in runs] == ["Delta Synchronization", "Delta Synchronization", "Delta Import",
                                                "Delta Import"]
    assert runs[(AAD, "Delta Synchronization")]["PendingExports"] == {"add": 1, "update": 0, "delete": 0}
    assert synced(graph, "users", "BenW") == []
    assert admin(ready, "GET", "/adconnect")["connectors"][1]["pending_exports"][0]["action"] == "add"
    configure(ready, staging_mode=False)
    assert counters(cycle(ready)[(AAD, "Export")], "ExportAdd") == {"ExportAdd": 1}


def test_a_queued_cycle_is_busy_before_it_shows_in_progress(ready, ad):
    configure(ready, start_delay=5)
    admin(ready, "POST", "/adconnect/sync-cycle", {})
    assert admin(ready, "GET", "/adconnect/scheduler")["SyncCycleInProgress"] is False
    assert "Sync is already running" in refused(ready, "/adconnect/sync-cycle", {})["message"]
    admin(ready, "POST", "/adconnect/stop")
    configure(ready, start_delay=0)
    wait_until(lambda: started(ready), "the stopped cycle to leave the queue")
    # The stopped cycle left no run; the next one, with no policy given, is the scheduler's next type: Initial.
    assert admin(ready, "GET", "/adconnect/run-profile-results")[-1]["RunProfileName"] == "Full Import"


def test_a_reset_ends_a_running_cycle_and_forgets_everything(ready, ad):
    configure(ready, step_seconds=5)
    admin(ready, "POST", "/adconnect/sync-cycle", {})
    wait_until(lambda: admin(ready, "GET", "/adconnect/connector-run-status"), "the first step")
    admin(ready, "POST", "/seed", {"seed": "article"})
    state = admin(ready, "GET", "/adconnect")
    assert state["run_history"] == [] and state["scheduler"]["SyncCycleInProgress"] is False
    assert state["config"]["server"] is None and state["config"]["step_seconds"] == 1.0


def test_settings_are_validated_and_the_password_is_not_shown(ready):
    config = configure(ready, server="dc1", bind_password="secret", sync_scope=[SCOPE])
    assert config["bind_password"] == "********" and config["sync_scope"] == [SCOPE]
    for bad in ({"nope": 1}, {"step_seconds": -1}, {"staging_mode": "yes"}, {"sync_scope": "OU=x"},
                {"encryption": "none"}, {"port": 70000}):
        with pytest.raises(urllib.error.HTTPError) as raised:
            admin(ready, "PUT", "/adconnect/config", bad)
        assert raised.value.code == 400
    assert admin(ready, "GET", "/adconnect")["config"]["server"] == "dc1"


def test_a_seed_can_carry_the_settings(ready):
    from entra_sim.seeds import load_seed

    seed = load_seed("article")
    seed["adconnect"] = {"forest": "corp.fabrikam.test", "staging_mode": True, "base_dn": BASE}
    admin(ready, "POST", "/seed", seed)
    state = admin(ready, "GET", "/adconnect")
    assert state["connectors"][0]["name"] == "corp.fabrikam.test"
    assert state["scheduler"]["StagingModeEnabled"] is True
    admin(ready, "POST", "/reset")
    assert admin(ready, "GET", "/adconnect")["scheduler"]["StagingModeEnabled"] is True
    seed["adconnect"] = {"step_seconds": "slow"}
    with pytest.raises(urllib.error.HTTPError) as raised:
        admin(ready, "POST", "/seed", seed)
    assert raised.value.code == 400
