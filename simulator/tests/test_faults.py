"""Injected faults: throttling with each Retry-After form, 5xx bursts, dropped connections, latency,
read-after-write lag."""

from __future__ import annotations

import pytest
import requests
from conftest import ADELE, IT_ADMINS, error_of

from entra_sim.testing import admin


def fault(ready, **rule) -> None:
    admin(ready, "POST", "/faults", {"rules": [rule]})


@pytest.mark.parametrize("retry_after", [3, 2.128, "Wed, 21 Oct 2026 07:28:00 GMT"])
def test_throttle_the_next_n_requests_with_each_retry_after_form(ready, graph, retry_after):
    fault(ready, action="throttle", method="GET", path="/v1.0/groups/*", count=2, retry_after=retry_after)
    for _ in range(2):
        response = graph.get(f"/groups/{IT_ADMINS}")
        assert response.status_code == 429 and response.headers["Retry-After"] == str(retry_after)
        error = response.json()["error"]
        assert (error["code"], error["message"]) == ("TooManyRequests", "Please retry again later.")
        assert error["innerError"]["code"] == "429" and error["innerError"]["status"] == "429"
    assert graph.get(f"/groups/{IT_ADMINS}").status_code == 200
    assert graph.get("/groups").status_code == 200  # the glob needs a segment after /groups


def test_a_share_of_requests_is_hit_in_a_fixed_pattern(ready, graph):
    fault(ready, action="error", status=503, path="/v1.0/organization", share=0.5)
    statuses = [graph.get("/organization").status_code for _ in range(5)]
    assert statuses == [200, 503, 200, 503, 200]
    assert error_of(graph.get("/organization"))[:2] == (503, "serviceNotAvailable")


def test_server_error_bursts_use_graph_error_bodies(ready, graph):
    fault(ready, action="error", status=504, count=1)
    assert error_of(graph.get("/groups"))[:2] == (504, "GatewayTimeout")
    fault(ready, action="error", status=500, count=1, code="generalException", message="Boom")
    assert error_of(graph.get("/groups")) == (500, "generalException", "Boom")


def test_throttled_token_endpoint_answers_oauth_style(ready, graph):
    fault(ready, action="throttle", method="POST", path="/*/oauth2/v2.0/token", count=1, retry_after=1)
    response = graph.session.post(f"{ready['authority_host']}/{ready['tenant_id']}/oauth2/v2.0/token", data={})
    assert response.status_code == 429 and response.json()["error"] == "temporarily_unavailable"


def test_a_dropped_connection_closes_the_socket_without_an_answer(ready, graph):
    fault(ready, action="drop", path="/v1.0/groups", count=1)
    with pytest.raises(requests.ConnectionError):
        graph.get("/groups")
    assert graph.get("/groups").status_code == 200
    entries = admin(ready, "GET", "/requests?since=0")["requests"]
    assert any(e.get("dropped") and e["status"] is None for e in entries)


def test_latency_delays_but_answers(ready, graph):
    fault(ready, action="latency", path="/v1.0/organization", latency_ms=5, count=1)
    assert graph.get("/organization").status_code == 200


def test_read_after_write_lag_hides_new_groups_and_refuses_member_adds(ready, graph):
    admin(ready, "POST", "/faults", {"read_after_write_lag": 30})
    group = graph.create_group("Fresh")
    assert error_of(graph.get(f"/groups/{group['id']}")) == (
        404, "Request_ResourceNotFound", f"Resource '{group['id']}' does not exist or one of its queried "
                                         "reference-property objects are not present.")
    assert error_of(graph.add_member(group["id"], ADELE)) == (
        400, "Request_BadRequest", "The source resource object or one of the objects being referenced don't exist.")
    names = [g["displayName"] for g in graph.get("/groups?$select=displayName").json()["value"]]
    assert "Fresh" not in names
    admin(ready, "POST", "/faults", {"read_after_write_lag": 0})
    assert graph.add_member(group["id"], ADELE).status_code == 204


def test_invalid_fault_rules_are_refused(ready):
    with pytest.raises(Exception, match="400"):
        admin(ready, "POST", "/faults", {"rules": [{"action": "explode"}]})
    assert admin(ready, "GET", "/faults")["rules"] == []


def test_round_trip_latency_skips_requests_inside_a_batch(ready, graph):
    fault(ready, action="latency", path="/v1.0/organization", latency_ms=1, top_level_only=True)
    batch = graph.post("/$batch", json={"requests": [{"id": "1", "method": "GET", "url": "/organization"}]})
    assert batch.status_code == 200 and batch.json()["responses"][0]["status"] == 200
    assert admin(ready, "GET", "/faults")["rules"][0]["fired"] == 0
    assert graph.get("/organization").status_code == 200
    assert admin(ready, "GET", "/faults")["rules"][0]["fired"] == 1
