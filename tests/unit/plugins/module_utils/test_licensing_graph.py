# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Licensing reads and writes through the real GraphClient, over a fake Graph that records every round trip."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import requests

from ansible_collections.entra.licensing.plugins.module_utils.auth import AccessTokenCredential
from ansible_collections.entra.licensing.plugins.module_utils.client import GraphClient
from ansible_collections.entra.licensing.plugins.module_utils.directory import find_users, resolve_objects
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.licensing import LicenseChange, LicensingError, failed_paths, resolve_licenses
from ansible_collections.entra.licensing.plugins.module_utils.licensing_graph import (
    assign_licenses,
    group_names,
    members_with_errors,
    name_guids,
    read_user_and_catalog,
    users_with_sku,
    wait_for_groups,
)
from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import Catalog
from ansible_collections.entra.licensing.plugins.module_utils.transport import Backoff

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ROOT = "https://graph.example/v1.0"
GROUP = "1132b215-826f-42a9-8cfe-1643d19d17fd"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
ADELE = json.loads((FIXTURES / "user_license_assignment_states.json").read_text(encoding="utf-8"))
SKUS = json.loads((FIXTURES / "subscribed_skus.json").read_text(encoding="utf-8"))


class Response:
    def __init__(self, status: int, body=None) -> None:
        self.status_code = status
        self._body = body
        self.headers = requests.structures.CaseInsensitiveDict({})
        self.content = b"" if body is None else b"x"

    def json(self):
        return self._body


def not_found(path: str) -> tuple[int, dict]:
    return 404, {"error": {"code": "Request_ResourceNotFound", "message": f"Resource '{path}' does not exist."}}


class FakeGraph:
    """Routes (method, path) to handlers taking the query; answers $batch by routing each inner request."""

    def __init__(self, routes: dict) -> None:
        self.routes = routes
        self.round_trips: list[str] = []
        self.inner: list[str] = []

    def answer(self, method: str, path: str, query: dict, body) -> tuple[int, object]:
        handler = self.routes.get((method, path))
        if handler is None:
            return not_found(path)
        return handler(query, body) if callable(handler) else (200, handler)

    def request(self, method, url, params=None, json=None, headers=None):
        parts = urlsplit(url)
        path = unquote(parts.path).removeprefix("/v1.0")
        query = dict(parse_qsl(parts.query)) | dict(params or {})
        self.round_trips.append(f"{method} {path}")
        if path == "/$batch":
            responses = []
            for item in json["requests"]:
                inner = urlsplit(item["url"])
                inner_path = unquote(inner.path)
                self.inner.append(f"{item['method']} {inner_path}")
                status, body = self.answer(item["method"], inner_path, dict(parse_qsl(inner.query)), item.get("body"))
                responses.append({"id": item["id"], "status": status, "headers": {}, "body": body})
            return Response(200, {"responses": list(reversed(responses))})
        status, body = self.answer(method, path, query, json)
        return Response(status, body)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client_for(graph: FakeGraph) -> GraphClient:
    return GraphClient(graph, "https://graph.example", AccessTokenCredential("token"), retry_timeout=5)


def test_user_and_products_in_one_round_trip() -> None:
    graph = FakeGraph({("GET", "/users/adele@contoso.com"): ADELE, ("GET", "/subscribedSkus"): SKUS})
    user, catalog = read_user_and_catalog(client_for(graph), "adele@contoso.com")
    assert graph.round_trips == ["POST /$batch"]
    assert user["id"] == ADELE["id"]
    assert catalog.sku("Office 365 E5").part_number == "ENTERPRISEPREMIUM"


def test_unknown_user_is_named() -> None:
    graph = FakeGraph({("GET", "/subscribedSkus"): SKUS})
    with pytest.raises(GraphError) as caught:
        read_user_and_catalog(client_for(graph), "nobody@contoso.com")
    assert str(caught.value).startswith("No user 'nobody@contoso.com' exists in the tenant")


