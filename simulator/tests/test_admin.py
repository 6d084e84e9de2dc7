"""The admin API: request log, reset, seeds, state, settings, resource-unit throttling."""

from __future__ import annotations

import urllib.error

import pytest
from conftest import ADELE, IT_ADMINS, Graph, error_of

from entra_sim.config import UNVERIFIED_ERRORS
from entra_sim.testing import admin


def test_request_log_records_graph_and_token_requests_but_not_admin_calls(ready):
    admin(ready, "DELETE", "/requests")
    cursor = admin(ready, "GET", "/requests?since=0")["next"]
    graph = Graph(ready)
    graph.get("/groups?$top=1")
    graph.patch(f"/groups/{IT_ADMINS}", {"description": "logged"})
    admin(ready, "GET", "/state")
    log = admin(ready, "GET", f"/requests?since={cursor}")
    token, read, write = log["requests"]
    assert token["kind"] == "token" and token["method"] == "POST" and token["app"] == ready["client_id"]
    assert (read["kind"], read["method"], read["path"], read["query"], read["status"]) == (
        "graph", "GET", "/v1.0/groups", "$top=1", 200)
    assert read["app"] == ready["client_id"] and read["seq"] == token["seq"] + 1 and read["time"].endswith("Z")
    assert (write["method"], write["status"]) == ("PATCH", 204)
    assert log["summary"] == {"round_trips": 3, "by_kind": {"token": 1, "graph": 2}, "by_method": {"GET": 1,
                              "PATCH": 1}, "graph_reads": 1, "graph_writes": 1}
    assert admin(ready, "GET", f"/requests?since={log['next']}")["requests"] == []
    admin(ready, "DELETE", "/requests")
    assert admin(ready, "GET", "/requests?since=0")["requests"] == []


def test_reset_restores_the_seed_default_settings_and_no_faults(ready, graph):
    graph.create_group("Temporary")
    admin(ready, "PUT", "/config", {"healthy_error_value": None})
    admin(ready, "POST", "/faults", {"read_after_write_lag": 5})
    admin(ready, "POST", "/reset")
    assert [g["displayName"] for g in graph.get("/groups").json()["value"]] == [
        "IT Admins", "Sales Team (dynamic)", "SG-Finance-OnPrem"]
    assert admin(ready, "GET", "/config")["healthy_error_value"] == "None"
    assert admin(ready, "GET", "/faults")["read_after_write_lag"] == 0


def test_a_seed_object_replaces_the_tenant_and_a_bad_one_is_refused(ready):
    seed = {"tenant": {"id": "11111111-2222-4333-8444-555555555555", "domain": "fabrikam.onmicrosoft.com"},
            "skus": [{"skuPartNumber": "SPE_E3", "prepaidUnits": {"enabled": 3}}],
            "users": [{"userPrincipalName": "ann@fabrikam.onmicrosoft.com", "usageLocation": "US",
                       "licenses": [{"skuPartNumber": "SPE_E3"}]}],
            "apps": [{"name": "ci", "client_id": "22222222-2222-4333-8444-555555555555", "client_secret": "s",
                      "roles": ["Directory.Read.All", "Organization.Read.All"]}]}
    info = admin(ready, "POST", "/seed", seed)
    assert info["tenant_id"] == seed["tenant"]["id"] and info["client_id"] == seed["apps"][0]["client_id"]
    graph = Graph(info, "ci")
    sku = graph.get("/subscribedSkus").json()["value"][0]
    assert (sku["skuPartNumber"], sku["consumedUnits"]) == ("SPE_E3", 1)
    with pytest.raises(urllib.error.HTTPError) as refused:
        admin(ready, "POST", "/seed", {**seed, "users": [{"displayName": "no upn"}]})
    assert "users[0]: 'userPrincipalName' is required" in refused.value.read().decode()
    assert admin(ready, "GET", "/state")["tenant"]["org"]["id"] == seed["tenant"]["id"]


def test_state_dumps_the_tenant_and_licence_counts(ready):
    state = admin(ready, "GET", "/state")
    assert state["seed"] == "article" and len(state["tenant"]["users"]) == 14
    assert state["licensing"]["consumed"]["6fd2c87f-b296-42f0-b197-1e91e994b900"] == 1


def test_config_lists_every_unverified_behaviour_and_refuses_unknown_settings(ready):
    config = admin(ready, "GET", "/config")
    assert set(config["errors"]) == set(UNVERIFIED_ERRORS)
    assert config["license_processing_delay"] == 2.0 and config["throttling"]["enabled"] is False
    assert config["permissions"]["groups.members.write"][0] == "GroupMember.ReadWrite.All"
    for bad in ({"nope": 1}, {"healthy_error_value": "none"}, {"errors": {"nope": {}}},
                {"throttling": {"enabled": "yes"}}, {"inherited_usage_location": "city"}, {"permissions": {"x": []}}):
        with pytest.raises(urllib.error.HTTPError):
            admin(ready, "PUT", "/config", bad)
    assert admin(ready, "GET", "/config") == config


def test_resource_unit_throttling_answers_429_with_the_throttle_headers(ready, graph):
    admin(ready, "PUT", "/config", {"throttling": {"enabled": True, "read_units_per_10s": 5}})
    first = graph.get("/users?$top=1")  # GET users costs 2, $top under 20 takes 1 off
    assert first.status_code == 200 and first.headers["x-ms-resource-unit"] == "1"
    assert graph.get("/users").headers["x-ms-resource-unit"] == "2"
    warned = graph.get("/users")
    assert warned.status_code == 200 and warned.headers["x-ms-throttle-limit-percentage"] == "1.0"
    throttled = graph.get("/users")
    assert error_of(throttled) == (429, "TooManyRequests", "Please retry again later.")
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.headers["x-ms-throttle-scope"] == (
        f"Tenant_Application/ReadWrite/{ready['client_id']}/{ready['tenant_id']}")
    assert throttled.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"


def test_write_quota_throttling(ready, graph):
    admin(ready, "PUT", "/config", {"throttling": {"enabled": True, "writes_per_150s": 2}})
    group = graph.create_group("Quota")
    assert graph.add_member(group["id"], ADELE).status_code == 204
    throttled = graph.patch(f"/groups/{group['id']}", {"description": "x"})
    assert throttled.status_code == 429 and throttled.headers["x-ms-throttle-information"] == "WriteLimitExceeded"


def test_settle_finishes_pending_processing(ready, graph):
    group = graph.create_group("Pending")
    graph.add_member(group["id"], ADELE)
    graph.post(f"/groups/{group['id']}/assignLicense", {"addLicenses": [{"skuId": "6fd2c87f-b296-42f0-b197-"
                                                                         "1e91e994b900"}], "removeLicenses": []})
    assert admin(ready, "GET", "/state")["licensing"]["pending"] == 1
    assert admin(ready, "POST", "/settle") == {"pending": 0}


def test_the_permission_table_can_be_overridden(ready, graph):
    admin(ready, "PUT", "/config", {"permissions": {"groups.read": ["Directory.ReadWrite.All"]}})
    assert error_of(graph.get("/groups"))[0] == 403
    admin(ready, "PUT", "/config", {"permissions": {"groups.read": ["Directory.Read.All"]}})
    assert graph.get("/groups").status_code == 200
