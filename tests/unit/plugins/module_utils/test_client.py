"""GraphClient: retries, Retry-After, paging, $batch and duplicate-free creation, over a scripted transport."""

from __future__ import annotations

import email.utils
import time

import pytest
import requests
from urllib3.exceptions import NewConnectionError

from ansible_collections.entra.licensing.plugins.module_utils.auth import Credential
from ansible_collections.entra.licensing.plugins.module_utils.client import BatchRequest, GraphClient, raise_for_status
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.transport import Backoff, parse_retry_after

GROUP = {"id": "1132b215-826f-42a9-8cfe-1643d19d17fd", "displayName": "O365_Licenses_E3_Base"}


class FakeResponse:
    def __init__(self, status: int, body=None, headers: dict | None = None) -> None:
        self.status_code = status
        self._body = body
        self.headers = requests.structures.CaseInsensitiveDict(headers or {})
        self.content = b"" if body is None else b"x"
        self.text = "" if body is None else str(body)

    def json(self):
        return self._body


def graph_error(status: int, code: str, message: str, request_id: str = "93b6f17e-c05d-4f45-ad2a-6665c708d8a0") -> FakeResponse:
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": "2025-02-13T10:17:06", "request-id": request_id, "client-request-id": "e70c5c1b-8b47-68c0-3171-3d22f5e0bd54"},
        }
    }
    return FakeResponse(status, body, {"request-id": request_id})


class FakeSession:
    """Answers requests from a script: a list of responses/exceptions, or a callable per request."""

    def __init__(self, script) -> None:
        self.script = list(script) if isinstance(script, list) else script
        self.calls: list[dict] = []

    def request(self, method, url, params=None, json=None, headers=None):
        call = {"method": method, "url": url, "params": params, "json": json, "headers": headers}
        self.calls.append(call)
        answer = self.script(call) if callable(self.script) else self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class StaticCredential(Credential):
    def __init__(self) -> None:
        self.issued = 0
        self.refreshes = 0

    def token(self) -> str:
        self.issued += 1
        return f"token-{self.issued}"

    def refresh(self) -> bool:
        self.refreshes += 1
        return True


class Harness:
    """A client wired to a scripted session, a fake clock and a counting credential."""

    def __init__(self, script, retry_timeout: float = 60.0) -> None:
        self.session = FakeSession(script)
        self.clock = Clock()
        self.credential = StaticCredential()
        self.client = GraphClient(
            self.session,
            "https://graph.microsoft.com",
            self.credential,
            retry_timeout=retry_timeout,
            backoff=Backoff(base=1.0, cap=4.0, rand=lambda: 1.0),
            sleep=self.clock.sleep,
            clock=self.clock.monotonic,
        )


def throttled(retry_after: str | None) -> FakeResponse:
    response = graph_error(429, "TooManyRequests", "Please retry again later.")
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


@pytest.mark.parametrize(("header", "expected"), [("3", 3.0), ("2.128", 2.128), ("0", 0.0)])
def test_retry_after_in_seconds_is_honoured(header, expected):
    h = Harness([throttled(header), FakeResponse(200, GROUP)])
    assert h.client.get("/groups/x") == GROUP
    assert h.clock.sleeps == [expected]
    assert len(h.session.calls) == 2


def test_retry_after_as_http_date_is_honoured():
    when = email.utils.formatdate(time.time() + 10, usegmt=True)
    h = Harness([throttled(when), FakeResponse(200, GROUP)])
    h.client.get("/groups/x")
    assert 8.0 < h.clock.sleeps[0] <= 10.0


def test_parse_retry_after_reads_dates_against_the_given_clock():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:27:30 GMT").timestamp()) == 30.0
    assert parse_retry_after("not a date") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-4") == 0.0


def test_throttling_without_retry_after_falls_back_to_backoff():
    h = Harness([throttled(None), throttled(None), FakeResponse(200, GROUP)])
    h.client.get("/groups/x")
    assert h.clock.sleeps == [1.0, 2.0]


@pytest.mark.parametrize("status", [503, 504])
def test_unavailable_and_gateway_timeout_are_retried_with_capped_backoff_on_reads(status):
    answers = [graph_error(status, "UnknownError", "Service unavailable")] * 4 + [FakeResponse(200, GROUP)]
    h = Harness(answers)
    h.client.get("/groups/x")
    assert h.clock.sleeps == [1.0, 2.0, 4.0, 4.0]


