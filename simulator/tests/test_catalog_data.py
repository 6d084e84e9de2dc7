"""Checks on the generated SKU catalogue the simulator seeds tenants from (tools/generate_sku_catalog.py)."""

from __future__ import annotations

import importlib.util
import json
import re
from importlib import resources
from pathlib import Path

import pytest

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
EXCHANGE_PLAN_2 = "efb87545-963c-4e0d-99df-69c6916d9eb0"
DATA_MODULE = Path(__file__).resolve().parents[2] / "plugins" / "module_utils" / "_sku_catalog_data.py"


@pytest.fixture(scope="module")
def catalog() -> dict:
    # Read through the package, as the simulator does, so a missing package-data entry fails here too.
    return json.loads(resources.files("entra_sim").joinpath("data/sku_catalog.json").read_text(encoding="utf-8"))


def test_source_is_recorded(catalog: dict) -> None:
    assert catalog["source"] == {
        "file": "licensing-service-plan-reference.csv",
        "title": "Product names and service plan identifiers for licensing",
        "microsoftLastUpdated": "2025-10-29",
        "sourceCommitDate": "2025-12-30",
        "sha256": "3665b48f640a1359a05d9f263c13000e5e7c8d6fa6447e1b0c999071bdd6f486",
    }


def test_office_365_e3_and_its_exchange_plan(catalog: dict) -> None:
    e3 = catalog["skus"][E3]
    assert (e3["skuPartNumber"], e3["productName"]) == ("ENTERPRISEPACK", "Office 365 E3")
    assert len(e3["servicePlans"]) == 36
    assert EXCHANGE_PLAN_2 in e3["servicePlans"]
    assert catalog["plans"][EXCHANGE_PLAN_2] == {
        "servicePlanName": "EXCHANGE_S_ENTERPRISE",
        "friendlyName": "Exchange Online (Plan 2)",
    }


@pytest.mark.parametrize(
    ("sku_id", "part_number", "name"),
    [
        ("05e9a617-0261-4cee-bb44-138d3ef5d965", "SPE_E3", "Microsoft 365 E3"),
        ("06ebc4ee-1bb5-47dd-8120-11324bc54e06", "SPE_E5", "Microsoft 365 E5"),
        ("c7df2760-2c81-4ef7-b578-5b5392b571df", "ENTERPRISEPREMIUM", "Office 365 E5"),
        ("18181a46-0d4e-45cd-891e-60aabd171b4e", "STANDARDPACK", "Office 365 E1"),
        ("4b9405b0-7788-4568-add1-99614e613b69", "EXCHANGESTANDARD", "Exchange Online (Plan 1)"),
        ("19ec0d23-8335-4cbd-94ac-6050e30712fa", "EXCHANGEENTERPRISE", "Exchange Online (Plan 2)"),
    ],
)
def test_well_known_skus(catalog: dict, sku_id: str, part_number: str, name: str) -> None:
    sku = catalog["skus"][sku_id]
    assert (sku["skuPartNumber"], sku["productName"]) == (part_number, name)


def test_counts_are_plausible(catalog: dict) -> None:
    # 569 products and 723 distinct plans in the 2025-10-29 table; a regeneration should stay in that range.
    assert 500 <= len(catalog["skus"]) <= 1000
    assert 600 <= len(catalog["plans"]) <= 1500
    assert sum(len(sku["servicePlans"]) for sku in catalog["skus"].values()) > 5000


def test_every_plan_of_every_sku_is_described(catalog: dict) -> None:
    for sku_id, sku in catalog["skus"].items():
        assert sku["servicePlans"], sku_id
        assert len(set(sku["servicePlans"])) == len(sku["servicePlans"]), sku_id
        for plan_id in sku["servicePlans"]:
            assert plan_id in catalog["plans"], (sku_id, plan_id)


def test_identifiers_and_names_are_clean(catalog: dict) -> None:
    for sku_id, sku in catalog["skus"].items():
        assert GUID.match(sku_id), sku_id
        for text in (sku["skuPartNumber"], sku["productName"]):
            assert text == " ".join(text.split()) and text, sku_id
    for plan_id, plan in catalog["plans"].items():
        assert GUID.match(plan_id), plan_id
        for text in (plan["servicePlanName"], plan["friendlyName"]):
            assert text == " ".join(text.split()) and text, plan_id


def test_friendly_names_prefer_readable_spellings(catalog: dict) -> None:
    plans = catalog["plans"]
    assert plans["9aaf7827-d63c-4b61-89c3-182f06f82e5c"]["friendlyName"] == "Exchange Online (Plan 1)"
    assert plans["113feb6c-3fe4-4440-bddc-54d774bf0318"]["friendlyName"] == "Exchange Foundation"
    assert plans["57ff2da0-773e-42df-b2af-ffb7a2317929"]["friendlyName"] == "Microsoft Teams"
    assert plans["5dbe027f-2339-4123-9542-606e4d348a72"]["friendlyName"] == "SharePoint (Plan 2)"


def test_untidy_source_rows_are_normalised(catalog: dict) -> None:
    # The CSV has this GUID with a trailing non-breaking space and the part number with one too.
    assert catalog["skus"]["420c7602-7f70-4895-9394-d3d679ea36fb"]["skuPartNumber"] == "MCOCAP_FACULTY"


def test_collection_data_module_states_the_same_facts(catalog: dict) -> None:
    """The generator writes both files from one CSV; a hand edit or a half-committed regeneration shows up here."""
    spec = importlib.util.spec_from_file_location("_sku_catalog_data", DATA_MODULE)
    assert spec is not None and spec.loader is not None
    data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(data)
    assert data.SOURCE == catalog["source"]
    assert {plan_id: {"servicePlanName": name, "friendlyName": friendly} for plan_id, name, friendly in data.PLANS} == (
        catalog["plans"]
    )
    skus = {
        sku_id: {"skuPartNumber": part, "productName": name, "servicePlans": [data.PLANS[i][0] for i in indexes]}
        for sku_id, part, name, indexes in data.SKUS
    }
    assert skus == catalog["skus"]
    assert list(skus) == list(catalog["skus"])