def where_in(objects: list[dict]):
    """A collection route answering ``prop in ('a', 'b')`` filters (Graph compares case-insensitively)."""

    def answer(query, body):
        match = re.fullmatch(r"(\w+) in \((.*)\)", query["$filter"])
        prop, values = match.group(1), {value.replace("''", "'").casefold() for value in re.findall(r"'((?:[^']|'')*)'", match.group(2))}
        assert len(values) <= 15, "Graph takes at most 15 values in an in-list"
        return 200, {"value": [item for item in objects if str(item.get(prop, "")).casefold() in values]}

    return answer


USERS = [{"id": f"a1000000-0000-4000-8000-{n:012d}", "userPrincipalName": f"user{n}@contoso.com"} for n in range(400)]


def test_users_by_upn_and_id_take_fifteen_per_query_and_twenty_queries_per_round_trip() -> None:
    graph = FakeGraph({("GET", "/users"): where_in(USERS)})
    references = [user["userPrincipalName"].upper() for user in USERS[:300]] + [USERS[300]["id"].upper(), "user3@contoso.com", "ghost@contoso.com"]
    found, missing = find_users(client_for(graph), references, ("id",))
    assert len(found) == 302
    assert found["USER7@CONTOSO.COM"]["id"] == USERS[7]["id"]
    assert found[USERS[300]["id"].upper()]["userPrincipalName"] == "user300@contoso.com"
    assert missing == ["ghost@contoso.com"]
    assert graph.round_trips == ["POST /$batch"] * 2
    assert len(graph.inner) == 20 + 2


def test_ids_that_are_not_users_are_looked_up_as_groups_without_directory_read_all() -> None:
    group = {"id": GROUP, "displayName": "O365_Licenses_E3_Base"}
    graph = FakeGraph({("GET", "/users"): where_in(USERS), ("GET", "/groups"): where_in([group])})
    found, missing = resolve_objects(client_for(graph), [USERS[0]["id"], GROUP, "9f1c6c9d-0000-4000-8000-000000000001"])
    assert found[GROUP]["@odata.type"] == "#microsoft.graph.group"
    assert found[USERS[0]["id"]]["@odata.type"] == "#microsoft.graph.user"
    assert missing == ["9f1c6c9d-0000-4000-8000-000000000001"]
    assert not any("directoryObjects" in request for request in graph.inner)


def test_group_names_in_batches_and_deleted_groups() -> None:
    graph = FakeGraph({("GET", "/groups"): where_in([{"id": GROUP, "displayName": "O365_Licenses_E3_Base"}])})
    names = group_names(client_for(graph), {GROUP.upper(), "9f1c6c9d-0000-4000-8000-000000000001"})
    assert names == {GROUP: "O365_Licenses_E3_Base", "9f1c6c9d-0000-4000-8000-000000000001": None}
    assert graph.round_trips == ["POST /$batch"]


def test_assign_license_sends_both_arrays() -> None:
    seen = []

    def assign(query, body):
        seen.append(body)
        return 202, {"id": GROUP}

    graph = FakeGraph({("POST", f"/groups/{GROUP}/assignLicense"): assign})
    catalog = Catalog(SKUS["value"])
    change = LicenseChange(add=resolve_licenses(catalog, [{"sku": "Office 365 E5"}]))
    assign_licenses(client_for(graph), f"/groups/{GROUP}", change, catalog)
    assert seen == [{"addLicenses": [{"skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df", "disabledPlans": []}], "removeLicenses": []}]