def test_backoff_is_jittered_between_half_and_full_ceiling():
    backoff = Backoff(base=1.0, cap=8.0, rand=lambda: 0.0)
    assert [backoff.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    backoff = Backoff(base=1.0, cap=8.0, rand=lambda: 0.5)
    assert backoff.delay(2) == 3.0


def test_unavailable_on_a_post_is_not_resent_and_is_marked_ambiguous():
    h = Harness([graph_error(503, "UnknownError", "Service unavailable")])
    with pytest.raises(GraphError) as caught:
        h.client.post("/groups", {"displayName": "x"})
    assert caught.value.ambiguous
    assert len(h.session.calls) == 1


def test_connection_errors_are_retried_on_idempotent_requests():
    h = Harness([requests.exceptions.ConnectionError("reset by peer"), FakeResponse(204)])
    h.client.delete("/groups/x/members/y/$ref")
    assert len(h.session.calls) == 2
    assert h.clock.sleeps == [1.0]


def test_a_post_that_never_left_is_resent():
    refused = requests.exceptions.ConnectionError(
        requests.packages.urllib3.exceptions.MaxRetryError(None, "/", NewConnectionError(None, "refused"))
    )
    h = Harness([refused, FakeResponse(201, GROUP)])
    assert h.client.post("/groups", {"displayName": "x"}) == GROUP
    assert len(h.session.calls) == 2


def test_a_post_whose_answer_was_lost_is_not_resent():
    h = Harness([requests.exceptions.ReadTimeout("read timed out")])
    with pytest.raises(GraphError) as caught:
        h.client.post("/groups", {"displayName": "x"})
    assert caught.value.ambiguous
    assert len(h.session.calls) == 1


def test_retry_timeout_stops_the_loop_with_a_clear_error():
    h = Harness(lambda call: graph_error(503, "UnknownError", "Service unavailable"), retry_timeout=10)
    with pytest.raises(GraphError) as caught:
        h.client.get("/groups/x")
    message = str(caught.value)
    assert "gave up after" in message
    assert "retry_timeout=10s" in message
    assert "Service unavailable" in message
    assert sum(h.clock.sleeps) <= 10
    assert len(h.session.calls) == len(h.clock.sleeps) + 1


def test_retry_after_longer_than_the_retry_timeout_fails_at_once():
    h = Harness([throttled("120")], retry_timeout=30)
    with pytest.raises(GraphError) as caught:
        h.client.get("/groups/x")
    assert caught.value.status == 429
    assert caught.value.retry_after == 120.0
    assert h.clock.sleeps == []


def test_graph_error_carries_status_code_message_and_request_id():
    h = Harness([graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")])
    with pytest.raises(GraphError) as caught:
        h.client.get("/subscribedSkus")
    error = caught.value
    assert error.status == 403
    assert error.code == "Authorization_RequestDenied"
    assert error.message == "GET /subscribedSkus: Insufficient privileges to complete the operation."
    assert error.request_id == "93b6f17e-c05d-4f45-ad2a-6665c708d8a0"
    assert error.client_request_id == "e70c5c1b-8b47-68c0-3171-3d22f5e0bd54"
    result = error.to_result()
    assert result["status"] == 403
    assert result["error_code"] == "Authorization_RequestDenied"
    assert result["request_id"] == "93b6f17e-c05d-4f45-ad2a-6665c708d8a0"
    assert "Insufficient privileges" in result["msg"]


def test_an_expired_token_is_refreshed_once():
    expired = graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
    h = Harness([expired, FakeResponse(200, GROUP)])
    assert h.client.get("/groups/x") == GROUP
    assert h.credential.refreshes == 1
    assert h.session.calls[0]["headers"]["Authorization"] == "Bearer token-1"
    assert h.session.calls[1]["headers"]["Authorization"] == "Bearer token-2"


def test_a_token_rejected_twice_fails():
    expired = graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
    h = Harness([expired, expired])
    with pytest.raises(GraphError) as caught:
        h.client.get("/groups/x")
    assert caught.value.status == 401


def test_one_token_serves_every_request():
    h = Harness(lambda call: FakeResponse(200, GROUP))
    for attempt in range(5):
        h.client.get(f"/groups/{attempt}")
    assert h.credential.issued == 1


def test_tls_failures_point_at_ca_bundle():
    h = Harness([requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED")])
    with pytest.raises(GraphError, match="ca_bundle"):
        h.client.get("/groups/x")


def test_paging_follows_next_link_and_resends_headers():
    pages = {
        "https://graph.microsoft.com/v1.0/groups": {
            "value": [{"id": "1"}, {"id": "2"}],
            "@odata.nextLink": "https://graph.microsoft.com/v1.0/groups?$top=2&$skiptoken=RFNwdAIAAQAAAA",
        },
        "https://graph.microsoft.com/v1.0/groups?$top=2&$skiptoken=RFNwdAIAAQAAAA": {
            "value": [],
            "@odata.nextLink": "https://graph.microsoft.com/v1.0/groups?$top=2&$skiptoken=second",
        },
        "https://graph.microsoft.com/v1.0/groups?$top=2&$skiptoken=second": {"value": [{"id": "3"}]},
    }
    h = Harness(lambda call: FakeResponse(200, pages[call["url"]]))
    items = list(h.client.iterate("/groups", params={"$top": 2}, headers={"ConsistencyLevel": "eventual"}))
    assert [item["id"] for item in items] == ["1", "2", "3"]
    assert h.session.calls[0]["params"] == {"$top": 2}
    assert all(call["params"] is None for call in h.session.calls[1:])
    assert all(call["headers"]["ConsistencyLevel"] == "eventual" for call in h.session.calls)


def batch_answer(call, status_for=lambda request: 204, headers_for=lambda request: {}):
    responses = [
        {"id": request["id"], "status": status_for(request), "headers": headers_for(request)} for request in call["json"]["requests"]
    ]
    return FakeResponse(200, {"responses": list(reversed(responses))})


def test_batch_splits_at_twenty_and_keeps_the_order_asked():
    h = Harness(lambda call: batch_answer(call, status_for=lambda r: 200 + int(r["id"]) % 3))
    asks = [BatchRequest("PATCH", f"/groups/g/members{n}", {"members@odata.bind": []}) for n in range(45)]
    answers = h.client.batch(asks)
    assert [len(call["json"]["requests"]) for call in h.session.calls] == [20, 20, 5]
    assert [answer.status for answer in answers] == [200 + n % 3 for n in range(45)]
    first = h.session.calls[0]["json"]["requests"][0]
    assert first["url"] == "/groups/g/members0"
    assert first["headers"]["Content-Type"] == "application/json"
    assert h.session.calls[0]["url"] == "https://graph.microsoft.com/v1.0/$batch"


def test_batch_retries_only_the_inner_429s_after_the_longest_retry_after():
    seen: list[list[str]] = []

    def answer(call):
        ids = [request["id"] for request in call["json"]["requests"]]
        seen.append(ids)
        if len(seen) == 1:
            return batch_answer(
                call,
                status_for=lambda r: 429 if r["id"] in ("1", "3") else 204,
                headers_for=lambda r: {"Retry-After": "2" if r["id"] == "1" else "5"} if r["id"] in ("1", "3") else {},
            )
        return batch_answer(call)

    h = Harness(answer)
    answers = h.client.batch([BatchRequest("DELETE", f"/groups/g/members/{n}/$ref") for n in range(4)])
    assert seen == [["0", "1", "2", "3"], ["1", "3"]]
    assert h.clock.sleeps == [5.0]
    assert [a.status for a in answers] == [204, 204, 204, 204]


def test_batch_does_not_resend_inner_errors_that_are_not_throttling():
    h = Harness(lambda call: batch_answer(call, status_for=lambda r: 400))
    answers = h.client.batch([BatchRequest("PATCH", "/groups/g", {"members@odata.bind": []})])
    assert len(h.session.calls) == 1
    with pytest.raises(GraphError):
        raise_for_status(answers[0], "add members")


def test_ambiguous_group_creation_looks_up_instead_of_duplicating():
    h = Harness([requests.exceptions.ReadTimeout("read timed out")])
    lookups = iter([None, None, GROUP])
    created = h.client.create("/groups", {"displayName": "O365_Licenses_E3_Base"}, find=lambda: next(lookups))
    assert created == GROUP
    assert [call["method"] for call in h.session.calls] == ["POST"]


def test_ambiguous_group_creation_posts_again_only_when_nothing_appeared():
    h = Harness([graph_error(504, "GatewayTimeout", "Gateway timeout"), FakeResponse(201, GROUP)])
    lookups: list[int] = []

    def find():
        lookups.append(1)

    created = h.client.create("/groups", {"displayName": "O365_Licenses_E3_Base"}, find=find, settle_seconds=10)
    assert created == GROUP
    assert [call["method"] for call in h.session.calls] == ["POST", "POST"]
    assert len(lookups) >= 3
    assert sum(h.clock.sleeps) <= 10


def test_a_clear_create_failure_is_not_retried():
    h = Harness([graph_error(400, "Request_BadRequest", "Invalid value specified for property 'mailNickname' of resource 'Group'.")])
    with pytest.raises(GraphError, match="mailNickname"):
        h.client.create("/groups", {"displayName": "x"}, find=lambda: pytest.fail("no lookup after a definite failure"))
    assert len(h.session.calls) == 1


def test_read_after_write_misses_are_retried_only_when_asked():
    missing = graph_error(404, "Request_ResourceNotFound", "Resource 'x' does not exist or one of its queried reference-property objects are not present.")
    h = Harness([missing, FakeResponse(200, GROUP)])
    assert h.client.get("/groups/x", retry_not_found=True) == GROUP
    assert h.clock.sleeps == [1.0]
    h = Harness([missing])
    assert h.client.get_optional("/groups/x") is None
