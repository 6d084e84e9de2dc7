#!/usr/bin/python
# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloud_sync_provision
short_description: Provision an on-premises group (or user) to Microsoft Entra ID now with Entra Cloud Sync
version_added: 0.1.0
description:
  - For tenants that sync Active Directory with Microsoft Entra Cloud Sync (the lightweight provisioning agent) rather
    than Entra Connect Sync. Provisions one on-premises group, with up to five members per request, or one user, on
    demand through Microsoft Graph (C(provisionOnDemand)), instead of waiting for the job's next run. With Entra
    Connect Sync use M(entra.licensing.adsync_cycle) instead.
  - The Cloud Sync configuration is a service principal named after the AD domain it syncs, found by O(service_principal)
    (name or object id); its provisioning job by O(job) (job id, or template id such as C(AD2AADProvisioning)); the
    synchronization rule by O(rule_id) or, when not given, from the job's schema.
  - Graph answers with a key and a value that are JSON documents inside strings; both are parsed, so the result
    (C(Success), C(Skipped) when source and target already match) and the provisioning steps are data the playbook
    can test.
  - Microsoft limits provisionOnDemand to 5 requests per 10 seconds; throttled requests (429) are sent again after
    C(Retry-After), within O(retry_timeout).
  - O(start=true) starts the job when it is not running (paused, in quarantine, or never run), which is what Graph's
    C(start) action is for; a job already active is left alone, as Microsoft asks.
options:
  service_principal:
    description:
      - The Cloud Sync configuration's service principal, by object id or exact display name (the AD domain name,
        for example C(corp.contoso.com)).
      - By name it is looked up in C(/servicePrincipals), which needs C(Application.Read.All); give the id to avoid
        that permission.
    type: str
    required: true
  job:
    description:
      - The provisioning job, by id (C(AD2AADProvisioning.0123abcd....)) or template id.
    type: str
    default: AD2AADProvisioning
  object:
    description:
      - The on-premises object to provision, as the provisioning service identifies it (for Active Directory, its
        distinguished name).
      - Without it the module only starts the job (O(start=true)).
    type: str
  object_type:
    description:
      - What O(object) is.
    type: str
    choices: [group, user]
    default: group
  members:
    description:
      - Members of the group to provision with it, as the provisioning service identifies them (distinguished
        names). Five are sent per request, as the Entra admin center does; more make more requests.
      - Only with O(object_type=group).
    type: list
    elements: str
    default: []
  rule_id:
    description:
      - The synchronization rule to apply. When not given, the job's schema is read and its rule that provisions
        O(object_type) objects is used.
    type: str
  start:
    description:
      - Start the job when its status is not C(Active).
    type: bool
    default: false
extends_documentation_fragment:
  - entra.licensing.graph_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the service principal, the job and its schema, sends no provisionOnDemand and no start, and
        reports what it would do.
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - Needs the Microsoft Graph application permission C(Synchronization.ReadWrite.All) (Microsoft lists
    C(Application.ReadWrite.OwnedBy) as least privileged, for service principals the app owns), plus
    C(Application.Read.All) to find the service principal by name.
  - The task reports a change when a request provisioned something (a result other than C(Skipped)) or the job was
    started.
seealso:
  - module: entra.licensing.adsync_cycle
  - module: entra.licensing.synced_object_wait
  - module: entra.licensing.group_license
author:
  - entra.licensing contributors (@entra-licensing)
"""

EXAMPLES = r"""
- name: Bring the licensing group and two joiners to Entra ID now
  entra.licensing.cloud_sync_provision:
    service_principal: corp.contoso.com
    object: CN=O365_Licenses_E3_Base,OU=Licensing,OU=Entra,DC=corp,DC=contoso,DC=com
    members:
      - CN=Ben Walters,OU=Users,OU=Entra,DC=corp,DC=contoso,DC=com
      - CN=Christie Cline,OU=Users,OU=Entra,DC=corp,DC=contoso,DC=com
  register: provisioned

- name: Wait for the group in Entra ID and take its id
  entra.licensing.synced_object_wait:
    groups: [O365_Licenses_E3_Base]
  register: synced

- name: Resume a paused Cloud Sync job
  entra.licensing.cloud_sync_provision:
    service_principal: 6c1c2f4e-5b7a-4d8e-9f01-23456789abcd
    job: AD2AADProvisioning
    start: true
