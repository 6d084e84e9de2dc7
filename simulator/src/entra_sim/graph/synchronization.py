"""Entra Cloud Sync through Graph (reference 8.4): the provisioning job of the Cloud Sync service principal, and
provisionOnDemand, which upserts the seed's on-premises objects (``cloud_sync.on_prem_objects``) as synced
objects so a playbook can exercise Cloud Sync with no Active Directory."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from flask import Blueprint, Response, request

from entra_sim import odata
from entra_sim.graph.common import context_url, graph_json, json_body, no_content, operation, sim
from entra_sim.graph.query import eventual
from entra_sim.model import errors
from entra_sim.model.tenant import utc_now

bp = Blueprint("synchronization", __name__)

PROVISION_LIMIT = 5
PROVISION_WINDOW = 10.0
RESULT_CONTEXT = "https://syncfabric.windowsazure.com/api/$metadata#microsoft.synchronization.stringKeyStringValuePair"


def _job(sp_id: str, job_id: str | None = None) -> dict[str, Any]:
    sync = sim().tenant.cloud_sync
    if not sync or sp_id.lower() != sync["service_principal_id"]:
        raise errors.not_found(sp_id)
    if job_id is not None and job_id != sync["job_id"]:
        raise errors.not_found(job_id)
    return sync


def _principal(sync: dict[str, Any]) -> dict[str, Any]:
    """The Cloud Sync configuration's service principal, named after the AD domain it syncs."""
    sp_id = sync["service_principal_id"]
    app_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"cloud-sync/{sp_id}"))
    name = sync.get("service_principal_name") or "Cloud Sync"
    return {"id": sp_id, "appId": app_id, "displayName": name, "appDisplayName": name, "accountEnabled": True,
            "servicePrincipalType": "Application", "servicePrincipalNames": [app_id],
            "tags": ["WindowsAzureActiveDirectoryIntegratedApp"]}


def _selected(obj: dict[str, Any]) -> dict[str, Any]:
    text = request.args.get("$select")
    if not text:
        return obj
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in obj:
            raise sim().config.error("unknown_property", name=name, type="servicePrincipal")
    return {name: obj[name] for name in names}


@bp.get("/servicePrincipals")
@operation("service_principals.read")
def list_service_principals() -> Response:
    """Only the Cloud Sync service principal is modelled; $filter on id, appId, displayName, servicePrincipalType."""
    sync = sim().tenant.cloud_sync
    principals = [_principal(sync)] if sync else []
    if request.args.get("$filter"):
        try:
            query = odata.parse_filter(request.args["$filter"])
            query.validate("servicePrincipal", eventual() and request.args.get("$count", "").lower() == "true")
        except odata.ODataError as exc:
            raise errors.GraphError(400, exc.code, exc.message) from exc
        principals = [p for p in principals if query.matches(p)]
    return graph_json({"@odata.context": context_url("servicePrincipals"), "value": [_selected(p) for p in principals]})


@bp.get("/servicePrincipals/<sp_id>")
@operation("service_principals.read")
def get_service_principal(sp_id: str) -> Response:
    sync = _job(sp_id)
    return graph_json({"@odata.context": context_url("servicePrincipals/$entity"), **_selected(_principal(sync))})


def _render(sync: dict[str, Any]) -> dict[str, Any]:
    state = sync["state"]
    return {
        "id": sync["job_id"],
        "templateId": "AD2AADProvisioning",
        "schedule": {"expiration": None, "interval": "PT2M", "state": "Active" if state["code"] == "Active"
                     else "Paused"},
        "status": {
            "code": state["code"], "countSuccessiveCompleteFailures": 0, "escrowsPruned": False,
            "lastExecution": state["lastExecution"], "lastSuccessfulExecution": state["lastExecution"],
            "lastSuccessfulExecutionWithExports": state["lastExecution"], "progress": [], "quarantine": None,
            "steadyStateFirstAchievedTime": "0001-01-01T00:00:00Z", "steadyStateLastAchievedTime":
                "0001-01-01T00:00:00Z", "synchronizedEntryCountByType": [], "troubleshootingUrl": None,
        },
        "synchronizationJobSettings": [],
    }


def _ran(sync: dict[str, Any], code: str = "Active") -> None:
    now = utc_now()
    sync["state"] = {"code": code, "lastExecution": {
        "activityIdentifier": None, "countEntitled": 0, "countEntitledForProvisioning": 0, "countEscrowed": 0,
        "countEscrowedRaw": 0, "countExported": 0, "countExports": 0, "countImported": 0, "countImportedDeltas": 0,
        "countImportedReferenceDeltas": 0, "error": None, "state": "Succeeded", "timeBegan": now, "timeEnded": now}}


@bp.get("/servicePrincipals/<sp_id>/synchronization/jobs")
@operation("synchronization.read")
def list_jobs(sp_id: str) -> Response:
    sync = _job(sp_id)
    fragment = f"servicePrincipals('{sync['service_principal_id']}')/synchronization/jobs"
    return graph_json({"@odata.context": context_url(fragment), "value": [_render(sync)]})


