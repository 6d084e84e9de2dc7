# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The licensing rules: validation, plan computation, set comparison, seats, service-loss guard, direct-license rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.entra.licensing.plugins.module_utils.licensing import (
    DesiredLicense,
    LicenseChange,
    LicensingError,
    apply_direct_change,
    assignments,
    coverage_gap,
    describe_assignments,
    failed_paths,
    licenses_diff,
    merged_assignments,
    needs_reprocessing,
    new_plans_warning,
    path_states,
    plan_change,
    plan_direct_change,
    plans_kept_off,
    plans_reduced,
    resolve_licenses,
    seat_counts,
    seat_needs,
    service_losses,
    shortfall_message,
    unprocessed_members,
)
from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import Catalog

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TENANT = "48a80680-7326-48cd-9935-b556b81d3a4e"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
E5 = "c7df2760-2c81-4ef7-b578-5b5392b571df"
EMS = "efccb6f7-5641-4e0e-bd10-b4976e1bf68e"
EXCHANGE_2 = "efb87545-963c-4e0d-99df-69c6916d9eb0"
TEAMS = "57ff2da0-773e-42df-b2af-ffb7a2317929"
SHAREPOINT_2 = "5dbe027f-2339-4123-9542-606e4d348a72"
FOUNDATION = "113feb6c-3fe4-4440-bddc-54d774bf0318"
NEW_PLAN = "d1f0e6a4-22c5-4c1e-8d5e-0f4a3b2c1d0e"  # a plan Microsoft added to E3 after its published table
BASE = "1132b215-826f-42a9-8cfe-1643d19d17fd"
EXCHANGE_GROUP = "2a0c5f3e-7f7e-4a57-9d0b-3c1d2e4f5a6b"
OTHER_GROUP = "9f1c6c9d-0000-4000-8000-000000000001"
NAMES = {BASE: "O365_Licenses_E3_Base", EXCHANGE_GROUP: "O365_Licenses_E3_Exchange", OTHER_GROUP: "EMS_Users"}


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def subscribed(sku_id: str, enabled: int, consumed: int, warning: int = 0, extra_plans: tuple = ()) -> dict:
    """A subscribedSku entry shaped like Microsoft's example, with the product's real plans from the published table."""
    published = Catalog([]).published(sku_id)
    plans = [{"servicePlanId": plan.plan_id, "servicePlanName": plan.name, "provisioningStatus": "Success", "appliesTo": "User"} for plan in published.plans]
    plans += [{"servicePlanId": plan_id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"} for plan_id, name in extra_plans]
    return {
        "accountName": "Contoso",
        "accountId": "f97aeefc-af85-414d-8ae4-b457f90efc40",
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": consumed,
        "id": f"{TENANT}_{sku_id}",
        "prepaidUnits": {"enabled": enabled, "lockedOut": 0, "suspended": 0, "warning": warning},
        "servicePlans": plans,
        "skuId": sku_id,
        "skuPartNumber": published.part_number,
        "subscriptionIds": ["43d26afe-cb98-48b9-acc4-ae3ef2ac6c51"],
    }


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(
        [
            subscribed(E3, enabled=25, consumed=20, warning=2, extra_plans=((NEW_PLAN, "COPILOT_CHAT_NEW"),)),
            subscribed(EMS, enabled=10, consumed=10),
        ]
    )


def path(sku: str, group: str | None = None, disabled: tuple = (), state: str = "Active", error: str | None = "None") -> dict:
    return {
        "assignedByGroup": group,
        "skuId": sku,
        "disabledPlans": list(disabled),
        "state": state,
        "error": error,
        "lastUpdatedDateTime": "2024-05-02T08:30:00Z",
    }


def user(upn: str, *paths: dict, location: str | None = "US") -> dict:
    return {"id": f"id-{upn}", "userPrincipalName": upn, "usageLocation": location, "licenseAssignmentStates": list(paths)}


def all_but(catalog: Catalog, sku: str, *keep: str) -> frozenset:
    return frozenset(plan.plan_id for plan in catalog.sku_by_id(sku).plans if plan.plan_id not in keep)


# --- Microsoft's documented examples ------------------------------------------------------------------------------


def test_documented_subscribed_skus_example_parses() -> None:
    catalog = Catalog(load("subscribed_skus.json")["value"])
    sku = catalog.sku("Office 365 E5")
    assert (sku.sku_id, sku.part_number) == (E5, "ENTERPRISEPREMIUM")
    assert [plan.name for plan in sku.plans] == ["ADALLOM_S_O365"]
    assert seat_counts(sku.subscribed) == {"enabled": 25, "warning": 0, "consumed": 14, "available": 11}


def test_documented_group_assigned_licenses_example_parses() -> None:
    group = load("group_assigned_licenses.json")
    current = assignments(group["assignedLicenses"])
    assert current == {E3: frozenset([FOUNDATION])}
    [entry] = describe_assignments(Catalog([]), current)
    assert (entry["name"], entry["skuPartNumber"], entry["disabledPlanNames"]) == ("Office 365 E3", "ENTERPRISEPACK", ["Exchange Foundation"])


def test_documented_license_assignment_states_example(catalog: Catalog) -> None:
    adele = load("user_license_assignment_states.json")
    states = adele["licenseAssignmentStates"]
    assert needs_reprocessing(states)  # the EMS group path is in CountViolation
    assert merged_assignments(catalog, states)[E3] == frozenset()  # the direct path enables every plan
    assert EMS not in merged_assignments(catalog, states)  # a path in Error gives nothing
    assert coverage_gap(catalog, states, E3, NAMES) is None


# --- validation ----------------------------------------------------------------------------------------------------


def test_names_resolve_to_guids(catalog: Catalog) -> None:
    [item] = resolve_licenses(catalog, [{"sku": "office 365 e3", "disabled_plans": ["Microsoft Teams", "SHAREPOINTENTERPRISE"]}])
    assert item.sku_id == E3
    assert item.disabled == {TEAMS, SHAREPOINT_2}
    assert not item.allow_list


def test_typo_suggests_the_closest_product_before_any_write(catalog: Catalog) -> None:
    with pytest.raises(LicensingError) as caught:
        resolve_licenses(catalog, [{"sku": "Office 356 E3"}])
    message = str(caught.value)
    assert message.startswith("A problem in licenses; nothing was changed. (1) licenses item 1: Unknown SKU 'Office 356 E3'.")
    assert "Closest matches: 'Office 365 E3' (ENTERPRISEPACK)" in message


def test_every_problem_is_reported_at_once(catalog: Catalog) -> None:
    with pytest.raises(LicensingError) as caught:
        resolve_licenses(
            catalog,
            [
                {"sku": "Office 365 E3", "enabled_plans": ["Exchange Online (Plan 3)"]},
                {"sku": "ENTERPRISEPACK"},
                {"sku": "Office 356 E3"},
            ],
        )
    message = str(caught.value)
    assert message.startswith("3 problems in licenses; nothing was changed.")
    assert "(1) licenses item 1: Service plan 'Exchange Online (Plan 3)' is not part of 'Office 365 E3' (ENTERPRISEPACK)." in message
    assert "Plans in 'Office 365 E3' (ENTERPRISEPACK): " in message  # names the SKU's plans
    assert "(2) licenses item 2: 'Office 365 E3' (ENTERPRISEPACK) is already licenses item 1" in message
    assert "(3) licenses item 3: Unknown SKU 'Office 356 E3'" in message


def test_removals_ignore_plans(catalog: Catalog) -> None:
    [item] = resolve_licenses(catalog, [{"sku": E3, "enabled_plans": ["not a plan"]}], with_plans=False)
    assert item.disabled == frozenset()


def test_allow_list_equals_the_equivalent_deny_list(catalog: Catalog) -> None:
    allowed = resolve_licenses(catalog, [{"sku": "Office 365 E3", "enabled_plans": ["Exchange Online (Plan 2)"]}])[0]
    denied_names = [plan.name for plan in catalog.sku(E3).plans if plan.plan_id != EXCHANGE_2]
    denied = resolve_licenses(catalog, [{"sku": "ENTERPRISEPACK", "disabled_plans": denied_names}])[0]
    assert allowed.disabled == denied.disabled == all_but(catalog, E3, EXCHANGE_2)
    assert NEW_PLAN in allowed.disabled  # the tenant's real plan list: a plan Microsoft added stays off
    assert allowed.assigned() == denied.assigned()
    assert allowed.assigned()["disabledPlans"][0] == catalog.sku(E3).plans[0].plan_id  # the SKU's own order
    assert plan_change({E3: denied.disabled}, [allowed], "present").changed is False


# --- changes -------------------------------------------------------------------------------------------------------


def desired(catalog: Catalog, *specs: dict, with_plans: bool = True) -> list[DesiredLicense]:
    return resolve_licenses(catalog, list(specs), with_plans=with_plans)


def test_sets_make_reruns_idempotent(catalog: Catalog) -> None:
    current = assignments([{"skuId": E3.upper(), "disabledPlans": [SHAREPOINT_2.upper(), TEAMS]}])
    wanted = desired(catalog, {"sku": "Office 365 E3", "disabled_plans": ["Microsoft Teams", "SharePoint (Plan 2)"]})
    assert not plan_change(current, wanted, "present").changed
    assert not plan_change(current, wanted, "exact").changed


def test_one_call_carries_every_add_and_remove(catalog: Catalog) -> None:
    current = assignments([{"skuId": EMS, "disabledPlans": []}, {"skuId": E3, "disabledPlans": [TEAMS]}])
    wanted = desired(catalog, {"sku": "Office 365 E3"})
    change = plan_change(current, wanted, "exact")
    assert change.body() == {"addLicenses": [{"skuId": E3, "disabledPlans": []}], "removeLicenses": [EMS]}
    assert change.apply(current) == {E3: frozenset()}
    present = plan_change(current, wanted, "present")
    assert present.body()["removeLicenses"] == []  # both arrays are always sent
    absent = plan_change(current, desired(catalog, {"sku": "EMS"}, {"sku": E3}, with_plans=False), "absent")
    assert absent.body() == {"addLicenses": [], "removeLicenses": [EMS, E3]}
    assert not plan_change({}, desired(catalog, {"sku": E3}, with_plans=False), "absent").changed


def test_exact_with_nothing_listed_removes_everything(catalog: Catalog) -> None:
    change = plan_change({E3: frozenset(), EMS: frozenset()}, [], "exact")
    assert change.remove == [E3, EMS] and not change.add


def test_plans_kept_off_by_an_allow_list(catalog: Catalog) -> None:
    wanted = desired(catalog, {"sku": "Office 365 E3", "enabled_plans": ["Exchange Online (Plan 2)", "Microsoft Teams"]})
    assert [(entry["servicePlanId"], entry["reason"]) for entry in plans_kept_off(catalog, wanted, {})] == [(NEW_PLAN, "new")]
    kept = plans_kept_off(catalog, wanted, {E3: all_but(catalog, E3, EXCHANGE_2, TEAMS, SHAREPOINT_2)})
    assert {(entry["servicePlanId"], entry["reason"]) for entry in kept} == {(NEW_PLAN, "new"), (SHAREPOINT_2, "was_enabled")}
    assert next(entry for entry in kept if entry["reason"] == "was_enabled")["name"] == "SharePoint (Plan 2)"
    warning = new_plans_warning(kept)
    assert warning.startswith("enabled_plans keeps off service plans Microsoft added after its published table of 2025-10-29: ")
    assert "Office 365 E3: COPILOT_CHAT_NEW (COPILOT_CHAT_NEW)" in warning
    deny = desired(catalog, {"sku": "Office 365 E3", "disabled_plans": ["Microsoft Teams"]})
    assert plans_kept_off(catalog, deny, {}) == []  # a deny-list keeps new plans on, as Microsoft does
    assert new_plans_warning([]) is None


# --- seats ---------------------------------------------------------------------------------------------------------


def test_available_counts_warning_units(catalog: Catalog) -> None:
    assert seat_counts(catalog.sku(E3).subscribed)["available"] == 7  # 25 enabled + 2 in warning - 20 consumed
    assert seat_counts({"prepaidUnits": {"enabled": 5}, "consumedUnits": 9})["available"] == 0
    assert seat_counts(None)["available"] == 0


def test_members_already_holding_the_product_take_no_new_seat(catalog: Catalog) -> None:
    members = [
        user("direct@contoso.com", path(E3)),  # holds it directly
        user("other@contoso.com", path(E3, OTHER_GROUP, disabled=[TEAMS])),  # through another group
        user("failed@contoso.com", path(E3, OTHER_GROUP, state="Error", error="CountViolation")),  # no seat yet
        user("new@contoso.com"),
    ]
    [need] = seat_needs(desired(catalog, {"sku": "Office 365 E3"}), members)
    assert (need["needed"], need["available"], need["sufficient"]) == (2, 7, True)
    [ems] = seat_needs(desired(catalog, {"sku": EMS}), members)
    assert (ems["needed"], ems["available"], ems["sufficient"]) == (4, 0, False)
    message = shortfall_message([need, ems], "members of 'O365_Licenses_E3_Base'")
    assert message == (
        "Not enough seats. Enterprise Mobility + Security E3 (EMS) needs 4 new seat(s) for members of 'O365_Licenses_E3_Base', "
        "0 available (10 enabled + 0 in warning - 10 consumed)."
    )
    assert shortfall_message([need], "members") is None


# --- services being lost -------------------------------------------------------------------------------------------


def test_removal_guard_finds_members_with_no_other_path(catalog: Catalog) -> None:
    members = [
        user("only@contoso.com", path(E3, BASE)),
        user("direct@contoso.com", path(E3, BASE), path(E3)),
        user("exchange@contoso.com", path(E3, BASE), path(E3, EXCHANGE_GROUP, disabled=all_but(catalog, E3, EXCHANGE_2))),
        user("failed@contoso.com", path(E3, BASE, state="Error", error="CountViolation")),
    ]
    before = {E3: frozenset()}
    after: dict = {}
    assert plans_reduced(catalog, before, after) == [E3]
    losses = service_losses(catalog, BASE, members, after)
    assert [entry["userPrincipalName"] for entry in losses] == ["only@contoso.com", "exchange@contoso.com"]
    assert losses[0]["sku"] == "Office 365 E3" and "Exchange Online (Plan 2)" in losses[0]["plans"]
    assert "Exchange Online (Plan 2)" not in losses[1]["plans"]  # the Exchange group still gives it
    assert len(losses[1]["plans"]) == len(catalog.sku(E3).plans) - 1


def test_newly_disabled_plan_is_a_loss_too(catalog: Catalog) -> None:
    members = [user("only@contoso.com", path(E3, BASE)), user("teams@contoso.com", path(E3, BASE), path(E3, OTHER_GROUP))]
    after = {E3: frozenset([TEAMS])}
    assert plans_reduced(catalog, {E3: frozenset()}, after) == [E3]
    assert plans_reduced(catalog, {E3: frozenset([TEAMS])}, {E3: frozenset()}) == []  # enabling more takes nothing away
    losses = service_losses(catalog, BASE, members, after)
    assert losses == [{"id": "id-only@contoso.com", "userPrincipalName": "only@contoso.com", "skuId": E3, "sku": "Office 365 E3", "plans": ["Microsoft Teams"]}]


# --- readable views and the diff -----------------------------------------------------------------------------------


def test_diff_names_products_and_plans(catalog: Catalog) -> None:
    current = {E3: all_but(catalog, E3, EXCHANGE_2), EMS: frozenset()}
    diff = licenses_diff(catalog, current)
    assert [entry["sku"] for entry in diff] == ["Enterprise Mobility + Security E3 (EMS)", "Office 365 E3 (ENTERPRISEPACK)"]
    assert diff[1]["enabled_plans"] == ["Exchange Online (Plan 2)"]
    assert len(diff[1]["disabled_plans"]) == len(catalog.sku(E3).plans) - 1
    assert diff[0]["disabled_plans"] == []
    assert licenses_diff(catalog, {}) == []


def test_change_result_keeps_unlisted_products_for_present(catalog: Catalog) -> None:
    current = {EMS: frozenset()}
    change = plan_change(current, desired(catalog, {"sku": E3, "enabled_plans": [EXCHANGE_2]}), "present")
    after = change.apply(current)
    assert set(after) == {E3, EMS}
    assert [entry["name"] for entry in describe_assignments(catalog, after)] == ["Enterprise Mobility + Security E3", "Office 365 E3"]


# --- direct licenses -----------------------------------------------------------------------------------------------


def direct_plan(catalog: Catalog, person: dict, specs: list[dict], state: str, coverage: bool = False):
    wanted = resolve_licenses(catalog, specs, with_plans=state != "absent")
    return plan_direct_change(catalog, person, wanted, state=state, require_group_coverage=coverage, group_names=NAMES)


def test_absent_refuses_a_license_a_group_gives_with_graphs_words_and_the_groups(catalog: Catalog) -> None:
    person = user("adele@contoso.com", path(E3, BASE), path(E3, EXCHANGE_GROUP))
    with pytest.raises(LicensingError) as caught:
        direct_plan(catalog, person, [{"sku": "Office 365 E3"}], "absent")
    message = str(caught.value)
    assert message.startswith("User license is inherited from a group membership and it cannot be removed directly from the user.")
    assert "adele@contoso.com gets Office 365 E3 from group(s) 'O365_Licenses_E3_Base', 'O365_Licenses_E3_Exchange'" in message
    assert caught.value.details["inherited_from"][0]["groups"][0] == {"id": BASE, "displayName": "O365_Licenses_E3_Base"}


def test_absent_removes_a_direct_only_license(catalog: Catalog) -> None:
    plan = direct_plan(catalog, user("a@contoso.com", path(E3), path(EMS, OTHER_GROUP)), [{"sku": E3}], "absent")
    assert plan.change.body() == {"addLicenses": [], "removeLicenses": [E3]}
    assert not direct_plan(catalog, user("a@contoso.com"), [{"sku": E3}], "absent").change.changed


def test_migration_removes_only_covered_direct_licenses(catalog: Catalog) -> None:
    covered = user("covered@contoso.com", path(E3, disabled=[TEAMS]), path(E3, BASE))
    plan = direct_plan(catalog, covered, [{"sku": E3}], "absent", coverage=True)
    assert plan.change.remove == [E3] and plan.kept == []

    partial = user("partial@contoso.com", path(E3), path(E3, EXCHANGE_GROUP, disabled=all_but(catalog, E3, EXCHANGE_2)))
    plan = direct_plan(catalog, partial, [{"sku": E3}], "absent", coverage=True)
    assert plan.change.remove == []
    [kept] = plan.kept
    assert kept["sku"] == "Office 365 E3"
    assert kept["reason"].startswith("the active group path(s) 'O365_Licenses_E3_Exchange' do not enable ")
    assert kept["reason"].endswith(" and 31 more, which the direct assignment enables")
    assert "Exchange Online (Plan 2)" not in kept["reason"]

    failed = user("failed@contoso.com", path(E3), path(E3, BASE, state="Error", error="CountViolation"))
    [kept] = direct_plan(catalog, failed, [{"sku": E3}], "absent", coverage=True).kept
    assert kept["reason"] == "no group path is active yet: 'O365_Licenses_E3_Base' (Error, CountViolation)"

    alone = user("alone@contoso.com", path(E3))
    [kept] = direct_plan(catalog, alone, [{"sku": E3}], "absent", coverage=True).kept
    assert kept["reason"] == "no group gives this product to the user"

    migrated = user("migrated@contoso.com", path(E3, BASE))  # a rerun after the migration: nothing to do
    assert not direct_plan(catalog, migrated, [{"sku": E3}], "absent", coverage=True).change.changed


def test_exact_touches_direct_assignments_only(catalog: Catalog) -> None:
    person = user("a@contoso.com", path(EMS), path(E3, BASE), path(E3, disabled=[TEAMS]))
    plan = direct_plan(catalog, person, [{"sku": "Office 365 E3", "disabled_plans": ["Microsoft Teams"]}], "exact")
    assert plan.change.body() == {"addLicenses": [], "removeLicenses": [EMS]}
    plan = direct_plan(catalog, person, [], "exact", coverage=True)
    assert plan.change.remove == [E3]  # the base group covers E3
    assert [kept["skuId"] for kept in plan.kept] == [EMS]


def test_present_compares_with_the_direct_path_not_the_merged_license(catalog: Catalog) -> None:
    person = user("a@contoso.com", path(E3, BASE))  # assignedLicenses shows E3, but not directly
    plan = direct_plan(catalog, person, [{"sku": E3}], "present")
    assert plan.change.body() == {"addLicenses": [{"skuId": E3, "disabledPlans": []}], "removeLicenses": []}


def test_prediction_of_paths_and_merged_licenses(catalog: Catalog) -> None:
    paths = [path(E3, EXCHANGE_GROUP, disabled=all_but(catalog, E3, EXCHANGE_2)), path(EMS)]
    change = LicenseChange(add=resolve_licenses(catalog, [{"sku": E3, "enabled_plans": ["Microsoft Teams"]}]), remove=[EMS])
    after = apply_direct_change(paths, change)
    assert [(p["assignedByGroup"], p["skuId"]) for p in after] == [(None, E3), (EXCHANGE_GROUP, E3)]
    assert merged_assignments(catalog, after) == {E3: all_but(catalog, E3, EXCHANGE_2, TEAMS)}


def test_reprocessing_is_for_group_paths_in_trouble() -> None:
    healthy = [path(E3), path(E3, BASE)]
    assert not needs_reprocessing(healthy)
    assert needs_reprocessing([path(E3, BASE, state="Error", error="MutuallyExclusiveViolation")])
    assert not needs_reprocessing([path(E3, state="Error", error="Other")])  # direct paths are not reprocessed
    assert path_states(healthy) == path_states([dict(p, lastUpdatedDateTime="later", error=None) for p in healthy])
    assert path_states(healthy) != path_states([path(E3), path(E3, BASE, state="Error", error="CountViolation")])


# --- processing reached the members -------------------------------------------------------------------------------


def test_members_show_whether_processing_reached_them(catalog: Catalog) -> None:
    expected = {E3: frozenset([TEAMS])}
    members = [
        user("done@contoso.com", path(E3, BASE, disabled=[TEAMS])),
        user("failed@contoso.com", path(E3, BASE, disabled=[TEAMS], state="Error", error="CountViolation")),  # an outcome
        user("old@contoso.com", path(E3, BASE)),  # still the previous plans
        user("new@contoso.com", path(E3)),  # only a direct path: the group has not reached them
        user("removed@contoso.com", path(E3, BASE, disabled=[TEAMS]), path(EMS, BASE)),  # a product the group dropped
        user("dependent@contoso.com", path(E3, BASE, disabled=[TEAMS]), path(EMS, BASE, state="Error", error="DependencyViolation")),
    ]
    pending = unprocessed_members(members, BASE.upper(), expected)
    assert [entry["userPrincipalName"] for entry in pending] == ["old@contoso.com", "new@contoso.com", "removed@contoso.com"]
    assert unprocessed_members([user("a@contoso.com", path(E3, OTHER_GROUP))], BASE, {}) == []


def test_failed_paths_of_one_group(catalog: Catalog) -> None:
    adele = load("user_license_assignment_states.json")
    assert failed_paths(catalog, BASE, [adele]) == []
    [entry] = failed_paths(catalog, OTHER_GROUP, [adele])
    assert (entry["userPrincipalName"], entry["sku"], entry["skuPartNumber"], entry["state"], entry["error"]) == (
        "adele@contoso.com",
        "Enterprise Mobility + Security E3",
        "EMS",
        "Error",
        "CountViolation",
    )
