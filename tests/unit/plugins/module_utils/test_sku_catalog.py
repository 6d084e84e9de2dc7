# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for SKU and service plan resolution against a realistic GET /subscribedSkus answer."""

from __future__ import annotations

import pytest

from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import Catalog, CatalogError, Plan, Sku

TENANT = "48a80680-7326-48cd-9935-b556b81d3a4e"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
EXCHANGE_STANDARD = "4b9405b0-7788-4568-add1-99614e613b69"
LAB_ADDON = "0b5e3c5a-1f43-4a1e-9b0a-6a0e4f2c7d11"  # a SKU Microsoft's table does not list
EXCHANGE_PLAN_2 = "efb87545-963c-4e0d-99df-69c6916d9eb0"
EXCHANGE_PLAN_1 = "9aaf7827-d63c-4b61-89c3-182f06f82e5c"
TEAMS = "57ff2da0-773e-42df-b2af-ffb7a2317929"
SHAREPOINT_PLAN_2 = "5dbe027f-2339-4123-9542-606e4d348a72"
APPS_FOR_ENTERPRISE = "43de0ff5-c92c-492b-9116-175376d08c38"
NEW_PLAN = "d1f0e6a4-22c5-4c1e-8d5e-0f4a3b2c1d0e"  # a plan Microsoft added after the table was generated


def service_plan(plan_id: str, name: str, applies_to: str = "User") -> dict:
    return {"servicePlanId": plan_id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": applies_to}


def subscribed_sku(sku_id: str, part_number: str, plans: list[dict], enabled: int, consumed: int) -> dict:
    """One entry of GET /subscribedSkus `value`, shaped as in graph-semantics.md section 2.1."""
    return {
        "accountName": "Contoso",
        "accountId": "f97aeefc-af85-414d-8ae4-b457f90efc40",
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": consumed,
        "id": f"{TENANT}_{sku_id}",
        "prepaidUnits": {"enabled": enabled, "lockedOut": 0, "suspended": 0, "warning": 0},
        "servicePlans": plans,
        "skuId": sku_id,
        "skuPartNumber": part_number,
        "subscriptionIds": ["43d26afe-cb98-48b9-acc4-ae3ef2ac6c51"],
    }


E3_PLANS = [
    service_plan("bea4c11e-220a-4e6d-8eb8-8ea15d019f90", "RMS_S_ENTERPRISE"),
    service_plan(EXCHANGE_PLAN_2, "EXCHANGE_S_ENTERPRISE"),
    service_plan(APPS_FOR_ENTERPRISE, "OFFICESUBSCRIPTION"),
    service_plan("b737dad2-2f6c-4c65-90e3-ca563267e8b9", "PROJECTWORKMANAGEMENT"),
    service_plan(TEAMS, "TEAMS1"),
    service_plan("e95bec33-7c88-4a70-8e19-b10bd9d0c014", "SHAREPOINTWAC"),
    service_plan(SHAREPOINT_PLAN_2, "SHAREPOINTENTERPRISE"),
    service_plan("0feaeb32-d00e-4d66-bd5a-43b5b83db82c", "MCOSTANDARD"),
    service_plan("7547a3fe-08ee-4ccb-b430-5077c5041653", "YAMMER_ENTERPRISE", "Company"),
    service_plan(NEW_PLAN, "COPILOT_CHAT_NEW"),
]
SUBSCRIBED_SKUS = [
    subscribed_sku(E3, "ENTERPRISEPACK", E3_PLANS, enabled=25, consumed=14),
    subscribed_sku(
        EXCHANGE_STANDARD,
        "EXCHANGESTANDARD",
        [
            service_plan(EXCHANGE_PLAN_1, "EXCHANGE_S_STANDARD"),
            service_plan("882e1d05-acd1-4ccb-8708-6ee03664b117", "INTUNE_O365"),
            service_plan("5e62787c-c316-451f-b873-1d05acd4d12c", "BPOS_S_TODO_1"),
        ],
        enabled=10,
        consumed=10,
    ),
    subscribed_sku(LAB_ADDON, "CONTOSO_LAB_ADDON", [service_plan(NEW_PLAN, "COPILOT_CHAT_NEW")], enabled=5, consumed=0),
]


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(SUBSCRIBED_SKUS)


def message(call, *args) -> str:
    with pytest.raises(CatalogError) as caught:
        call(*args)
    return str(caught.value)


# --- SKUs -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        E3,
        E3.upper(),
        f"  {E3} ",
        "ENTERPRISEPACK",
        "enterprisepack",
        "Office 365 E3",
        "office 365 e3",
        "  Office   365\tE3 ",
    ],
)
def test_guid_part_number_and_friendly_name_resolve_the_same_sku(catalog: Catalog, ref: str) -> None:
    sku = catalog.sku(ref)
    assert (sku.sku_id, sku.part_number, sku.name) == (E3, "ENTERPRISEPACK", "Office 365 E3")
    assert sku is catalog.sku(E3)
    assert sku.subscribed is SUBSCRIBED_SKUS[0]