@bp.get("/servicePrincipals/<sp_id>/synchronization/jobs/<job_id>")
@operation("synchronization.read")
def get_job(sp_id: str, job_id: str) -> Response:
    sync = _job(sp_id, job_id)
    fragment = f"servicePrincipals('{sync['service_principal_id']}')/synchronization/jobs/$entity"
    return graph_json({"@odata.context": context_url(fragment), **_render(sync)})


@bp.get("/servicePrincipals/<sp_id>/synchronization/jobs/<job_id>/schema")
@operation("synchronization.read")
def get_schema(sp_id: str, job_id: str) -> Response:
    """[U] names: one rule, Active Directory to Entra ID, provisioning users and groups."""
    sync = _job(sp_id, job_id)
    fragment = f"servicePrincipals('{sync['service_principal_id']}')/synchronization/jobs('{job_id}')/schema/$entity"
    mappings = [{"name": f"Provision Active Directory {kind}s", "enabled": True, "flowTypes": "Add, Update, Delete",
                 "sourceObjectName": kind.lower(), "targetObjectName": kind} for kind in ("User", "Group")]
    return graph_json({
        "@odata.context": context_url(fragment), "id": job_id, "version": "Date:2025-01-06T08:00:00Z",
        "synchronizationRules": [{
            "id": sync.get("rule_id"), "name": "USER_GROUP_ACTIVEDIRECTORY_TO_AAD", "editable": True,
            "sourceDirectoryName": "Active Directory", "targetDirectoryName": "Azure Active Directory",
            "objectMappings": mappings,
        }],
        "directories": [{"name": "Active Directory"}, {"name": "Azure Active Directory"}],
    })


@bp.post("/servicePrincipals/<sp_id>/synchronization/jobs/<job_id>/start")
@bp.post("/servicePrincipals/<sp_id>/synchronization/jobs/<job_id>/restart")
@operation("synchronization.write")
def start_job(sp_id: str, job_id: str) -> Response:
    """start resumes a paused job and clears quarantine; restart also takes an optional reset criteria body."""
    _ran(_job(sp_id, job_id))
    return no_content()


@bp.post("/servicePrincipals/<sp_id>/synchronization/jobs/<job_id>/pause")
@operation("synchronization.write")
def pause_job(sp_id: str, job_id: str) -> Response:
    sync = _job(sp_id, job_id)
    sync["state"] = {**sync["state"], "code": "Paused"}
    return no_content()


@bp.post("/servicePrincipals/<sp_id>/synchronization/jobs/<job_id>/provisionOnDemand")
@operation("synchronization.write")
def provision_on_demand(sp_id: str, job_id: str) -> Response:
    sync = _job(sp_id, job_id)
    _rate_limit()
    body = json_body()
    parameters = body.get("parameters")
    config = sim().config
    if not isinstance(parameters, list) or not parameters or not isinstance(parameters[0], dict):
        raise config.error("property_required", name="parameters", resource="synchronizationJobApplicationParameters")
    subjects = parameters[0].get("subjects")
    if not isinstance(subjects, list) or not subjects:
        raise config.error("property_required", name="subjects", resource="synchronizationJobApplicationParameters")
    for subject in subjects:
        _provision(sync, subject)
    _ran(sync, sync["state"]["code"])
    return graph_json({"@odata.context": RESULT_CONTEXT,
                       "key": json.dumps({"result": "Success", "details": {}}), "value": "{}"})


def _rate_limit() -> None:
    """Reference 4/8.4: provisionOnDemand is limited to 5 requests per 10 seconds."""
    calls = sim().provision_calls
    now = time.monotonic()
    while calls and calls[0] <= now - PROVISION_WINDOW:
        calls.popleft()
    if len(calls) >= PROVISION_LIMIT:
        retry = max(1, int(PROVISION_WINDOW - (now - calls[0])) + 1)
        raise errors.GraphError(429, "TooManyRequests", errors.THROTTLED, headers={"Retry-After": str(retry)})
    calls.append(now)


def _on_prem(sync: dict[str, Any], object_id: Any, kind: str) -> dict[str, Any]:
    found = sync["on_prem_objects"].get(str(object_id).lower())
    if found is None or found["objectTypeName"] != kind:
        raise sim().config.error("provision_unknown_object", id=object_id)
    return found


def _provision(sync: dict[str, Any], subject: Any) -> None:
    """Upsert a subject (and a group subject's linked members) as objects synced from on premises."""
    if not isinstance(subject, dict):
        raise sim().config.error("provision_unknown_object", id=subject)
    tenant = sim().tenant
    kind = str(subject.get("objectTypeName", "")).lower()
    source = _on_prem(sync, subject.get("objectId"), kind)
    if kind == "user":
        tenant.upsert_synced_user(source["properties"])
        return
    links = (subject.get("links") or {}).get("members") or []
    for link in links:
        member = _on_prem(sync, link.get("objectId") if isinstance(link, dict) else link, "user")
        tenant.upsert_synced_user(member["properties"])
    anchors = {sync["on_prem_objects"][m.lower()]["properties"]["onPremisesImmutableId"]
               for m in source["members"] if m.lower() in sync["on_prem_objects"]}
    member_ids = [u["id"] for u in tenant.users.values() if u["onPremisesImmutableId"] in anchors]
    tenant.upsert_synced_group(source["properties"], member_ids)
