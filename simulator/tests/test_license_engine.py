"""The licence engine through Graph: direct and group paths, seats, conflicts, dependencies, usage location,
processing states, dynamic and synced groups (reference section 2)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import (
    ADELE,
    ALEX,
    E3,
    EXCHANGE_P1,
    EXCHANGE_S_ENTERPRISE,
    EXCHANGE_S_STANDARD,
    FINANCE_ONPREM,
    GRADY,
    ISAIAH,
    JONI,
    LEE,
    LYNNE,
    MEGAN,
    NESTOR,
    P1,
    PATTI,
    SHAREPOINTENTERPRISE,
    TEAMS1,
    Graph,
    error_of,
)

from entra_sim.seeds import builtin
from entra_sim.testing import admin


def plans_of(graph: Graph, sku: str) -> list[str]:
    skus = graph.get("/subscribedSkus").json()["value"]
    return [p["servicePlanId"] for s in skus if s["skuId"] == sku for p in s["servicePlans"]]


def consumed(graph: Graph, sku: str) -> int:
    skus = graph.get("/subscribedSkus?$select=skuId,consumedUnits").json()["value"]
    return next(s["consumedUnits"] for s in skus if s["skuId"] == sku)


def assign(graph: Graph, path: str, add: list[dict[str, Any]], remove: list[str] | None = None):
    return graph.post(f"{path}/assignLicense", {"addLicenses": add, "removeLicenses": remove or []})


def licensed_group(graph: Graph, settle, name: str, members: list[str], licenses: list[dict[str, Any]]) -> str:
    group = graph.create_group(name)
    for member in members:
        assert graph.add_member(group["id"], member).status_code == 204
    assert assign(graph, f"/groups/{group['id']}", licenses).status_code == 202
    settle()
    return group["id"]


def states(graph: Graph, user: str) -> list[tuple[str | None, str, str, str | None]]:
    """(assignedByGroup, skuId, state, error) per path."""
    return [(s["assignedByGroup"], s["skuId"], s["state"], s["error"])
            for s in graph.user(user)["licenseAssignmentStates"]]


def with_rules(ready: dict[str, Any], **changes: Any) -> None:
    seed = builtin("article")
    for key, value in changes.items():
        seed[key] = value(seed[key]) if callable(value) else value
    admin(ready, "POST", "/seed", seed)


# --- group assignment ------------------------------------------------------------------------------------------

def test_group_assign_license_answers_202_with_location_and_the_truncated_group(graph):
    group = graph.create_group("O365_Licenses_E3_Base")
    response = assign(graph, f"/groups/{group['id']}", [{"skuId": E3, "disabledPlans": [EXCHANGE_S_ENTERPRISE]}])
    assert response.status_code == 202
    assert response.headers["Location"] == (f"{graph.base}/v2/{graph.ready['tenant_id']}/directoryObjects/"
                                            f"{group['id']}/Microsoft.DirectoryServices.Group")
    assert response.json() == {"id": group["id"], "createdDateTime": group["createdDateTime"], "groupTypes": [],
                               "securityEnabled": True}
    selected = graph.get(f"/groups/{group['id']}?$select=assignedLicenses,licenseProcessingState").json()
    assert selected["assignedLicenses"] == [{"disabledPlans": [EXCHANGE_S_ENTERPRISE], "skuId": E3}]
    assert selected["licenseProcessingState"] == {"state": "QueuedForProcessing"}


def test_processing_state_goes_queued_then_in_progress_then_complete(ready, graph):
    admin(ready, "PUT", "/config", {"license_processing_delay": 0.6})
    group = graph.create_group("Timed")
    graph.add_member(group["id"], ADELE)
    assign(graph, f"/groups/{group['id']}", [{"skuId": E3}])
    seen: list[str] = []
    deadline = time.monotonic() + 10
    while not seen or seen[-1] != "ProcessingComplete":
        assert time.monotonic() < deadline
        state = graph.get(f"/groups/{group['id']}?$select=licenseProcessingState").json()["licenseProcessingState"]
        if not seen or seen[-1] != state["state"]:
            seen.append(state["state"])
            if state["state"] != "ProcessingComplete":
                assert E3 not in [a["skuId"] for a in graph.user(ADELE)["assignedLicenses"]]
        time.sleep(0.01)
    assert seen[0] == "QueuedForProcessing" and set(seen) <= {"QueuedForProcessing", "ProcessingInProgress",
                                                              "ProcessingComplete"}
    assert [a["skuId"] for a in graph.user(ADELE)["assignedLicenses"]] == [E3]


def test_group_licences_reach_direct_user_members_only(graph, settle):
    inner = graph.create_group("Nested")
    graph.add_member(inner["id"], LEE)
    outer = licensed_group(graph, settle, "Outer", [ADELE], [{"skuId": E3}])
    graph.add_member(outer, inner["id"])
    settle()
    assert states(graph, ADELE) == [(outer, E3, "Active", "None")]
    assert states(graph, LEE) == []


def test_paths_merge_into_one_assigned_licence_and_one_seat_with_one_state_per_path(graph, settle):
    plans = plans_of(graph, E3)
    before = consumed(graph, E3)
    base = licensed_group(graph, settle, "O365_Licenses_E3_Base", [MEGAN, ADELE],
                          [{"skuId": E3, "disabledPlans": [EXCHANGE_S_ENTERPRISE]}])
    only_exchange = [p for p in plans if p != EXCHANGE_S_ENTERPRISE]
    exchange = licensed_group(graph, settle, "O365_Licenses_E3_Exchange", [ADELE],
                              [{"skuId": E3, "disabledPlans": only_exchange}])
    adele = graph.user(ADELE)
    assert adele["assignedLicenses"] == [{"disabledPlans": [], "skuId": E3}]
    assert [(s["assignedByGroup"], s["disabledPlans"]) for s in adele["licenseAssignmentStates"]] == [
        (base, [EXCHANGE_S_ENTERPRISE]), (exchange, only_exchange)]
    megan = graph.user(MEGAN)
    assert [s["assignedByGroup"] for s in megan["licenseAssignmentStates"]] == [None, base]
    assert megan["assignedLicenses"] == [{"disabledPlans": [], "skuId": E3}]
    assert consumed(graph, E3) == before + 1  # Megan already held a seat; Adele takes one


def test_count_violation_hits_the_latest_members_once_seats_run_out(graph, settle):
    assert consumed(graph, P1) == 1  # Isaiah's direct licence; two seats in all
    group = licensed_group(graph, settle, "P1 users", [ADELE, ALEX, LYNNE, ISAIAH], [{"skuId": P1}])
    assert states(graph, ADELE) == [(group, P1, "Active", "None")]
    assert states(graph, ALEX) == [(group, P1, "Error", "CountViolation")]
    assert states(graph, LYNNE) == [(group, P1, "Error", "CountViolation")]
    assert states(graph, ISAIAH) == [(None, P1, "Active", "None"), (group, P1, "Active", "None")]
    assert graph.user(ALEX)["assignedLicenses"] == []
    assert consumed(graph, P1) == 2
    errors = graph.get(f"/groups/{group}/membersWithLicenseErrors?$select=id").json()["value"]
    assert [u["id"] for u in errors] == [ALEX, LYNNE]
    flagged = graph.get("/groups?$filter=hasMembersWithLicenseErrors eq true&$select=id").json()["value"]
    assert flagged == [{"id": group}]


def test_count_violation_waits_for_reprocessing_after_a_seat_frees_up(graph, settle):
    group = licensed_group(graph, settle, "P1 users", [ADELE, ALEX], [{"skuId": P1}])
    graph.delete(f"/groups/{group}/members/{ADELE}/$ref")
    settle()
    assert states(graph, ADELE) == [] and consumed(graph, P1) == 1
    assert states(graph, ALEX) == [(group, P1, "Error", "CountViolation")]
    response = graph.post(f"/users/{ALEX}/reprocessLicenseAssignment")
    assert response.status_code == 200
    assert response.json()["assignedLicenses"] == [{"disabledPlans": [], "skuId": P1}]
    assert states(graph, ALEX) == [(group, P1, "Active", "None")]


def test_mutually_exclusive_plans_put_the_later_group_path_in_error(graph, settle):
    assert assign(graph, f"/users/{LYNNE}", [{"skuId": EXCHANGE_P1}]).status_code == 200
    group = licensed_group(graph, settle, "E3 full", [LYNNE], [{"skuId": E3}])
    assert states(graph, LYNNE) == [(None, EXCHANGE_P1, "Active", "None"),
                                    (group, E3, "Error", "MutuallyExclusiveViolation")]
    assign(graph, f"/groups/{group}", [{"skuId": E3, "disabledPlans": [EXCHANGE_S_ENTERPRISE]}])
    settle()
    assert states(graph, LYNNE)[1] == (group, E3, "Active", "None")


def test_a_group_path_is_all_or_nothing_per_user(graph, settle):
    assign(graph, f"/users/{ADELE}", [{"skuId": P1}])  # the last P1 seat
    group = licensed_group(graph, settle, "E3 and P1", [ALEX], [{"skuId": E3}, {"skuId": P1}])
    assert states(graph, ALEX) == [(group, E3, "Error", "CountViolation"), (group, P1, "Error", "CountViolation")]
    assert graph.user(ALEX)["assignedLicenses"] == []


def test_error_paths_in_assigned_licenses_is_configurable(ready, graph, settle):
    admin(ready, "PUT", "/config", {"error_paths_in_assigned_licenses": True})
    assign(graph, f"/users/{ADELE}", [{"skuId": P1}])
    licensed_group(graph, settle, "P1", [ALEX], [{"skuId": P1}])
    assert graph.user(ALEX)["assignedLicenses"] == [{"disabledPlans": [], "skuId": P1}]


def test_group_assignment_checks_sku_plans_and_dependencies_synchronously(ready, graph):
    group = graph.create_group("Checked")
    unknown = "00000000-0000-0000-0000-00000000ABCD"
    assert error_of(assign(graph, f"/groups/{group['id']}", [{"skuId": unknown}])) == (
        400, "Request_BadRequest", f"License {unknown} does not correspond to a valid company License.")
    assert error_of(assign(graph, f"/groups/{group['id']}", [{"skuId": E3, "disabledPlans": [EXCHANGE_S_STANDARD]}]))[
        2] == f"Service plan {EXCHANGE_S_STANDARD} is not part of license {E3}."
    with_rules(ready, plan_rules=lambda rules: {**rules, "dependencies": [
        *rules["dependencies"], {"plan": "TEAMS1", "requires": ["SHAREPOINTENTERPRISE"]}]})
    group = graph.create_group("Checked")
    response = assign(graph, f"/groups/{group['id']}", [{"skuId": E3, "disabledPlans": [SHAREPOINTENTERPRISE]}])
    assert error_of(response) == (400, "Request_BadRequest", f"License assignment failed because service plan {TEAMS1} "
                                                             f"depends on the service plan(s) {SHAREPOINTENTERPRISE}")
    assert graph.get(f"/groups/{group['id']}?$select=assignedLicenses").json()["assignedLicenses"] == []


def test_assign_license_needs_both_parameters(graph):
    expected = ("One or more parameters of the operation 'assignLicense' are missing from the request payload. "
                "The missing parameters are: {}.")
    assert error_of(graph.post(f"/users/{ADELE}/assignLicense", {"addLicenses": []}))[2] == expected.format(
        "removeLicenses")
    assert error_of(graph.post(f"/groups/{FINANCE_ONPREM}/assignLicense", {"removeLicenses": []})) == (
        400, "Request_BadRequest", expected.format("addLicenses"))


# --- direct assignment -----------------------------------------------------------------------------------------

def test_direct_assignment_is_synchronous_and_answers_200_with_the_user(graph):
    response = assign(graph, f"/users/{ADELE}", [{"skuId": E3.upper(), "disabledPlans": []}])
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == ADELE and body["assignedLicenses"] == [{"disabledPlans": [], "skuId": E3}]
    assert states(graph, ADELE) == [(None, E3, "Active", "None")]


@pytest.mark.parametrize(("user", "add", "remove", "message"), [
    (ADELE, [{"skuId": "6FD2C87F-B296-42F0-B197-1E91E994B999"}], [],
     "License 6FD2C87F-B296-42F0-B197-1E91E994B999 does not correspond to a valid company License."),
    (JONI, [{"skuId": E3}], [], "License assignment cannot be done for user with invalid usage location."),
    (MEGAN, [{"skuId": EXCHANGE_P1}], [],
     f"License assignment failed because service plans {EXCHANGE_S_STANDARD},{EXCHANGE_S_ENTERPRISE} are mutually "
     "exclusive"),
    (ADELE, [], [E3], "User does not have a corresponding license."),
    (ADELE, [{"skuId": "not-a-guid"}], [],
     "Cannot convert a primitive value to the expected type 'Edm.Guid'. See the inner exception for more details"),
])
def test_direct_assignment_errors_are_the_documented_400s(graph, user, add, remove, message):
    assert error_of(assign(graph, f"/users/{user}", add, remove))[::2] == (400, message)
    if user != ADELE or remove:
        assert graph.user(user)["assignedLicenses"] in ([], [{"disabledPlans": [], "skuId": E3}])


def test_direct_assignment_without_free_seats_is_refused(graph):
    assert assign(graph, f"/users/{ADELE}", [{"skuId": P1}]).status_code == 200
    assert error_of(assign(graph, f"/users/{ALEX}", [{"skuId": P1}])) == (
        400, "Request_BadRequest", f"Subscription with Account {graph.ready['tenant_id']} and SKU {P1} does not have "
                                   "any available licenses.")
    assert assign(graph, f"/users/{ADELE}", [{"skuId": P1, "disabledPlans": []}]).status_code == 200


def test_direct_assignment_checks_dependencies(ready, graph):
    with_rules(ready, plan_rules=lambda rules: {**rules, "dependencies": [
        {"plan": "TEAMS1", "requires": ["SHAREPOINTENTERPRISE"]}]})
    response = assign(graph, f"/users/{ADELE}", [{"skuId": E3, "disabledPlans": [SHAREPOINTENTERPRISE]}])
    assert error_of(response)[2] == (f"License assignment failed because service plan {TEAMS1} depends on the service "
                                     f"plan(s) {SHAREPOINTENTERPRISE}")


def test_an_inherited_licence_cannot_be_removed_directly(graph, settle):
    licensed_group(graph, settle, "E3", [ADELE], [{"skuId": E3}])
    assert error_of(assign(graph, f"/users/{ADELE}", [], [E3])) == (
        400, "Request_BadRequest",
        "User license is inherited from a group membership and it cannot be removed directly from the user.")


def test_removing_a_direct_licence_keeps_the_inherited_one(graph, settle):
    group = licensed_group(graph, settle, "E3", [MEGAN], [{"skuId": E3, "disabledPlans": [EXCHANGE_S_ENTERPRISE]}])
    assert assign(graph, f"/users/{MEGAN}", [], [E3]).status_code == 200
    assert states(graph, MEGAN) == [(group, E3, "Active", "None")]
    assert graph.user(MEGAN)["assignedLicenses"] == [{"disabledPlans": [EXCHANGE_S_ENTERPRISE], "skuId": E3}]


# --- usage location --------------------------------------------------------------------------------------------

def test_group_paths_use_the_tenant_location_and_never_write_the_users(graph, settle):
    group = licensed_group(graph, settle, "E3", [JONI], [{"skuId": E3}])
    joni = graph.user(JONI)
    assert joni["usageLocation"] is None
    assert states(graph, JONI) == [(group, E3, "Active", "None")]


def test_prohibited_usage_location_is_a_group_path_error_and_a_direct_400(ready, graph, settle):
    with_rules(ready, skus=lambda skus: [
        {**s, "prohibited_usage_locations": ["GB"]} if s["skuPartNumber"] == "ENTERPRISEPACK" else s for s in skus])
    group = licensed_group(graph, settle, "E3", [LYNNE, ADELE], [{"skuId": E3}])
    assert states(graph, LYNNE) == [(group, E3, "Error", "ProhibitedInUsageLocationViolation")]
    assert states(graph, ADELE) == [(group, E3, "Active", "None")]
    assert error_of(assign(graph, f"/users/{LYNNE}", [{"skuId": E3}]))[2] == (
        f"License {E3} cannot be assigned to a user with usage location 'GB'.")


def test_usage_location_fallback_property_is_configurable(ready, graph, settle):
    with_rules(ready, tenant=lambda t: {**t, "countryLetterCode": "GB", "defaultUsageLocation": "US"},
               skus=lambda skus: [{**s, "prohibited_usage_locations": ["GB"]} for s in skus])
    licensed_group(graph, settle, "E3", [JONI], [{"skuId": E3}])
    assert states(graph, JONI)[0][3] == "ProhibitedInUsageLocationViolation"
    admin(ready, "PUT", "/config", {"inherited_usage_location": "defaultUsageLocation"})
    graph.post(f"/users/{JONI}/reprocessLicenseAssignment")
    assert states(graph, JONI)[0][2] == "Active"


# --- membership and licence removal ----------------------------------------------------------------------------

def test_removing_a_member_or_the_group_licence_removes_the_inherited_path(graph, settle):
    group = licensed_group(graph, settle, "E3", [ADELE, ALEX], [{"skuId": E3}])
    before = consumed(graph, E3)
    graph.delete(f"/groups/{group}/members/{ADELE}/$ref")
    settle()
    assert states(graph, ADELE) == [] and consumed(graph, E3) == before - 1
    assign(graph, f"/groups/{group}", [], [E3])
    settle()
    assert states(graph, ALEX) == []
    state = graph.get(f"/groups/{group}?$select=licenseProcessingState").json()["licenseProcessingState"]
    assert state == {"state": "ProcessingComplete"}


def test_a_licensed_group_cannot_be_deleted_until_its_licences_are_removed(ready, graph, settle):
    group = licensed_group(graph, settle, "E3", [ADELE], [{"skuId": E3}])
    assert error_of(graph.delete(f"/groups/{group}")) == (
        400, "Request_BadRequest", "Unable to delete the group because it has licenses assigned. Remove the licenses "
                                   "from the group and try again.")
    admin(ready, "PUT", "/config", {"errors": {"licensed_group_delete": {"message": "Licensed."}}})
    assert error_of(graph.delete(f"/groups/{group}"))[2] == "Licensed."
    assign(graph, f"/groups/{group}", [], [E3])
    assert graph.delete(f"/groups/{group}").status_code == 204
    settle()
    assert states(graph, ADELE) == []


def test_a_group_path_a_direct_licence_depends_on_stays_in_error_when_the_member_leaves(ready, graph, settle):
    with_rules(ready, plan_rules={"mutually_exclusive": [], "dependencies": [
        {"plan": "MFA_PREMIUM", "requires": ["EXCHANGE_S_ENTERPRISE"]}]},
        users=lambda users: [{k: v for k, v in u.items() if k != "licenses"} for u in users])
    group = licensed_group(graph, settle, "E3", [ISAIAH], [{"skuId": E3}])
    assert assign(graph, f"/users/{ISAIAH}", [{"skuId": P1}]).status_code == 200
    graph.delete(f"/groups/{group}/members/{ISAIAH}/$ref")
    settle()
    assert states(graph, ISAIAH) == [(None, P1, "Active", "None"), (group, E3, "Error", "DependencyViolation")]
    assert [u["id"] for u in graph.get(f"/groups/{group}/membersWithLicenseErrors").json()["value"]] == [ISAIAH]
    status, _, message = error_of(graph.post(f"/users/{ISAIAH}/reprocessLicenseAssignment"))
    assert status == 400 and message.startswith("License assignment failed because service plan 8a256a2b")
    assert assign(graph, f"/users/{ISAIAH}", [], [P1]).status_code == 200
    assert states(graph, ISAIAH) == []


def test_dependent_removal_can_convert_the_group_path_to_a_direct_one(ready, graph, settle):
    with_rules(ready, plan_rules={"mutually_exclusive": [], "dependencies": [
        {"plan": "MFA_PREMIUM", "requires": ["EXCHANGE_S_ENTERPRISE"]}]},
        users=lambda users: [{k: v for k, v in u.items() if k != "licenses"} for u in users])
    admin(ready, "PUT", "/config", {"dependent_removal": "convert_to_direct"})
    group = licensed_group(graph, settle, "E3", [ISAIAH], [{"skuId": E3}])
    assign(graph, f"/users/{ISAIAH}", [{"skuId": P1}])
    graph.delete(f"/groups/{group}/members/{ISAIAH}/$ref")
    settle()
    assert states(graph, ISAIAH) == [(None, P1, "Active", "None"), (None, E3, "Active", "None")]


# --- settings, dynamic and synced objects ----------------------------------------------------------------------

def test_healthy_error_value_can_be_null(ready, graph, settle):
    admin(ready, "PUT", "/config", {"healthy_error_value": None})
    group = licensed_group(graph, settle, "E3", [ADELE], [{"skuId": E3}])
    assert states(graph, ADELE) == [(group, E3, "Active", None)]


def test_processing_failed_state_is_available_for_groups_with_errors(ready, graph, settle):
    admin(ready, "PUT", "/config", {"processing_failed_state": True})
    group = licensed_group(graph, settle, "P1", [ADELE, ALEX], [{"skuId": P1}])
    state = graph.get(f"/groups/{group}?$select=licenseProcessingState").json()["licenseProcessingState"]
    assert state == {"state": "ProcessingFailed"}


def test_dynamic_membership_follows_the_rule_and_user_changes_and_licenses_members(graph, settle):
    group = graph.post("/groups", {"displayName": "IT dynamic", "mailNickname": "itdyn", "mailEnabled": False,
                                   "securityEnabled": True, "groupTypes": ["DynamicMembership"],
                                   "membershipRule": 'user.department -eq "IT"',
                                   "membershipRuleProcessingState": "On"}).json()
    assert graph.get(f"/groups/{group['id']}/members").json()["value"] == []
    settle()
    members = graph.get(f"/groups/{group['id']}/members?$select=id").json()["value"]
    assert [m["id"] for m in members] == [ISAIAH, GRADY, LEE]
    assign(graph, f"/groups/{group['id']}", [{"skuId": E3}])
    graph.patch(f"/users/{ADELE}", {"department": "IT"})
    graph.patch(f"/users/{LEE}", {"department": "Sales"})
    settle()
    members = graph.get(f"/groups/{group['id']}/members?$select=id").json()["value"]
    assert {m["id"] for m in members} == {ISAIAH, GRADY, ADELE}
    assert states(graph, ADELE) == [(group["id"], E3, "Active", "None")] and states(graph, LEE) == []


def test_synced_groups_and_users_take_licences_but_refuse_cloud_edits(graph, settle):
    assert assign(graph, f"/groups/{FINANCE_ONPREM}", [{"skuId": E3}]).status_code == 202
    settle()
    assert states(graph, NESTOR) == [(FINANCE_ONPREM, E3, "Active", "None")]
    assert states(graph, PATTI) == [(FINANCE_ONPREM, E3, "Active", "None")]
    assert graph.patch(f"/users/{NESTOR}", {"usageLocation": "CA"}).status_code == 204
    assert graph.user(NESTOR)["usageLocation"] == "CA"
    assert error_of(graph.patch(f"/users/{NESTOR}", {"department": "IT"}))[2].startswith(
        "Unable to update the specified properties for on-premises mastered Directory Sync objects")


def test_license_details_list_each_product_with_plan_status(graph):
    details = graph.get(f"/users/{MEGAN}/licenseDetails").json()["value"]
    assert [(d["skuId"], d["skuPartNumber"]) for d in details] == [(E3, "ENTERPRISEPACK")]
    assert {p["provisioningStatus"] for p in details[0]["servicePlans"]} == {"Success"}