def test_tenant_plan_list_is_the_truth(catalog: Catalog) -> None:
    sku = catalog.sku("Office 365 E3")
    assert [plan.plan_id for plan in sku.plans] == [item["servicePlanId"] for item in E3_PLANS]
    assert sku.plan(EXCHANGE_PLAN_2) == Plan(EXCHANGE_PLAN_2, "EXCHANGE_S_ENTERPRISE", "Exchange Online (Plan 2)")
    assert sku.plan(NEW_PLAN) == Plan(NEW_PLAN, "COPILOT_CHAT_NEW", "COPILOT_CHAT_NEW")


def test_misspelt_sku_suggests_the_closest_subscribed_one_first(catalog: Catalog) -> None:
    text = message(catalog.sku, "Office 356 E3")
    assert text.startswith("Unknown SKU 'Office 356 E3'. Closest matches: 'Office 365 E3' (ENTERPRISEPACK), ")
    assert "(not subscribed)" in text.partition("(ENTERPRISEPACK)")[2]
    assert text.count("'") // 2 <= 4  # the name given plus at most three suggestions


def test_misspelt_part_number_is_suggested(catalog: Catalog) -> None:
    text = message(catalog.sku, "EXCHANGESTANDART")
    assert text.startswith(
        "Unknown SKU 'EXCHANGESTANDART'. Closest matches: 'Exchange Online (Plan 1)' (EXCHANGESTANDARD)"
    )


def test_unknown_sku_without_near_names_lists_the_tenant(catalog: Catalog) -> None:
    assert message(catalog.sku, "qwertyuiop") == (
        "Unknown SKU 'qwertyuiop'. Subscribed SKUs: 'Office 365 E3' (ENTERPRISEPACK), "
        "'Exchange Online (Plan 1)' (EXCHANGESTANDARD), 'CONTOSO_LAB_ADDON'."
    )
    unknown_guid = "00000000-0000-0000-0000-000000000001"
    assert message(catalog.sku, unknown_guid).startswith(f"Unknown SKU '{unknown_guid}'.")


@pytest.mark.parametrize("ref", ["SPE_E5", "Microsoft 365 E5", "06ebc4ee-1bb5-47dd-8120-11324bc54e06"])
def test_known_but_not_subscribed(catalog: Catalog, ref: str) -> None:
    assert message(catalog.sku, ref) == (
        f"SKU '{ref}' is 'Microsoft 365 E5' (SPE_E5) 06ebc4ee-1bb5-47dd-8120-11324bc54e06, which this tenant does not "
        "subscribe to. Subscribed SKUs: 'Office 365 E3' (ENTERPRISEPACK), 'Exchange Online (Plan 1)' "
        "(EXCHANGESTANDARD), 'CONTOSO_LAB_ADDON'."
    )


