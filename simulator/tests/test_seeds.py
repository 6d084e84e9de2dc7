"""Seeds: the generated large tenant, seed files in the documented schema, and the errors for bad seeds."""

from __future__ import annotations

import json
import threading

import pytest
from conftest import E3, Graph

from entra_sim.catalog import load_catalog
from entra_sim.model.seeding import SeedError, build_tenant
from entra_sim.seeds import builtin, load_seed
from entra_sim.testing import admin


def test_the_large_generator_builds_users_in_licensed_groups_and_pages_by_999(ready):
    admin(ready, "POST", "/seed", {"seed": "large:users=3000,groups=30"})
    graph = Graph(ready)
    skus = {s["skuPartNumber"]: s["consumedUnits"] for s in graph.get("/subscribedSkus").json()["value"]}
    assert skus["ENTERPRISEPACK"] == 300  # the first tenth of the groups hold E3, 100 users each
    pages, url = 0, "/users?$top=999&$select=id"
    while url:
        pages += 1
        url = graph.get(url).json().get("@odata.nextLink")
    assert pages == 4
    licensed = graph.get(f"/users?$filter=assignedLicenses/any(x:x/skuId eq {E3})&$count=true&$top=1",
                         headers={"ConsistencyLevel": "eventual"}).json()
    assert licensed["@odata.count"] == 300


def test_the_default_large_seed_has_100000_users_and_1000_groups():
    tenant = build_tenant(load_seed("large"), threading.RLock(), load_catalog())
    assert (len(tenant.users), len(tenant.groups)) == (100_000, 1_000)


def test_a_seed_file_in_the_documented_schema_loads(tmp_path):
    seed = builtin("article")
    seed["users"].append({"userPrincipalName": "new@contoso.onmicrosoft.com", "usageLocation": "DE",
                          "licenses": [{"skuId": E3, "disabledPlans": ["EXCHANGE_S_ENTERPRISE"]}]})
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps(seed))
    tenant = build_tenant(load_seed(str(path)), threading.RLock(), load_catalog())
    new = tenant.find_user("NEW@contoso.onmicrosoft.com")
    assert new["_direct"] == {E3: {"disabledPlans": ["efb87545-963c-4e0d-99df-69c6916d9eb0"], "_seq": 0}}
    assert new["displayName"] == "new" and new["accountEnabled"] is True


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s["skus"].append({"skuPartNumber": "NOT_A_SKU"}), "skus[3]: 'NOT_A_SKU' is not in the catalogue"),
    (lambda s: s["users"][0].update(licenses=[{"skuPartNumber": "SPE_E5"}]), "the tenant has no SKU 'SPE_E5'"),
    (lambda s: s["users"][0].update(id="x"), "users[0].id: 'x' is not a GUID"),
    (lambda s: s.update(colour="blue"), "seed: unknown key(s) ['colour']"),
    (lambda s: s["plan_rules"]["dependencies"].append({"plan": "NOPE", "requires": []}), "unknown service plan 'NOPE'"),
    (lambda s: s["groups"][0].update(members=["ghost@contoso.onmicrosoft.com"]), "no user or group 'ghost@"),
    (lambda s: s.update(default_app="missing"), "default_app 'missing' names no app"),
    (lambda s: s.update(users="nobody"), "seed: malformed"),
])
def test_invalid_seeds_are_refused_with_the_place_and_the_reason(change, message):
    seed = builtin("article")
    change(seed)
    with pytest.raises(SeedError) as refused:
        build_tenant(seed, threading.RLock(), load_catalog())
    assert message in str(refused.value)
