"""Groups through Graph: create rules, the 201 body, lists and query options, updates, deletes, members."""

from __future__ import annotations

import re

import pytest
from conftest import ADELE, ALEX, FINANCE_ONPREM, IT_ADMINS, NESTOR, SALES_DYNAMIC, error_of

from entra_sim.model.schema import GROUP_DEFAULT
from entra_sim.testing import admin

SECURITY = {"mailEnabled": False, "securityEnabled": True}
ALREADY = "One or more added object references already exist for the following modified properties: 'members'."
ON_PREM = ("Unable to update the specified properties for on-premises mastered Directory Sync objects or objects "
           "currently undergoing migration.")
NOT_FOUND = "Resource '{}' does not exist or one of its queried reference-property objects are not present."


def user_url(graph, user_id: str) -> str:
    return f"{graph.base}/v1.0/users/{user_id}"


def test_create_security_group_returns_201_with_the_documented_default_properties(graph):
    response = graph.post("/groups", {"displayName": "O365_Licenses_E3_Base", "mailNickname": "O365_Licenses_E3_Base",
                                      "description": "E3 without Exchange", "groupTypes": [], **SECURITY})
    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["@odata.context", "@odata.id", *GROUP_DEFAULT]
    assert body["@odata.context"] == f"{graph.base}/v1.0/$metadata#groups/$entity"
    assert body["@odata.id"] == (f"{graph.base}/v2/{graph.ready['tenant_id']}/directoryObjects/{body['id']}/"
                                 "Microsoft.DirectoryServices.Group")
    assert body["securityEnabled"] is True and body["mail"] is None and body["proxyAddresses"] == []
    assert re.fullmatch(r"S-1-12-1-\d+-\d+-\d+-\d+", body["securityIdentifier"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["createdDateTime"])
    assert graph.get(f"/groups/{body['id']}").json()["displayName"] == "O365_Licenses_E3_Base"


def test_create_microsoft_365_group_gets_a_mail_address(graph):
    body = graph.post("/groups", {"displayName": "Team", "mailNickname": "team", "groupTypes": ["Unified"],
                                  "mailEnabled": True, "securityEnabled": False}).json()
    assert body["mail"] == "team@contoso.onmicrosoft.com" and body["visibility"] == "Public"


@pytest.mark.parametrize("missing", ["displayName", "mailEnabled", "mailNickname", "securityEnabled"])
def test_create_without_a_required_property_is_refused(graph, missing):
    body = {"displayName": "x", "mailNickname": "x", **SECURITY}
    del body[missing]
    assert error_of(graph.post("/groups", body)) == (
        400, "Request_BadRequest", f"A value is required for property '{missing}' of resource 'Group'.")


@pytest.mark.parametrize(("name", "value"), [
    ("displayName", "x" * 257), ("displayName", "  "), ("mailNickname", "a b"), ("mailNickname", "a@b"),
    ("mailNickname", "a.b"), ("mailNickname", "a;b"), ("mailNickname", "caf\u00e9"), ("mailNickname", "x" * 65),
    ("groupTypes", ["Security"]), ("mailEnabled", "false"),
])
def test_create_with_an_invalid_property_value_is_refused(graph, name, value):
    body = {"displayName": "ok", "mailNickname": "ok", **SECURITY, name: value}
    assert error_of(graph.post("/groups", body)) == (
        400, "Request_BadRequest", f"Invalid value specified for property '{name}' of resource 'Group'.")


def test_display_name_of_256_characters_and_a_64_character_nickname_are_accepted(graph):
    assert graph.post("/groups", {"displayName": "x" * 256, "mailNickname": "n" * 64, **SECURITY}).status_code == 201


@pytest.mark.parametrize("kind", [
    {"mailEnabled": True, "securityEnabled": True},
    {"mailEnabled": False, "securityEnabled": False},
    {"mailEnabled": False, "securityEnabled": True, "groupTypes": ["Unified"]},
])
def test_only_microsoft_365_and_security_groups_can_be_created(graph, kind):
    status, code, _ = error_of(graph.post("/groups", {"displayName": "x", "mailNickname": "x", **kind}))
    assert (status, code) == (400, "Request_BadRequest")


def test_dynamic_group_needs_a_rule_and_a_processing_state(graph):
    body = {"displayName": "Dyn", "mailNickname": "dyn", "groupTypes": ["DynamicMembership"], **SECURITY}
    assert error_of(graph.post("/groups", body))[2] == (
        "A value is required for property 'membershipRule' of resource 'Group'.")
    body["membershipRule"] = '(user.department -eq "IT")'
    assert error_of(graph.post("/groups", body))[2] == (
        "A value is required for property 'membershipRuleProcessingState' of resource 'Group'.")
    body["membershipRuleProcessingState"] = "On"
    assert graph.post("/groups", body).status_code == 201


def test_dynamic_group_with_an_invalid_rule_is_refused(graph):
    body = {"displayName": "Dyn", "mailNickname": "dyn", "groupTypes": ["DynamicMembership"], **SECURITY,
            "membershipRule": "(user.department -eq)", "membershipRuleProcessingState": "On"}
    assert error_of(graph.post("/groups", body)) == (
        400, "Request_BadRequest", "One or more property values specified are invalid.")


def test_create_binds_members_and_owners_up_to_20_links(graph):
    users = [u["id"] for u in graph.get("/users?$select=id").json()["value"]]
    assert len(users) == 14
    body = {"displayName": "Bound", "mailNickname": "bound", **SECURITY,
            "members@odata.bind": [user_url(graph, u) for u in users],
            "owners@odata.bind": [user_url(graph, u) for u in users[:6]]}
    group = graph.post("/groups", body)
    assert group.status_code == 201
    members = graph.get(f"/groups/{group.json()['id']}/members?$select=id").json()["value"]
    assert [m["id"] for m in members] == users
    body["members@odata.bind"].append(f"{graph.base}/v1.0/groups/{IT_ADMINS}")
    assert error_of(graph.post("/groups", body)) == (400, "Request_BadRequest",
                                                     "A resource cannot contain more than 20 link changes")


def test_create_binding_an_unknown_object_returns_404_and_creates_nothing(graph):
    missing = "a1000000-0000-4000-8000-000000009999"
    body = {"displayName": "Nope", "mailNickname": "nope", **SECURITY, "members@odata.bind": [user_url(graph, missing)]}
    assert error_of(graph.post("/groups", body)) == (404, "Request_ResourceNotFound", NOT_FOUND.format(missing))
    assert graph.get("/groups?$filter=displayName eq 'Nope'").json()["value"] == []


def test_get_unknown_or_malformed_group_ids(graph):
    missing = "b2000000-0000-4000-8000-000000009999"
    assert error_of(graph.get(f"/groups/{missing}")) == (404, "Request_ResourceNotFound", NOT_FOUND.format(missing))
    assert error_of(graph.get("/groups/not-a-guid")) == (400, "Request_BadRequest",
                                                         "Invalid object identifier 'not-a-guid'.")


def test_list_filter_and_select_return_licence_properties_only_when_selected(graph):
    by_name = graph.get("/groups?$filter=displayName eq 'IT Admins'").json()["value"]
    assert [g["id"] for g in by_name] == [IT_ADMINS]
    assert "assignedLicenses" not in by_name[0] and "licenseProcessingState" not in by_name[0]
    selected = graph.get("/groups?$filter=startswith(displayName,'IT')"
                         "&$select=id,assignedLicenses,licenseProcessingState,hasMembersWithLicenseErrors").json()
    assert selected["value"] == [{"id": IT_ADMINS, "assignedLicenses": [], "licenseProcessingState": None}]
    assert selected["@odata.context"].endswith(
        "$metadata#groups(id,assignedLicenses,licenseProcessingState,hasMembersWithLicenseErrors)")


def test_count_is_honoured_only_with_consistency_level_eventual(graph):
    assert "@odata.count" not in graph.get("/groups?$count=true").json()
    counted = graph.get("/groups?$count=true", headers={"ConsistencyLevel": "eventual"}).json()
    assert counted["@odata.count"] == 3 == len(counted["value"])


def test_count_segment_needs_consistency_level_eventual(graph):
    assert error_of(graph.get("/groups/$count")) == (400, "Request_BadRequest", "$count is not currently supported.")
    response = graph.get("/groups/$count?$filter=securityEnabled eq true", headers={"ConsistencyLevel": "eventual"})
    assert response.status_code == 200 and response.text == "3" and response.headers["Content-Type"].startswith(
        "text/plain")


def test_negation_needs_the_advanced_query_parameters(graph):
    status, code, message = error_of(graph.get("/groups?$filter=displayName ne 'IT Admins'"))
    assert (status, code) == (400, "Request_UnsupportedQuery") and message.startswith("Operator 'ne' is not supported")
    advanced = graph.get("/groups?$filter=displayName ne 'IT Admins'&$count=true",
                         headers={"ConsistencyLevel": "eventual"}).json()
    assert advanced["@odata.count"] == 2


def test_search_needs_consistency_level_eventual(graph):
    assert error_of(graph.get('/groups?$search="displayName:sales"')) == (
        400, "Request_UnsupportedQuery", "Request with $search query parameter only works through MSGraph with a "
        "special request header: 'ConsistencyLevel: eventual'")
    found = graph.get('/groups?$search="displayName:dyn"', headers={"ConsistencyLevel": "eventual"}).json()["value"]
    assert [g["id"] for g in found] == [SALES_DYNAMIC]


def test_paging_follows_opaque_skiptoken_next_links_until_the_last_page(graph):
    for n in range(7):
        graph.create_group(f"Paged {n}")
    pages, ids = 0, []
    url = "/groups?$top=4&$select=id&$filter=startswith(displayName,'Paged')"
    while url:
        body = graph.get(url).json()
        pages += 1
        ids += [g["id"] for g in body["value"]]
        assert len(body["value"]) in (4, 3)
        url = body.get("@odata.nextLink")
        if url:
            assert url.startswith(f"{graph.base}/v1.0/groups?") and "$skiptoken=" in url and "$top=4" in url
    assert pages == 2 and len(set(ids)) == 7


def test_top_over_999_and_bad_skiptokens_are_refused(graph):
    assert error_of(graph.get("/groups?$top=1000")) == (
        400, "Request_BadRequest", "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.")
    assert graph.get("/groups?$top=999").status_code == 200
    assert error_of(graph.get("/groups?$skiptoken=garbage"))[0] == 400
    assert error_of(graph.get("/groups?$skip=1"))[2] == "'$skip' is not supported by the service."


def test_patch_updates_properties_and_returns_204(graph):
    assert graph.patch(f"/groups/{IT_ADMINS}", {"description": "Updated"}).status_code == 204
    assert graph.get(f"/groups/{IT_ADMINS}?$select=description").json()["description"] == "Updated"


def test_patch_member_binds_are_all_or_nothing(graph):
    group = graph.create_group("Atomic")
    missing = "a1000000-0000-4000-8000-000000009999"
    bad = {"members@odata.bind": [user_url(graph, ADELE), user_url(graph, missing)]}
    assert error_of(graph.patch(f"/groups/{group['id']}", bad))[0] == 404
    assert graph.get(f"/groups/{group['id']}/members").json()["value"] == []
    good = {"members@odata.bind": [user_url(graph, ADELE), user_url(graph, ALEX)]}
    assert graph.patch(f"/groups/{group['id']}", good).status_code == 204
    again = {"members@odata.bind": [user_url(graph, ALEX), user_url(graph, NESTOR)]}
    assert error_of(graph.patch(f"/groups/{group['id']}", again)) == (400, "Request_BadRequest", ALREADY)
    members = graph.get(f"/groups/{group['id']}/members?$select=id").json()["value"]
    assert [m["id"] for m in members] == [ADELE, ALEX]
    too_many = {"members@odata.bind": [user_url(graph, ADELE)] * 21}
    assert error_of(graph.patch(f"/groups/{group['id']}", too_many))[2] == (
        "A resource cannot contain more than 20 link changes")


def test_add_member_by_ref_then_again_returns_the_documented_400(graph):
    group = graph.create_group("Refs")
    assert graph.add_member(group["id"], ADELE).status_code == 204
    assert error_of(graph.add_member(group["id"], ADELE)) == (400, "Request_BadRequest", ALREADY)


def test_add_unknown_member_returns_404(graph):
    group = graph.create_group("Refs")
    missing = "a1000000-0000-4000-8000-000000009999"
    assert error_of(graph.add_member(group["id"], missing)) == (
        404, "Request_ResourceNotFound", NOT_FOUND.format(missing))


def test_remove_member_and_removing_a_non_member_returns_404(graph):
    group = graph.create_group("Refs")
    graph.add_member(group["id"], ADELE)
    assert graph.delete(f"/groups/{group['id']}/members/{ADELE}/$ref").status_code == 204
    assert error_of(graph.delete(f"/groups/{group['id']}/members/{ADELE}/$ref")) == (
        404, "Request_ResourceNotFound", NOT_FOUND.format(ADELE))
    assert error_of(graph.delete(f"/groups/{group['id']}/members/bad-id/$ref")) == (
        400, "Request_UnsupportedQuery", "Unsupported referenced-object resource identifier for link property "
        "'members'.")


def test_member_writes_to_a_dynamic_group_are_refused_with_the_configurable_error(ready, graph):
    assert error_of(graph.add_member(SALES_DYNAMIC, ADELE)) == (
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    admin(ready, "PUT", "/config", {"errors": {"dynamic_group_member_write": {
        "status": 400, "code": "Request_BadRequest", "message": "Dynamic group."}}})
    assert error_of(graph.delete(f"/groups/{SALES_DYNAMIC}/members/{ADELE}/$ref")) == (
        400, "Request_BadRequest", "Dynamic group.")


def test_writes_to_a_synced_group_are_refused_with_the_on_premises_text(graph):
    expected = (400, "Request_BadRequest", ON_PREM)
    assert error_of(graph.add_member(FINANCE_ONPREM, ADELE)) == expected
    assert error_of(graph.delete(f"/groups/{FINANCE_ONPREM}/members/{NESTOR}/$ref")) == expected
    assert error_of(graph.patch(f"/groups/{FINANCE_ONPREM}", {"description": "x"})) == expected
    assert error_of(graph.delete(f"/groups/{FINANCE_ONPREM}")) == expected


def test_delete_group_returns_204_then_404(graph):
    group = graph.create_group("Doomed")
    graph.add_member(group["id"], ADELE)
    assert graph.delete(f"/groups/{group['id']}").status_code == 204
    assert graph.get(f"/groups/{group['id']}").status_code == 404
    member_of = graph.get(f"/users/{ADELE}/memberOf?$select=id").json()["value"]
    assert [g["id"] for g in member_of] == [SALES_DYNAMIC]


def test_members_list_types_each_object_and_the_cast_keeps_users_only(graph):
    group = graph.create_group("Mixed")
    graph.add_member(group["id"], ADELE)
    graph.add_member(group["id"], IT_ADMINS)
    members = graph.get(f"/groups/{group['id']}/members?$select=id,displayName").json()
    assert [(m["@odata.type"], m["id"]) for m in members["value"]] == [
        ("#microsoft.graph.user", ADELE), ("#microsoft.graph.group", IT_ADMINS)]
    users = graph.get(f"/groups/{group['id']}/members/microsoft.graph.user?$select=id").json()
    assert users["value"] == [{"id": ADELE}]
    count = graph.get(f"/groups/{group['id']}/members/$count", headers={"ConsistencyLevel": "eventual"})
    assert count.text == "2"
    transitive = graph.get(f"/groups/{group['id']}/transitiveMembers?$select=id").json()["value"]
    assert {m["id"] for m in transitive} == {ADELE, IT_ADMINS, "a1000000-0000-4000-8000-000000000006",
                                             "a1000000-0000-4000-8000-000000000007"}


def test_graph_responses_carry_request_ids_and_the_error_envelope(graph):
    response = graph.get("/groups/b2000000-0000-4000-8000-000000009999", headers={"client-request-id": "abc-123"})
    assert response.headers["client-request-id"] == "abc-123"
    assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["request-id"])
    assert "x-ms-ags-diagnostic" in response.headers and response.headers["x-ms-resource-unit"] == "1"
    inner = response.json()["error"]["innerError"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", inner["date"])
    assert inner["request-id"] == response.headers["request-id"] and inner["client-request-id"] == "abc-123"


def test_unknown_routes_and_methods_answer_in_graph_style(graph):
    status, code, message = error_of(graph.get("/nonsense"))
    assert (status, code, message) == (404, "BadRequest", "Resource not found for the segment 'nonsense'.")
    assert error_of(graph.request("PUT", f"/groups/{IT_ADMINS}", json={}))[0] == 405
