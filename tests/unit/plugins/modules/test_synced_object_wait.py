# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""synced_object_wait's polling: what each poll asks Graph, when it stops, and how long it sleeps (fake clock)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from ansible_collections.entra.licensing.plugins.module_utils.client import GraphResponse
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.transport import Backoff
from ansible_collections.entra.licensing.plugins.modules.synced_object_wait import Wanted, timeout_message, wait_synced, wanted_objects

SID = "S-1-5-21-1910017224-3960141332-2366340414-1105"
GROUP = {"id": "1132b215-826f-42a9-8cfe-1643d19d17fd", "onPremisesSyncEnabled": True, "onPremisesSamAccountName": "O365_Licenses_E3_Base"}
USER = {"id": "5f3c2a1b-0d4e-4f6a-8b9c-1d2e3f4a5b6c", "onPremisesSyncEnabled": True, "onPremisesSamAccountName": "BenW"}


class FakeClient:
    """Answers each $batch from a list of per-poll answers: {filter value: [objects]}."""

    def __init__(self, polls: list[dict[str, list[dict[str, Any]]]]) -> None:
        self.polls = polls
        self.batches: list[list[Any]] = []

    def batch(self, requests: list[Any]) -> list[GraphResponse]:
        self.batches.append(requests)
        answers = self.polls[min(len(self.batches), len(self.polls)) - 1]
        out = []
        for request in requests:
            query = dict(parse_qsl(urlsplit(request.url).query))
            value = query["$filter"].split(" eq ", 1)[1][1:-1].replace("''", "'")
            out.append(GraphResponse(200, {}, {"value": answers.get(value, [])}))
        return out


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_values_are_sids_or_names_in_the_order_asked_each_once():
    wanted = wanted_objects([SID, "O365_Licenses_E3_Base", SID.lower(), " ", None], ["BenW", "benw"])
    assert [(w.kind, w.value, w.by_sid) for w in wanted] == [
        ("group", SID, True),
        ("group", "O365_Licenses_E3_Base", False),
        ("user", "BenW", False),
    ]


def test_each_object_is_one_eq_filter_with_its_value_quoted():
    by_sid = Wanted("group", SID).request()
    query = dict(parse_qsl(urlsplit(by_sid.url).query))
    assert urlsplit(by_sid.url).path == "/groups"
    assert query["$filter"] == f"onPremisesSecurityIdentifier eq '{SID}'"
    assert query["$top"] == "2" and by_sid.headers is None
    hostile = Wanted("user", "x' or 1 eq 1").request()
    query = dict(parse_qsl(urlsplit(hostile.url).query))
    assert urlsplit(hostile.url).path == "/users"
    assert query["$filter"] == "onPremisesSamAccountName eq 'x'' or 1 eq 1'"
    assert " " not in hostile.url and "'" not in hostile.url
    # Graph needs the advanced query parameters for onPremisesSamAccountName on users.
    assert query["$count"] == "true" and hostile.headers == {"ConsistencyLevel": "eventual"}


def test_polls_with_backoff_until_everything_is_synced():
    clock = Clock()
    wanted = wanted_objects([SID], ["BenW"])
    client = FakeClient([{}, {SID: [GROUP]}, {SID: [GROUP], "BenW": [USER]}])
    found, polls = wait_synced(client, wanted, 60, 2.0, sleep=clock.sleep, clock=clock, backoff=Backoff(base=2.0, cap=30.0, rand=lambda: 1.0))
    assert polls == 3
    assert [found[w]["id"] for w in wanted] == [GROUP["id"], USER["id"]]
    assert clock.sleeps == [2.0, 4.0]
    assert [len(batch) for batch in client.batches] == [2, 2, 2]


def test_objects_not_synced_do_not_count():
    clock = Clock()
    wanted = wanted_objects(["O365_Licenses_E3_Base"], [])
    cloud_only = {**GROUP, "onPremisesSyncEnabled": None}
    found, polls = wait_synced(FakeClient([{"O365_Licenses_E3_Base": [cloud_only]}]), wanted, 5, 1.0, sleep=clock.sleep, clock=clock)
    assert found == {} and polls > 1


def test_the_last_poll_is_at_the_deadline_and_sleeps_never_pass_it():
    clock = Clock()
    wanted = wanted_objects([SID], [])
    found, polls = wait_synced(FakeClient([{}]), wanted, 10, 4.0, sleep=clock.sleep, clock=clock, backoff=Backoff(base=4.0, cap=30.0, rand=lambda: 1.0))
    assert found == {}
    assert clock.sleeps == [4.0, 6.0]
    assert polls == 3
    assert clock.now == 110.0
    assert timeout_message(10, wanted).startswith(f"Timed out after 10s waiting for on-premises objects to be synced to Entra ID; still missing: group {SID}.")


def test_check_mode_polls_once():
    clock = Clock()
    found, polls = wait_synced(FakeClient([{}]), wanted_objects([SID], []), 600, 2.0, once=True, sleep=clock.sleep, clock=clock)
    assert (found, polls, clock.sleeps) == ({}, 1, [])


def test_a_name_two_synced_domains_share_is_refused():
    twin = {**GROUP, "id": "22222222-3333-4444-5555-666666666666", "onPremisesDomainName": "emea.contoso.com"}
    with pytest.raises(GraphError, match="More than one synced group has sAMAccountName 'O365_Licenses_E3_Base'"):
        wait_synced(FakeClient([{"O365_Licenses_E3_Base": [GROUP, twin]}]), wanted_objects(["O365_Licenses_E3_Base"], []), 5, 1.0)


def test_a_failed_read_is_an_error_naming_the_object():
    class Denied(FakeClient):
        def batch(self, requests):
            return [GraphResponse(403, {}, {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}})]

    with pytest.raises(GraphError, match=f"look up group {SID}: Insufficient privileges"):
        wait_synced(Denied([]), wanted_objects([SID], []), 5, 1.0)
