# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bulk path: a plan's validation, seats counted over groups together, and the batched reads and writes it relies on."""

from __future__ import annotations

import pytest
from test_licensing_graph import SKUS, FakeGraph, client_for

from ansible_collections.entra.licensing.plugins.module_utils.client import BatchRequest
from ansible_collections.entra.licensing.plugins.module_utils.directory import find_groups_by_name
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.groups import create_groups
from ansible_collections.entra.licensing.plugins.module_utils.licensing import LicenseChange, LicensingError, combined_seat_needs, resolve_licenses
from ansible_collections.entra.licensing.plugins.module_utils.licensing_graph import assign_group_licenses
from ansible_collections.entra.licensing.plugins.module_utils.members import resolve_wanted
from ansible_collections.entra.licensing.plugins.module_utils.plan import validate
from ansible_collections.entra.licensing.plugins.module_utils.sku_catalog import Catalog


def spec(name: str, **options) -> dict:
    base = {"name": name, "id": None, "source": "cloud", "description": None, "membership": None, "rule": None, "members": None, "licenses": None}
    base.update(options)
    return base


def test_every_problem_of_the_plan_is_reported_at_once_before_any_call():
    with pytest.raises(LicensingError) as caught:
        validate(
            [
                spec("Base"),
                spec("base"),
                spec("Synced", source="onprem", members=["BenW"], description="x"),
                spec("Sales", membership="dynamic", members=["a@contoso.com"]),
                spec("Nobody", membership="dynamic"),
                spec("Static", membership="assigned", rule="user.department -eq 'x'"),
            ]
        )
    message = str(caught.value)
    assert message.startswith("6 problem(s) in groups; nothing was changed.")
    assert "groups item 2 (base): the group is already groups item 1" in message
    assert "groups item 3 (Synced): description, members of an on-premises group are mastered in Active Directory" in message
    assert "groups item 4 (Sales): a dynamic group's members follow its rule" in message
    assert "groups item 5 (Nobody): membership dynamic needs rule." in message
    assert "groups item 6 (Static): membership_rule applies only to membership_type=dynamic" in message


def test_seats_are_counted_over_groups_together_and_a_user_once():
    catalog = Catalog(SKUS["value"])
    [e5] = resolve_licenses(catalog, [{"sku": "Office 365 E5"}])
    free = e5.sku.subscribed["prepaidUnits"]["enabled"] - e5.sku.subscribed["consumedUnits"]
    first = [{"id": f"u{n}"} for n in range(free)]
    second = [{"id": f"u{n}"} for n in range(1, free + 1)]
    [alone] = combined_seat_needs([(e5, first)])
    assert alone["needed"] == free and alone["sufficient"]
    [together] = combined_seat_needs([(e5, first), (e5, second)])
    assert together["needed"] == free + 1 and not together["sufficient"]


def test_names_are_looked_up_fifteen_to_a_query_twenty_queries_to_a_round_trip():
    names = [f"Group {n}" for n in range(40)] + ["O'Brien & Sons + <Partners>", "x" * 130]
    queries: list[str] = []

    def groups(query, body):
        queries.append(query["$filter"])
        wanted = [name for name in names if f"'{name.replace(chr(39), chr(39) * 2)}'" in query["$filter"]]
        return 200, {"value": [{"id": f"id-{name}", "displayName": name.upper()} for name in wanted if name != "Group 7"]}

    graph = FakeGraph({("GET", "/groups"): groups})
    found = find_groups_by_name(client_for(graph), names, ("id", "displayName"))
    assert graph.round_trips == ["POST /$batch"]
    assert len(queries) == 4  # 3 'in' queries for 41 names, 1 advanced query for the long name
    assert found["Group 7"] is None
    assert found["O'Brien & Sons + <Partners>"]["id"] == "id-O'Brien & Sons + <Partners>"
    assert found["x" * 130]["id"] == "id-" + "x" * 130


def test_two_groups_with_one_name_are_an_error_listing_both():
    graph = FakeGraph({("GET", "/groups"): {"value": [{"id": "a", "displayName": "Base"}, {"id": "b", "displayName": "BASE"}]}})
    with pytest.raises(GraphError, match=r"2 groups are named 'Base' \(a, b\)"):
        find_groups_by_name(client_for(graph), ["Base"])