def test_not_subscribed_names_every_product_sharing_the_name(catalog: Catalog) -> None:
    text = message(catalog.sku, "Visio Plan 2")
    assert "(VISIOCLIENT) c5928f49-12ba-48f7-ada3-0d743a3601d5" in text
    assert "(VISIO_PLAN2_DEPT) 38b434d2-a15e-4cde-9a98-e737c75623e1" in text
    assert "which this tenant does not subscribe to" in text


def test_ambiguous_friendly_name_lists_both_part_numbers() -> None:
    tenant = Catalog(
        [
            subscribed_sku("c5928f49-12ba-48f7-ada3-0d743a3601d5", "VISIOCLIENT", [], enabled=5, consumed=1),
            subscribed_sku("38b434d2-a15e-4cde-9a98-e737c75623e1", "VISIO_PLAN2_DEPT", [], enabled=5, consumed=1),
        ]
    )
    text = message(tenant.sku, "visio plan 2")
    assert text.startswith("SKU 'visio plan 2' is ambiguous: it matches ")
    assert "'Visio Plan 2' (VISIOCLIENT) c5928f49-12ba-48f7-ada3-0d743a3601d5" in text
    assert "'Visio Plan 2' (VISIO_PLAN2_DEPT) 38b434d2-a15e-4cde-9a98-e737c75623e1" in text
    assert tenant.sku("VISIOCLIENT").sku_id == "c5928f49-12ba-48f7-ada3-0d743a3601d5"


def test_shared_friendly_name_prefers_the_subscribed_sku() -> None:
    tenant = Catalog([subscribed_sku("38b434d2-a15e-4cde-9a98-e737c75623e1", "VISIO_PLAN2_DEPT", [], 5, 1)])
    assert tenant.sku("Visio Plan 2").part_number == "VISIO_PLAN2_DEPT"


def test_tenant_only_sku_works_by_part_number_and_guid(catalog: Catalog) -> None:
    sku = catalog.sku("contoso_lab_addon")
    assert sku is catalog.sku(LAB_ADDON.upper())
    assert (sku.part_number, sku.name) == ("CONTOSO_LAB_ADDON", "CONTOSO_LAB_ADDON")
    assert sku.plans == (Plan(NEW_PLAN, "COPILOT_CHAT_NEW", "COPILOT_CHAT_NEW"),)
    assert sku.disabled_plans_for([]) == [NEW_PLAN]
    assert catalog.product_name(LAB_ADDON) == "CONTOSO_LAB_ADDON"


def test_empty_reference(catalog: Catalog) -> None:
    assert message(catalog.sku, "  ").startswith("An empty SKU name was given. Subscribed SKUs: ")


def test_empty_tenant() -> None:
    text = message(Catalog([]).sku, "Office 365 E3")
    assert text.endswith("which this tenant does not subscribe to. This tenant has no subscribed SKUs.")


def test_missing_service_plans_fall_back_to_microsofts_list() -> None:
    entry = {"skuId": E3, "skuPartNumber": "ENTERPRISEPACK"}  # as returned with $select=skuId,skuPartNumber
    sku = Catalog([entry]).sku("Office 365 E3")
    assert len(sku.plans) == 36
    assert sku.plan("Exchange Online (Plan 2)").plan_id == EXCHANGE_PLAN_2


# --- plans ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        EXCHANGE_PLAN_2,
        EXCHANGE_PLAN_2.upper(),
        "EXCHANGE_S_ENTERPRISE",
        "exchange_s_enterprise",
        "Exchange Online (Plan 2)",
        "EXCHANGE ONLINE (PLAN 2)",
        " exchange  online (plan 2) ",
    ],
)
def test_plan_by_guid_name_or_friendly_name(catalog: Catalog, ref: str) -> None:
    assert catalog.sku("ENTERPRISEPACK").plan(ref).plan_id == EXCHANGE_PLAN_2


