# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloud_sync_provision's pieces with Graph's documented shapes: job and rule lookup, requests of five members,
the JSON-in-string answer of provisionOnDemand."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.modules.cloud_sync_provision import (
    find_job,
    find_rule,
    find_service_principal,
    provision,
    requests_for,
    subject_for,
)

SP = "4e116d82-dd59-4944-824d-93091408fd8d"
JOB = "AD2AADProvisioning.0b4a3d2b1c0f4e5d9a8b7c6d5e4f3a2b.4e116d82-dd59-4944-824d-93091408fd8d"
# Microsoft's example answer for a user provisioned from Active Directory by Cloud Sync (shortened).
ANSWER = {
    "@odata.context": "https://syncfabric.windowsazure.com/api/$metadata#microsoft.synchronization.stringKeyStringValuePair",
    "key": '{"result":"Success","details":{}}',
    "value": '{"provisioningSteps":[{"name":"EntryImportAdd","type":"Import","status":"Success"}]}',
}


class FakeClient:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, Any]] = []

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        self.calls.append(("GET", path, params))
        return self.answers[path]

    def iterate(self, path: str, params: dict[str, Any] | None = None) -> Any:
        self.calls.append(("GET", path, params))
        return iter(self.answers[path])

    def post(self, path: str, body: Any = None) -> Any:
        self.calls.append(("POST", path, body))
        return self.answers.get(path)


def test_members_go_five_to_a_request_and_a_user_is_one_request():
    members = [f"CN=User {n},OU=Users,DC=corp,DC=contoso,DC=com" for n in range(12)]
    assert [len(batch) for batch in requests_for("group", members)] == [5, 5, 2]
    assert requests_for("group", []) == [[]]
    assert requests_for("user", []) == [[]]


def test_the_request_body_is_the_documented_group_with_members_shape_and_the_answer_is_parsed():
    client = FakeClient({f"/jobs/{JOB}/provisionOnDemand": ANSWER})
    subject = subject_for("CN=O365_Licenses_E3_Base,OU=Licensing,DC=corp,DC=contoso,DC=com", "group", ["CN=Ben,DC=corp"])
    result = provision(client, f"/jobs/{JOB}", "33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2", subject)
    assert client.calls[0][2] == {
        "parameters": [
            {
                "ruleId": "33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2",
                "subjects": [
                    {
                        "objectId": "CN=O365_Licenses_E3_Base,OU=Licensing,DC=corp,DC=contoso,DC=com",
                        "objectTypeName": "Group",
                        "links": {"members": [{"objectId": "CN=Ben,DC=corp", "objectTypeName": "User"}]},
                    }
                ],
            }
        ]
    }
    assert result == {
        "members": ["CN=Ben,DC=corp"],
        "result": "Success",
        "details": {},
        "value": {"provisioningSteps": [{"name": "EntryImportAdd", "type": "Import", "status": "Success"}]},
    }


def test_a_skipped_answer_keeps_its_reason_and_a_value_that_is_not_json_stays_text():
    skipped = {"key": json.dumps({"result": "Skipped", "details": {"errorCode": "RedundantExport"}}), "value": "not json"}
    result = provision(FakeClient({"/j/provisionOnDemand": skipped}), "/j", "rule", subject_for("CN=A", "user", []))
    assert (result["result"], result["details"], result["value"]) == ("Skipped", {"errorCode": "RedundantExport"}, "not json")


def test_the_service_principal_by_name_must_be_unique():
    path = "/servicePrincipals"
    assert find_service_principal(FakeClient({path: [{"id": SP, "displayName": "corp.contoso.com"}]}), "corp.contoso.com") == SP
    twins = FakeClient({path: [{"id": SP}, {"id": "5e116d82-dd59-4944-824d-93091408fd8d"}]})
    with pytest.raises(GraphError, match=r"2 service principals are named 'corp\.contoso\.com'"):
        find_service_principal(twins, "corp.contoso.com")
    client = FakeClient({path: []})
    with pytest.raises(GraphError, match="0 service principals"):
        find_service_principal(client, "o'brien.local")
    assert client.calls[0][2]["$filter"] == "displayName eq 'o''brien.local'"


def test_the_job_by_id_or_template_and_the_rule_from_the_schema():
    jobs = f"/servicePrincipals/{SP}/synchronization/jobs"
    client = FakeClient({jobs: [{"id": JOB, "templateId": "AD2AADProvisioning"}, {"id": "AD2AADPasswordHash.1", "templateId": "AD2AADPasswordHash"}]})
    assert find_job(client, SP, "ad2aadprovisioning")["id"] == JOB
    assert find_job(client, SP, JOB.upper())["id"] == JOB
    with pytest.raises(GraphError, match="No job matches 'Workday'"):
        find_job(client, SP, "Workday")
    schema = {
        "synchronizationRules": [
            {"id": "users-only", "objectMappings": [{"sourceObjectName": "user", "enabled": True}]},
            {"id": "both#V2", "objectMappings": [{"sourceObjectName": "user"}, {"sourceObjectName": "group", "enabled": True}]},
        ]
    }
    client = FakeClient({f"{jobs}/{JOB}/schema": schema})
    assert find_rule(client, SP, JOB, "group") == "both#V2"
    assert find_rule(client, SP, JOB, "user") == "users-only"
    with pytest.raises(GraphError, match="no synchronization rule provisioning group objects"):
        find_rule(FakeClient({f"{jobs}/{JOB}/schema": {"synchronizationRules": []}}), SP, JOB, "group")
