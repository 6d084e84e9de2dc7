# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readable licensing views and summaries, from Microsoft's documented response examples."""

from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.entra.licensing.plugins.module_utils.licensing import has_error
from ansible_collections.entra.licensing.plugins.module_utils.licensing_report import Summary, license_views, name_groups, sku_view, user_view
from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import Catalog

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
EMS = "efccb6f7-5641-4e0e-bd10-b4976e1bf68e"
GROUP = "1132b215-826f-42a9-8cfe-1643d19d17fd"
EMS_GROUP = "9f1c6c9d-0000-4000-8000-000000000001"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_sku_view_of_the_documented_example() -> None:
    entry = load("subscribed_skus.json")["value"][0]
    view = sku_view(Catalog([entry]), entry)
    assert view == {
        "skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df",
        "skuPartNumber": "ENTERPRISEPREMIUM",
        "name": "Office 365 E5",
        "capabilityStatus": "Enabled",
        "appliesTo": "User",
        "prepaidUnits": {"enabled": 25, "suspended": 0, "warning": 0, "lockedOut": 0},
        "consumedUnits": 14,
        "available": 11,
        "subscriptionIds": ["43d26afe-cb98-48b9-acc4-ae3ef2ac6c51"],
        "servicePlans": [
            {
                "servicePlanId": "8c098270-9dd4-4350-9b30-ba4703f3b36b",
                "servicePlanName": "ADALLOM_S_O365",
                "name": Catalog([]).plan_name("8c098270-9dd4-4350-9b30-ba4703f3b36b"),
                "provisioningStatus": "Success",
                "appliesTo": "Company",
            }
        ],
    }
    assert view["servicePlans"][0]["name"] != "ADALLOM_S_O365"  # the friendly name from Microsoft's table


def test_same_product_direct_and_inherited_shows_two_paths() -> None:
    adele = load("user_license_assignment_states.json")
    record = user_view(Catalog([]), adele, {GROUP: "GBL-O365-E3"})
    assert [view["name"] for view in record["licenses"]] == ["Enterprise Mobility + Security E3", "Office 365 E3"]
    ems, e3 = record["licenses"]
    assert e3["state"] == "Active"
    assert [(p["direct"], p["assignedByGroup"], p["group_name"], p["error"]) for p in e3["paths"]] == [
        (True, None, None, None),  # Graph's "None" means no error
        (False, GROUP, "GBL-O365-E3", None),
    ]
    assert e3["paths"][1]["disabledPlanNames"] == ["Exchange Foundation"]
    assert len(e3["paths"][0]["enabledPlanNames"]) == 36
    assert (ems["state"], ems["paths"][0]["error"], ems["paths"][0]["group_name"]) == ("Error", "CountViolation", None)
    assert record["userPrincipalName"] == "adele@contoso.com" and record["usageLocation"] == "US"


def test_only_errors_keeps_products_with_a_failing_path() -> None:
    states = load("user_license_assignment_states.json")["licenseAssignmentStates"]
    views = license_views(Catalog([]), states, {}, only_errors=True)
    assert [view["skuId"] for view in views] == [EMS]
    assert has_error({"state": "ActiveWithError", "error": "None"})
    assert not has_error({"state": "Active", "error": None})


def test_group_names_filled_in_later_and_paths_ordered() -> None:
    states = [
        {"assignedByGroup": "b-group", "skuId": E3, "disabledPlans": [], "state": "Active", "error": None},
        {"assignedByGroup": "a-group", "skuId": E3, "disabledPlans": [], "state": "Active", "error": None},
        {"assignedByGroup": None, "skuId": E3, "disabledPlans": [], "state": "Active", "error": None},
    ]
    record = user_view(Catalog([]), {"id": "u", "licenseAssignmentStates": states}, {})
    name_groups([record], {"a-group": "Zulu", "b-group": "Alpha"})
    assert [p["group_name"] for p in record["licenses"][0]["paths"]] == [None, "Alpha", "Zulu"]


def test_summary_by_product_error_and_path() -> None:
    catalog = Catalog([])
    adele = user_view(catalog, load("user_license_assignment_states.json"), {})
    ben = user_view(
        catalog,
        {"id": "b", "licenseAssignmentStates": [{"assignedByGroup": None, "skuId": E3, "disabledPlans": [], "state": "Active", "error": None}]},
        {},
    )
    cleo = user_view(
        catalog,
        {
            "id": "c",
            "licenseAssignmentStates": [{"assignedByGroup": EMS_GROUP, "skuId": EMS, "disabledPlans": [], "state": "Error", "error": "CountViolation"}],
        },
        {},
    )
    summary = Summary()
    for record in (adele, ben, cleo):
        summary.add(record)
    result = summary.result()
    assert result["users"] == 3 and result["licenses"] == 4
    assert result["by_error"] == {"CountViolation": 2}
    assert result["assignment"] == {"direct_only": 1, "group_only": 2, "both": 1}
    ems, e3 = result["by_sku"]
    assert e3 == {"skuId": E3, "skuPartNumber": "ENTERPRISEPACK", "name": "Office 365 E3", "users": 2, "direct": 2, "group": 1, "both": 1, "errors": 0}
    assert (ems["name"], ems["users"], ems["group"], ems["errors"]) == ("Enterprise Mobility + Security E3", 2, 2, 2)
    assert Summary().result() == {"users": 0, "licenses": 0, "by_sku": [], "by_error": {}, "assignment": {"direct_only": 0, "group_only": 0, "both": 0}}