def test_enabled_plans_become_the_complement_of_the_tenants_plan_list(catalog: Catalog) -> None:
    sku = catalog.sku("Office 365 E3")
    enabled = ["Exchange Online (Plan 2)", "TEAMS1", SHAREPOINT_PLAN_2, "microsoft 365 apps for enterprise"]
    disabled = sku.disabled_plans_for(enabled)
    tenant_plans = [item["servicePlanId"] for item in E3_PLANS]
    assert disabled == [
        plan for plan in tenant_plans if plan not in {EXCHANGE_PLAN_2, TEAMS, SHAREPOINT_PLAN_2, APPS_FOR_ENTERPRISE}
    ]
    assert NEW_PLAN in disabled  # a plan Microsoft adds later stays off until it is enabled
    assert sku.disabled_plans_for([]) == tenant_plans
    assert sku.disabled_plans_for([item["servicePlanId"] for item in E3_PLANS]) == []


def test_plan_the_sku_lacks_lists_the_skus_plans(catalog: Catalog) -> None:
    text = message(catalog.sku("EXCHANGESTANDARD").plan, "Exchange Online (Plan 2)")
    assert text == (
        "Service plan 'Exchange Online (Plan 2)' is not part of 'Exchange Online (Plan 1)' (EXCHANGESTANDARD). "
        "Closest matches: 'Exchange Online (Plan 1)' (EXCHANGE_S_STANDARD). "
        "Plans in 'Exchange Online (Plan 1)' (EXCHANGESTANDARD): 'Exchange Online (Plan 1)' (EXCHANGE_S_STANDARD), "
        "'Mobile Device Management for Office 365' (INTUNE_O365), 'To-Do (Plan 1)' (BPOS_S_TODO_1)."
    )


def test_misspelt_plan_suggests_the_closest(catalog: Catalog) -> None:
    text = message(catalog.sku("Office 365 E3").plan, "Exchange Online (Plan 3)")
    assert text.startswith(
        "Service plan 'Exchange Online (Plan 3)' is not part of 'Office 365 E3' (ENTERPRISEPACK). "
        "Closest matches: 'Exchange Online (Plan 2)' (EXCHANGE_S_ENTERPRISE)"
    )
    assert "Plans in 'Office 365 E3' (ENTERPRISEPACK): 'Azure Rights Management' (RMS_S_ENTERPRISE), " in text
    assert "'COPILOT_CHAT_NEW'." in text


def test_plan_guid_from_another_sku_is_named(catalog: Catalog) -> None:
    text = message(catalog.sku("Office 365 E3").plan, EXCHANGE_PLAN_1)
    assert text.startswith(
        f"Service plan '{EXCHANGE_PLAN_1}' (Exchange Online (Plan 1), EXCHANGE_S_STANDARD) is not part of "
        "'Office 365 E3' (ENTERPRISEPACK)."
    )


def test_unknown_plan_in_enabled_list_fails(catalog: Catalog) -> None:
    text = message(catalog.sku("Office 365 E3").disabled_plans_for, ["Microsoft Teams", "Microsoft Teems"])
    assert "Service plan 'Microsoft Teems' is not part of 'Office 365 E3'" in text
    assert "Closest matches: 'Microsoft Teams' (TEAMS1)" in text


def test_empty_plan_reference(catalog: Catalog) -> None:
    assert message(catalog.sku("Office 365 E3").plan, "").startswith(
        "An empty service plan name was given for 'Office 365 E3' (ENTERPRISEPACK). Plans in 'Office 365 E3'"
    )