def test_an_ambiguous_create_in_a_batch_is_settled_by_name_never_posted_twice():
    posts: list[str] = []
    visible: set[str] = set()

    def create(query, body):
        posts.append(body["displayName"])
        if body["displayName"] == "Lost":
            visible.add("Lost")  # Graph made it, then the answer was lost
            return 503, {"error": {"code": "ServiceUnavailable", "message": "try later"}}
        return 201, {"id": f"id-{body['displayName']}", **body}

    def lookup(query, body):
        return 200, {"value": [{"id": "id-Lost", "displayName": "Lost"}] if "Lost" in visible else []}

    graph = FakeGraph({("POST", "/groups"): create, ("GET", "/groups"): lookup})
    created = create_groups(client_for(graph), [{"displayName": "Base"}, {"displayName": "Lost"}])
    assert [group["id"] for group in created] == ["id-Base", "id-Lost"]
    assert posts == ["Base", "Lost"]


def test_a_clear_create_failure_in_a_batch_stops_the_run():
    graph = FakeGraph({("POST", "/groups"): lambda query, body: (400, {"error": {"code": "Request_BadRequest", "message": "bad nickname"}})})
    with pytest.raises(GraphError, match="create group 'Base'"):
        create_groups(client_for(graph), [{"displayName": "Base"}])


def test_assign_license_in_a_batch_is_resent_after_a_503_since_it_converges():
    answers = iter([(503, {"error": {"code": "ServiceUnavailable", "message": "later"}}), (202, None)])
    graph = FakeGraph({("POST", "/groups/g1/assignLicense"): lambda query, body: next(answers)})
    client = client_for(graph)
    client._sleep = lambda seconds: None  # pylint: disable=protected-access
    catalog = Catalog(SKUS["value"])
    [e5] = resolve_licenses(catalog, [{"sku": "Office 365 E5"}])
    assign_group_licenses(client, catalog, {"g1": LicenseChange(add=[e5])})
    assert graph.inner == ["POST /groups/g1/assignLicense"] * 2


def test_members_of_all_groups_are_resolved_in_one_lookup():
    lookups: list[str] = []

    def users(query, body):
        lookups.append(query["$filter"])
        return 200, {"value": [{"id": "u1", "userPrincipalName": "a@contoso.com"}, {"id": "u2", "userPrincipalName": "b@contoso.com"}]}

    graph = FakeGraph({("GET", "/users"): users})
    current = {"one": {"u9": {"id": "u9", "userPrincipalName": "z@contoso.com"}}, "two": {}}
    wanted = resolve_wanted(client_for(graph), {"one": ["a@contoso.com", "Z@contoso.com"], "two": ["b@contoso.com", "a@contoso.com"]}, current)
    assert graph.round_trips == ["POST /$batch"] and len(lookups) == 1
    assert {key: sorted(member["id"] for member in members.values()) for key, members in wanted.items()} == {"one": ["u1", "u9"], "two": ["u1", "u2"]}


def test_iterate_many_follows_next_links_with_the_requests_headers():
    seen_headers: list[dict] = []

    class Paging(FakeGraph):
        def request(self, method, url, params=None, json=None, headers=None):
            if "skiptoken" in url:
                seen_headers.append(headers or {})
                return super().request(method, url.split("?")[0], params, json, headers)
            return super().request(method, url, params, json, headers)

    graph = Paging(
        {
            ("GET", "/groups/a/members"): {"value": [{"id": "1"}], "@odata.nextLink": "https://graph.example/v1.0/groups/b/members?skiptoken=x"},
            ("GET", "/groups/b/members"): {"value": [{"id": "2"}]},
        }
    )
    items = list(client_for(graph).iterate_many([BatchRequest("GET", "/groups/a/members", headers={"ConsistencyLevel": "eventual"})]))
    assert items == [(0, {"id": "1"}), (0, {"id": "2"})]
    assert seen_headers[0]["ConsistencyLevel"] == "eventual"
    assert graph.round_trips == ["POST /$batch", "GET /groups/b/members"]