def test_graphs_guids_in_licensing_errors_get_names() -> None:
    message = "License assignment failed because service plans 9aaf7827-d63c-4b61-89c3-182f06f82e5c,EFB87545-963C-4E0D-99DF-69C6916D9EB0 are mutually exclusive"

    def refuse(query, body):
        return 400, {"error": {"code": "Request_BadRequest", "message": message, "innerError": {"request-id": "r-1"}}}

    graph = FakeGraph({("POST", f"/users/{ADELE['id']}/assignLicense"): refuse})
    catalog = Catalog(SKUS["value"])
    with pytest.raises(GraphError) as caught:
        assign_licenses(client_for(graph), f"/users/{ADELE['id']}", LicenseChange(remove=[E3]), catalog)
    error = caught.value
    assert error.message.endswith(
        f"{message} (9aaf7827-d63c-4b61-89c3-182f06f82e5c: Exchange Online (Plan 1); efb87545-963c-4e0d-99df-69c6916d9eb0: Exchange Online (Plan 2))"
    )
    assert (error.status, error.code, error.request_id) == (400, "Request_BadRequest", "r-1")
    unknown = GraphError(f"License {E3} does not correspond to a valid company License.", status=400)
    assert name_guids(unknown, catalog).message.endswith(f"({E3}: Office 365 E3)")
    plain = GraphError("Insufficient privileges to complete the operation.", status=403)
    assert name_guids(plain, catalog) is plain


MEMBERS = f"/groups/{GROUP}/members/microsoft.graph.user"
E3_ASSIGNED = [{"skuId": E3, "disabledPlans": []}]


def member(upn: str, *paths: dict) -> dict:
    return {"id": f"id-{upn}", "userPrincipalName": upn, "licenseAssignmentStates": list(paths)}


def group_path(state: str = "Active", error: str | None = None) -> dict:
    return {"assignedByGroup": GROUP, "skuId": E3, "disabledPlans": [], "state": state, "error": error}


def test_wait_polls_with_backoff_until_processing_completes() -> None:
    states = iter(["QueuedForProcessing", "ProcessingInProgress", "ProcessingInProgress", "ProcessingComplete"])

    def read(query, body):
        assert set(query["$select"].split(",")) == {"id", "displayName", "assignedLicenses", "licenseProcessingState"}
        return 200, {"id": GROUP, "displayName": "Base", "assignedLicenses": E3_ASSIGNED, "licenseProcessingState": {"state": next(states)}}

    failed = member("b@contoso.com", group_path("Error", "CountViolation"))
    graph = FakeGraph({("GET", f"/groups/{GROUP}"): read, ("GET", MEMBERS): {"value": [member("a@contoso.com", group_path()), failed]}})
    clock = Clock()
    group, members = wait_for_groups(client_for(graph), [GROUP], 60, sleep=clock.sleep, clock=clock.monotonic, backoff=Backoff(1, 15, rand=lambda: 1.0))[GROUP]
    assert group["licenseProcessingState"] == {"state": "ProcessingComplete"}
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert graph.inner.count(f"GET {MEMBERS}") == 1  # members are read once the state says complete
    assert [entry["error"] for entry in failed_paths(Catalog([]), GROUP, members)] == ["CountViolation"]


def test_wait_is_not_fooled_by_a_state_read_before_the_members_were_reached() -> None:
    reads = iter([[member("a@contoso.com")], [member("a@contoso.com", group_path())]])
    graph = FakeGraph(
        {
            ("GET", f"/groups/{GROUP}"): {
                "id": GROUP,
                "displayName": "Base",
                "assignedLicenses": E3_ASSIGNED,
                "licenseProcessingState": {"state": "ProcessingComplete"},
            },
            ("GET", MEMBERS): lambda query, body: (200, {"value": next(reads)}),
        }
    )
    clock = Clock()
    group, members = wait_for_groups(client_for(graph), [GROUP], 60, sleep=clock.sleep, clock=clock.monotonic, backoff=Backoff(1, 15, rand=lambda: 1.0))[GROUP]
    assert clock.sleeps == [1.0]
    assert group["licenseProcessingState"] == {"state": "ProcessingComplete"}
    assert members[0]["licenseAssignmentStates"] == [group_path()]


def test_wait_gives_up_at_the_timeout_with_the_state() -> None:
    graph = FakeGraph({("GET", f"/groups/{GROUP}"): {"id": GROUP, "displayName": "Base", "licenseProcessingState": {"state": "ProcessingInProgress"}}})
    clock = Clock()
    with pytest.raises(LicensingError) as caught:
        wait_for_groups(client_for(graph), [GROUP], 10, sleep=clock.sleep, clock=clock.monotonic, backoff=Backoff(1, 15, rand=lambda: 1.0))
    assert "of group 'Base' (licenseProcessingState: ProcessingInProgress) within wait_timeout=10s" in str(caught.value)
    assert caught.value.details == {
        "groups_pending": [{"id": GROUP, "displayName": "Base", "licenseProcessingState": {"state": "ProcessingInProgress"}, "members_pending": []}]
    }
    assert clock.now <= 10


