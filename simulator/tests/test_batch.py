"""JSON batching (reference 3): limits, ids, urls, headers, dependencies, per-request answers and throttling."""

from __future__ import annotations

from conftest import ADELE, ALEX, IT_ADMINS, LYNNE, Graph

from entra_sim.testing import admin

JSON = {"Content-Type": "application/json"}


def ref(graph, user_id: str) -> dict:
    return {"@odata.id": f"{graph.base}/v1.0/directoryObjects/{user_id}"}


def member_adds(graph, group_id: str, users: list[str]) -> list[dict]:
    return [{"id": str(n), "method": "POST", "url": f"/groups/{group_id}/members/$ref", "headers": JSON,
             "body": ref(graph, user)} for n, user in enumerate(users, 1)]


def test_batch_runs_each_request_and_answers_200_with_per_request_results(graph):
    group = graph.create_group("Batched")
    requests = [*member_adds(graph, group["id"], [ADELE, ALEX]),
                {"id": "3", "method": "GET", "url": f"groups/{group['id']}/members?$select=id",
                 "dependsOn": ["1", "2"]},
                {"id": "4", "method": "GET", "url": "/groups/b2000000-0000-4000-8000-000000009999"}]
    response = graph.post("/$batch", {"requests": requests})
    assert response.status_code == 200
    answers = {r["id"]: r for r in response.json()["responses"]}
    assert answers["1"]["status"] == answers["2"]["status"] == 204
    assert "body" not in answers["1"] and answers["1"]["headers"]["x-ms-resource-unit"] == "1"
    assert [m["id"] for m in answers["3"]["body"]["value"]] == [ADELE, ALEX]
    assert answers["4"]["status"] == 404 and answers["4"]["body"]["error"]["code"] == "Request_ResourceNotFound"


def test_more_than_20_requests_is_refused_as_a_whole(ready, graph):
    group = graph.create_group("Batched")
    requests = [{"id": str(n), "method": "GET", "url": f"/groups/{group['id']}"} for n in range(21)]
    response = graph.post("/$batch", {"requests": requests})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The number of requests in a batch (21) exceeds the limit of 20."
    assert graph.post("/$batch", {"requests": requests[:20]}).status_code == 200


def test_duplicate_ids_are_compared_case_insensitively_and_refuse_the_batch(graph):
    group = graph.create_group("Batched")
    requests = [*member_adds(graph, group["id"], [ADELE]),
                {"id": "A", "method": "GET", "url": "/groups"}, {"id": "a", "method": "GET", "url": "/groups"}]
    response = graph.post("/$batch", {"requests": requests})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Batch request contains duplicate request id 'a'."
    assert graph.get(f"/groups/{group['id']}/members").json()["value"] == []


def test_a_body_needs_a_content_type_header(graph):
    group = graph.create_group("Batched")
    request = {"id": "1", "method": "POST", "url": f"/groups/{group['id']}/members/$ref", "body": ref(graph, ADELE)}
    response = graph.post("/$batch", {"requests": [request]})
    assert response.status_code == 400 and "Content-Type" in response.json()["error"]["message"]


def test_dependents_of_a_failed_request_get_424(graph):
    group = graph.create_group("Batched")
    graph.add_member(group["id"], ADELE)
    requests = member_adds(graph, group["id"], [ADELE, ALEX])
    requests[1]["dependsOn"] = ["1"]
    answers = {r["id"]: r for r in graph.post("/$batch", {"requests": requests}).json()["responses"]}
    assert answers["1"]["status"] == 400 and answers["2"]["status"] == 424
    assert [m["id"] for m in graph.get(f"/groups/{group['id']}/members?$select=id").json()["value"]] == [ADELE]


def test_inner_requests_are_authorised_one_by_one(ready):
    readonly = Graph(ready, "readonly")
    requests = [{"id": "1", "method": "GET", "url": f"/groups/{IT_ADMINS}?$select=id"},
                {"id": "2", "method": "PATCH", "url": f"/groups/{IT_ADMINS}", "headers": JSON,
                 "body": {"description": "x"}}]
    answers = {r["id"]: r for r in readonly.post("/$batch", {"requests": requests}).json()["responses"]}
    assert answers["1"]["status"] == 200
    assert answers["2"]["status"] == 403
    assert answers["2"]["body"]["error"]["message"] == "Insufficient privileges to complete the operation."


def test_an_inner_429_carries_its_own_retry_after_and_the_batch_still_answers_200(ready, graph):
    group = graph.create_group("Batched")
    admin(ready, "POST", "/faults", {"rules": [{"action": "throttle", "method": "POST",
                                                "path": "/v1.0/groups/*/members/$ref", "count": 1,
                                                "retry_after": 7}]})
    response = graph.post("/$batch", {"requests": member_adds(graph, group["id"], [ADELE, ALEX, LYNNE])})
    assert response.status_code == 200
    answers = {r["id"]: r for r in response.json()["responses"]}
    assert answers["1"]["status"] == 429 and answers["1"]["headers"]["Retry-After"] == "7"
    assert answers["1"]["body"]["error"]["code"] == "TooManyRequests"
    assert answers["2"]["status"] == answers["3"]["status"] == 204


def test_the_request_log_counts_each_inner_write_and_one_round_trip(ready, graph):
    group = graph.create_group("Batched")
    cursor = admin(ready, "GET", "/requests?since=0")["next"]
    requests = [*member_adds(graph, group["id"], [ADELE, ALEX]), {"id": "9", "method": "GET", "url": "/groups"}]
    graph.post("/$batch", {"requests": requests})
    log = admin(ready, "GET", f"/requests?since={cursor}")
    assert log["summary"] == {"round_trips": 1, "by_kind": {"graph": 1}, "by_method": {"POST": 2, "GET": 1},
                              "graph_reads": 1, "graph_writes": 2}
    entry = log["requests"][0]
    assert entry["path"] == "/v1.0/$batch" and [(i["id"], i["method"], i["status"]) for i in entry["inner"]] == [
        ("1", "POST", 204), ("2", "POST", 204), ("9", "GET", 200)]


def test_204_body_null_is_configurable(ready, graph):
    admin(ready, "PUT", "/config", {"batch_no_content_body_null": True})
    group = graph.create_group("Batched")
    answer = graph.post("/$batch", {"requests": member_adds(graph, group["id"], [ADELE])}).json()["responses"][0]
    assert answer["status"] == 204 and answer["body"] is None