def test_plan_matching_several_friendly_names_is_ambiguous() -> None:
    team_members = "7ac9fe77-66b7-4e5e-9e46-10eed1cff547"
    plans = [
        service_plan("7e6d7d78-73de-46ba-83b1-6d25117334ba", "FLOW_DYN_APPS"),
        service_plan("1ec58c70-f69c-486a-8109-4b87ce86e449", "FLOW_DYN_TEAM"),
    ]
    sku = Catalog([subscribed_sku(team_members, "DYN365_TEAM_MEMBERS", plans, 5, 0)]).sku("Dynamics 365 Team Members")
    text = message(sku.plan, "power automate for dynamics 365")
    assert text == (
        "Service plan 'power automate for dynamics 365' is ambiguous in 'Dynamics 365 Team Members' "
        "(DYN365_TEAM_MEMBERS): it matches 'Power Automate for Dynamics 365' (FLOW_DYN_APPS) "
        "7e6d7d78-73de-46ba-83b1-6d25117334ba, 'Power Automate for Dynamics 365' (FLOW_DYN_TEAM) "
        "1ec58c70-f69c-486a-8109-4b87ce86e449. Use the plan name or GUID instead."
    )
    assert sku.plan("FLOW_DYN_TEAM").plan_id == "1ec58c70-f69c-486a-8109-4b87ce86e449"


# --- names ----------------------------------------------------------------------------------------------------------


def test_sku_by_id(catalog: Catalog) -> None:
    assert catalog.sku_by_id(E3.upper()) is catalog.sku("ENTERPRISEPACK")
    e5 = catalog.sku_by_id("06ebc4ee-1bb5-47dd-8120-11324bc54e06")
    assert isinstance(e5, Sku)
    assert (e5.part_number, e5.name, e5.subscribed) == ("SPE_E5", "Microsoft 365 E5", None)
    assert catalog.sku_by_id("00000000-0000-0000-0000-000000000000") is None


def test_plan_name_falls_back_to_plan_name_then_id(catalog: Catalog) -> None:
    assert catalog.plan_name(EXCHANGE_PLAN_2) == "Exchange Online (Plan 2)"
    assert catalog.plan_name(EXCHANGE_PLAN_2.upper()) == "Exchange Online (Plan 2)"
    assert catalog.plan_name(NEW_PLAN) == "COPILOT_CHAT_NEW"
    assert catalog.plan_name("00000000-0000-0000-0000-000000000000") == "00000000-0000-0000-0000-000000000000"


def test_product_name(catalog: Catalog) -> None:
    assert catalog.product_name(E3) == "Office 365 E3"
    assert catalog.product_name("c7df2760-2c81-4ef7-b578-5b5392b571df") == "Office 365 E5"
    assert catalog.product_name("00000000-0000-0000-0000-000000000000") == "00000000-0000-0000-0000-000000000000"


def test_catalog_lists_the_tenants_skus_in_order(catalog: Catalog) -> None:
    assert [sku.part_number for sku in catalog.skus] == ["ENTERPRISEPACK", "EXCHANGESTANDARD", "CONTOSO_LAB_ADDON"]
    assert catalog.skus[0].label == "'Office 365 E3' (ENTERPRISEPACK)"
    assert catalog.skus[2].label == "'CONTOSO_LAB_ADDON'"


def test_catalog_error_is_a_value_error() -> None:
    assert issubclass(CatalogError, ValueError)


def test_describe_names_the_product_and_its_enabled_and_disabled_plans(catalog):
    e3 = catalog.sku("ENTERPRISEPACK")
    exchange = e3.plan("Exchange Online (Plan 2)")
    disabled = e3.disabled_plans_for(["Exchange Online (Plan 2)"])
    described = catalog.describe({"skuId": e3.sku_id.upper(), "disabledPlans": [plan.upper() for plan in disabled]})
    assert described["skuId"] == e3.sku_id
    assert described["skuPartNumber"] == "ENTERPRISEPACK"
    assert described["name"] == "Office 365 E3"
    assert described["enabledPlanNames"] == [exchange.friendly_name]
    assert described["disabledPlans"] == disabled
    assert len(described["disabledPlanNames"]) == len(e3.plans) - 1


def test_published_is_microsofts_entry_whatever_the_tenant_has(catalog):
    published = catalog.published(E3.upper())
    assert published is not None and published.subscribed is None
    assert NEW_PLAN not in {plan.plan_id for plan in published.plans}
    assert NEW_PLAN in {plan.plan_id for plan in catalog.sku(E3).plans}
    assert catalog.published(LAB_ADDON) is None