"""

RETURN = r"""
service_principal_id:
  description: The object id of the Cloud Sync configuration's service principal.
  returned: always
  type: str
  sample: 6c1c2f4e-5b7a-4d8e-9f01-23456789abcd
job_id:
  description: The provisioning job's id.
  returned: always
  type: str
  sample: AD2AADProvisioning.2d2f61d8f3c04bd29bf5a5d6e3d4c2b1.6c1c2f4e-5b7a-4d8e-9f01-23456789abcd
job_status:
  description: The job's status code before the task (C(Active), C(Paused), C(Quarantine), C(NotRun), ...).
  returned: always
  type: str
  sample: Active
rule_id:
  description: The synchronization rule applied.
  returned: when O(object) is given
  type: str
  sample: 33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2
provisioning:
  description:
    - One entry per provisionOnDemand request, with Graph's key and value parsed from their JSON strings.
    - Empty in check mode.
  returned: when O(object) is given
  type: list
  elements: dict
  contains:
    members:
      description: The members sent with this request.
      type: list
      elements: str
    result:
      description: The outcome, C(Success), C(Skipped) or a failure.
      type: str
    details:
      description: The key's C(details) (error code and message when skipped or failed).
      type: dict
    value:
      description: The parsed value (provisioning steps, modified properties), or the raw string when it is not JSON.
      type: raw
  sample:
    - members: [CN=Ben Walters,OU=Users,OU=Entra,DC=corp,DC=contoso,DC=com]
      result: Success
      details: {}
      value: {}
started:
  description: Whether the job was started (or, in check mode, would be).
  returned: always
  type: bool
  sample: false
"""

import json
from typing import Any
from urllib.parse import quote as url_quote

from ansible_collections.entra.licensing.plugins.module_utils.client import GraphClient
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.module import GraphModule
from ansible_collections.entra.licensing.plugins.module_utils.odata import is_guid, quote

MEMBERS_PER_REQUEST = 5
SUCCESS = "Success"
SKIPPED = "Skipped"


def find_service_principal(client: GraphClient, reference: str) -> str:
    """The service principal's id, by id or by exact display name (several of the same name are an error)."""
    if is_guid(reference):
        return client.get(f"/servicePrincipals/{reference.strip().lower()}", params={"$select": "id"})["id"]
    params = {"$filter": f"displayName eq {quote(reference)}", "$select": "id,displayName"}
    found = list(client.iterate("/servicePrincipals", params=params))
    if len(found) != 1:
        listed = ", ".join(sp["id"] for sp in found)
        raise GraphError(
            f"{len(found)} service principals are named '{reference}'{': ' + listed if listed else ''}; "
            "give the Cloud Sync configuration's service principal id"
        )
    return found[0]["id"]


def find_job(client: GraphClient, sp_id: str, reference: str) -> dict[str, Any]:
    """The job by id or by template id; a template with several jobs is an error listing them."""
    jobs = list(client.iterate(f"/servicePrincipals/{sp_id}/synchronization/jobs"))
    by_id = [job for job in jobs if job["id"].lower() == reference.lower()]
    matches = by_id or [job for job in jobs if (job.get("templateId") or "").lower() == reference.lower()]
    if len(matches) != 1:
        listed = ", ".join(f"{job['id']} ({job.get('templateId')})" for job in jobs) or "none"
        raise GraphError(f"{'Several jobs match' if matches else 'No job matches'} '{reference}' on service principal {sp_id}; its jobs: {listed}")
    return matches[0]


def job_path(sp_id: str, job_id: str) -> str:
    return f"/servicePrincipals/{sp_id}/synchronization/jobs/{url_quote(job_id, safe='')}"


def find_rule(client: GraphClient, sp_id: str, job_id: str, object_type: str) -> str:
    """The schema's rule that provisions ``object_type`` objects (the only rule, on a Cloud Sync job)."""
    rules = client.get(f"{job_path(sp_id, job_id)}/schema").get("synchronizationRules") or []
    fitting = [
        rule
        for rule in rules
        if any((m.get("sourceObjectName") or "").lower() == object_type and m.get("enabled", True) for m in rule.get("objectMappings") or [])
    ]
    if not fitting:
        raise GraphError(f"The schema of job {job_id} has no synchronization rule provisioning {object_type} objects; give rule_id")
    return fitting[0]["id"]


def requests_for(object_type: str, members: list[str]) -> list[list[str]]:
    """The members sent with each request: all at once up to five, else in fives (a user is one request)."""
    if object_type == "user" or not members:
        return [[]]
    return [members[start : start + MEMBERS_PER_REQUEST] for start in range(0, len(members), MEMBERS_PER_REQUEST)]


