"""Entra Cloud Sync through Graph (reference 8.4): jobs, start/restart, provisionOnDemand and its rate limit."""

from __future__ import annotations

import json

from conftest import Graph, error_of

SP = "e5000000-0000-4000-8000-000000000001"
JOB = "AD2AADProvisioning.2d2f61d8f3c04bd29bf5a5d6e3d4c2b1.e5000000-0000-4000-8000-000000000001"
JOBS = f"/servicePrincipals/{SP}/synchronization/jobs"
GROUP = "0a000000-0000-4000-8000-000000000001"
NORA, OMAR = "0a000000-0000-4000-8000-000000000002", "0a000000-0000-4000-8000-000000000003"


def provision(graph, subject_id: str = GROUP, members: tuple[str, ...] = (NORA, OMAR)):
    subject = {"objectId": subject_id, "objectTypeName": "Group",
               "links": {"members": [{"objectId": m, "objectTypeName": "User"} for m in members]}}
    return graph.post(f"{JOBS}/{JOB}/provisionOnDemand",
                      {"parameters": [{"ruleId": "33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2", "subjects": [subject]}]})


def test_jobs_list_get_start_and_restart(graph):
    jobs = graph.get(JOBS).json()["value"]
    assert [(j["id"], j["templateId"], j["status"]["code"]) for j in jobs] == [(JOB, "AD2AADProvisioning", "Active")]
    assert graph.post(f"{JOBS}/{JOB}/pause").status_code == 204
    assert graph.get(f"{JOBS}/{JOB}").json()["status"]["code"] == "Paused"
    assert graph.post(f"{JOBS}/{JOB}/start").status_code == 204
    assert graph.get(f"{JOBS}/{JOB}").json()["status"]["code"] == "Active"
    restart = graph.post(f"{JOBS}/{JOB}/restart", {"criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}})
    assert restart.status_code == 204
    assert error_of(graph.get(f"/servicePrincipals/{GROUP}/synchronization/jobs"))[0] == 404


def test_provision_on_demand_upserts_the_group_and_its_members_as_synced_objects(graph):
    response = provision(graph)
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("#microsoft.synchronization.stringKeyStringValuePair")
    assert json.loads(body["key"]) == {"result": "Success", "details": {}} and body["value"] == "{}"
    groups = graph.get("/groups?$filter=onPremisesSyncEnabled eq true&$select=id,displayName,"
                       "onPremisesSecurityIdentifier").json()["value"]
    marketing = next(g for g in groups if g["displayName"] == "SG-Marketing-OnPrem")
    assert marketing["onPremisesSecurityIdentifier"] == "S-1-5-21-1004336348-1177238915-682003330-2102"
    members = graph.get(f"/groups/{marketing['id']}/members?$select=userPrincipalName,onPremisesSyncEnabled").json()
    assert members["value"] == [
        {"@odata.type": "#microsoft.graph.user", "userPrincipalName": "NoraC@contoso.onmicrosoft.com",
         "onPremisesSyncEnabled": True},
        {"@odata.type": "#microsoft.graph.user", "userPrincipalName": "OmarH@contoso.onmicrosoft.com",
         "onPremisesSyncEnabled": True}]
    assert error_of(graph.patch(f"/groups/{marketing['id']}", {"description": "x"}))[0] == 400
    assert provision(graph).status_code == 200
    again = graph.get("/groups?$filter=displayName eq 'SG-Marketing-OnPrem'").json()["value"]
    assert len(again) == 1


def test_provision_on_demand_is_limited_to_5_calls_per_10_seconds(graph):
    for _ in range(5):
        assert provision(graph).status_code == 200
    throttled = provision(graph)
    assert error_of(throttled)[:2] == (429, "TooManyRequests") and int(throttled.headers["Retry-After"]) >= 1


def test_provisioning_an_unknown_object_is_refused(graph):
    missing = "0a000000-0000-4000-8000-000000000099"
    assert error_of(provision(graph, missing)) == (
        400, "Request_BadRequest", f"The object '{missing}' was not found in the on-premises directory.")


def test_synchronization_writes_need_a_synchronization_permission(ready):
    readonly = Graph(ready, "readonly")
    assert readonly.get(JOBS).status_code == 200
    assert error_of(readonly.post(f"{JOBS}/{JOB}/start"))[0] == 403


def test_the_cloud_sync_service_principal_is_found_by_its_domain_name(graph):
    found = graph.get("/servicePrincipals?$filter=displayName eq 'contoso.local'&$select=id,displayName")
    assert found.status_code == 200, found.text
    assert found.json()["value"] == [{"id": SP, "displayName": "contoso.local"}]
    assert graph.get("/servicePrincipals?$filter=displayName eq 'fabrikam.local'").json()["value"] == []
    assert graph.get(f"/servicePrincipals/{SP}?$select=id").json()["id"] == SP
    assert error_of(graph.get("/servicePrincipals?$filter=notes eq 'x'"))[:2] == (400, "Request_UnsupportedQuery")
    assert error_of(graph.get(f"/servicePrincipals/{GROUP}"))[0] == 404


def test_the_job_schema_names_the_rule_provision_on_demand_takes(graph):
    schema = graph.get(f"{JOBS}/{JOB}/schema").json()
    [rule] = schema["synchronizationRules"]
    assert rule["id"] == "33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2"
    assert {m["sourceObjectName"] for m in rule["objectMappings"]} == {"user", "group"}


def test_listing_service_principals_needs_an_application_read_permission(ready):
    readonly = Graph(ready, app="readonly")
    assert error_of(readonly.get("/servicePrincipals"))[:2] == (403, "Authorization_RequestDenied")
    assert readonly.get(f"{JOBS}").status_code == 200