def test_wait_names_the_members_not_reached_at_the_timeout() -> None:
    graph = FakeGraph(
        {
            ("GET", f"/groups/{GROUP}"): {
                "id": GROUP,
                "displayName": "Base",
                "assignedLicenses": E3_ASSIGNED,
                "licenseProcessingState": {"state": "ProcessingComplete"},
            },
            ("GET", MEMBERS): {"value": [member("late@contoso.com")]},
        }
    )
    clock = Clock()
    with pytest.raises(LicensingError) as caught:
        wait_for_groups(client_for(graph), [GROUP], 5, sleep=clock.sleep, clock=clock.monotonic, backoff=Backoff(1, 15, rand=lambda: 1.0))
    assert "(licenseProcessingState: ProcessingComplete; 1 member(s) not reached yet)" in str(caught.value)
    assert caught.value.details["groups_pending"][0]["members_pending"] == [{"id": "id-late@contoso.com", "userPrincipalName": "late@contoso.com"}]


def test_wait_ends_for_a_group_without_licenses_or_members() -> None:
    graph = FakeGraph({("GET", f"/groups/{GROUP}"): {"id": GROUP, "displayName": "Base", "licenseProcessingState": None}, ("GET", MEMBERS): {"value": []}})
    group, members = wait_for_groups(client_for(graph), [GROUP], 10)[GROUP]
    assert (group["id"], members) == (GROUP, [])


def test_members_with_errors_lists_this_groups_failures() -> None:
    other_group = "9f1c6c9d-0000-4000-8000-000000000001"
    failing = dict(ADELE)
    failing["licenseAssignmentStates"] = [
        dict(state, assignedByGroup=GROUP if state["assignedByGroup"] == other_group else state["assignedByGroup"])
        for state in ADELE["licenseAssignmentStates"]
    ]
    graph = FakeGraph({("GET", f"/groups/{GROUP}/membersWithLicenseErrors/microsoft.graph.user"): {"value": [failing]}})
    [entry] = members_with_errors(client_for(graph), Catalog([]), [GROUP])[GROUP]
    assert entry == {
        "id": ADELE["id"],
        "userPrincipalName": "adele@contoso.com",
        "skuId": "efccb6f7-5641-4e0e-bd10-b4976e1bf68e",
        "skuPartNumber": "EMS",
        "sku": "Enterprise Mobility + Security E3",
        "state": "Error",
        "error": "CountViolation",
        "lastUpdatedDateTime": "2024-05-02T08:31:00Z",
    }


def test_users_of_a_product_include_those_whose_group_path_failed() -> None:
    holder = {"id": "A", "userPrincipalName": "a@contoso.com"}
    failed = {"id": "B", "userPrincipalName": "b@contoso.com"}

    def users(query, body):
        assert query["$filter"] == f"assignedLicenses/any(x:x/skuId eq {E3})"
        return 200, {"value": [holder]}

    def groups(query, body):
        assert query["$filter"] == f"assignedLicenses/any(x:x/skuId eq {E3})"
        return 200, {"value": [{"id": GROUP, "displayName": "Base"}]}

    graph = FakeGraph(
        {
            ("GET", "/users"): users,
            ("GET", "/groups"): groups,
            ("GET", f"/groups/{GROUP}/membersWithLicenseErrors/microsoft.graph.user"): {"value": [failed, holder]},
        }
    )
    names: dict = {}
    found = list(users_with_sku(client_for(graph), E3.upper(), ("id", "userPrincipalName"), names))
    assert [user["id"] for user in found] == ["A", "B"]
    assert names == {GROUP: "Base"}
    assert graph.round_trips == ["GET /users", "GET /groups", "POST /$batch"]