def parse_json_string(text: Any) -> Any:
    """key and value of stringKeyStringValuePair are JSON documents inside strings; the raw text when they are not."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def subject_for(object_id: str, object_type: str, members: list[str]) -> dict[str, Any]:
    subject: dict[str, Any] = {"objectId": object_id, "objectTypeName": object_type.capitalize()}
    if members:
        subject["links"] = {"members": [{"objectId": member, "objectTypeName": "User"} for member in members]}
    return subject


def provision(client: GraphClient, path: str, rule_id: str, subject: dict[str, Any]) -> dict[str, Any]:
    """One provisionOnDemand request to the job at ``path``; its parsed result."""
    answer = client.post(f"{path}/provisionOnDemand", {"parameters": [{"ruleId": rule_id, "subjects": [subject]}]}) or {}
    key = parse_json_string(answer.get("key"))
    outcome = key if isinstance(key, dict) else {"result": key}
    members = [link["objectId"] for link in (subject.get("links") or {}).get("members", [])]
    return {"members": members, "result": outcome.get("result"), "details": outcome.get("details") or {}, "value": parse_json_string(answer.get("value"))}


def ensure_provisioned(client: GraphClient, path: str, rule_id: str, params: dict[str, Any], check_mode: bool) -> tuple[list[dict[str, Any]], bool]:
    """Send the requests (none in check mode); the parsed results and whether anything was provisioned."""
    if check_mode:
        return [], True
    results = [
        provision(client, path, rule_id, subject_for(params["object"], params["object_type"], batch))
        for batch in requests_for(params["object_type"], params["members"])
    ]
    return results, any(result["result"] != SKIPPED for result in results)


def ensure_started(client: GraphClient, sp_id: str, job: dict[str, Any], check_mode: bool) -> bool:
    if ((job.get("status") or {}).get("code")) == "Active":
        return False
    if not check_mode:
        client.post(f"{job_path(sp_id, job['id'])}/start")
    return True


def main() -> None:
    module = GraphModule(
        argument_spec=dict(
            service_principal=dict(type="str", required=True),
            job=dict(type="str", default="AD2AADProvisioning"),
            object=dict(type="str"),
            object_type=dict(type="str", default="group", choices=["group", "user"]),
            members=dict(type="list", elements="str", default=[]),
            rule_id=dict(type="str"),
            start=dict(type="bool", default=False),
        ),
        required_one_of=[("object", "start")],
        supports_check_mode=True,
    )
    params = module.params
    if params["members"] and params["object_type"] != "group":
        module.fail_json(msg="members can only be given with object_type=group")
    if params["members"] and not params["object"]:
        module.fail_json(msg="members need the group they belong to in object")
    result: dict[str, Any] = {"changed": False, "started": False}
    try:
        client = module.client()
        sp_id = result["service_principal_id"] = find_service_principal(client, params["service_principal"])
        job = find_job(client, sp_id, params["job"])
        result.update(job_id=job["id"], job_status=(job.get("status") or {}).get("code"))
        if params["object"]:
            rule_id = result["rule_id"] = params["rule_id"] or find_rule(client, sp_id, job["id"], params["object_type"])
            result["provisioning"], provisioned = ensure_provisioned(client, job_path(sp_id, job["id"]), rule_id, params, module.check_mode)
            result["changed"] = provisioned
        if params["start"]:
            result["started"] = ensure_started(client, sp_id, job, module.check_mode)
            result["changed"] = result["changed"] or result["started"]
        if module.check_mode and result["changed"]:
            planned = []
            if params["object"]:
                count = len(requests_for(params["object_type"], params["members"]))
                planned.append(f"provision {params['object_type']} {params['object']} with {len(params['members'])} member(s) in {count} request(s)")
            if result["started"]:
                planned.append(f"start job {job['id']} (status {result['job_status']})")
            result["msg"] = "check mode: would " + " and ".join(planned)
    except GraphError as error:
        module.fail_graph_error(error, **result)
    failed = [entry for entry in result.get("provisioning", []) if entry["result"] not in (SUCCESS, SKIPPED)]
    if failed:
        details = failed[0]["details"]
        module.fail_json(msg=f"provisionOnDemand of {params['object']} ended with {failed[0]['result']}: {details.get('errorMessage') or details}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
