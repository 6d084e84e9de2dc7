# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Microsoft Graph client: every request, retry, page and batch of the collection goes through here.

Retry rules (Microsoft Graph throttling and error guidance):
- 429 Too Many Requests: always retried, after Retry-After; the request was rejected, not processed.
- 503 Service Unavailable, 504 Gateway Timeout, connection errors: retried for idempotent requests only. A POST that
  may have reached Graph is never resent blindly; ``create()`` looks for the object first, so no duplicate is made.
- 401 with an expired token: one fresh token, then the request again.
- Read-after-write misses (a new object that is not replicated yet) are retried only where the caller says so.
Everything is bounded by ``retry_timeout`` on a monotonic clock.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from ansible_collections.entra.licensing.plugins.module_utils.auth import Credential
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.transport import Backoff, never_sent, parse_retry_after

try:
    import requests
except ImportError:  # pragma: no cover - reported by the module wrapper through missing_required_lib
    requests = None

API_VERSION = "v1.0"
BATCH_LIMIT = 20
IDEMPOTENT_METHODS = frozenset(["GET", "HEAD", "PUT", "PATCH", "DELETE"])
RETRY_ALWAYS = frozenset([429])
RETRY_IF_IDEMPOTENT = frozenset([503, 504])
# Graph's answers while a just-created object is still replicating (eventual consistency).
REPLICATION_MESSAGES = (
    "the source resource object or one of the objects being referenced don't exist",
    "the source resource object or one of the objects being referenced do not exist",
)


class GraphResponse(NamedTuple):
    status: int
    headers: dict[str, str]
    body: Any


class BatchRequest(NamedTuple):
    method: str
    url: str
    body: Any = None
    headers: dict[str, str] | None = None
    # A non-idempotent request whose effect converges (assignLicense), so resending it after a 503/504 is safe.
    retry_writes: bool = False

    @property
    def idempotent(self) -> bool:
        return self.method.upper() in IDEMPOTENT_METHODS or self.retry_writes


def is_replication_miss(status: int, error: GraphError) -> bool:
    """A 404 for an object we just created, or Graph's 400 for a reference it cannot see yet."""
    if status == 404:
        return True
    return status == 400 and any(text in (error.message or "").lower() for text in REPLICATION_MESSAGES)


class GraphClient:
    """Graph requests for one module run, over one session and one token."""

    def __init__(
        self,
        session: Any,
        graph_endpoint: str,
        credential: Credential,
        *,
        retry_timeout: float = 300.0,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._root = f"{graph_endpoint.rstrip('/')}/{API_VERSION}"
        self._credential = credential
        self._token: str | None = None
        self.retry_timeout = retry_timeout
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._clock = clock
        self.round_trips = 0

    # ----------------------------------------------------------------------------------------------- single requests
    def url(self, path: str) -> str:
        if path.startswith("https://") or path.startswith("http://"):
            return path
        return f"{self._root}/{path.lstrip('/')}"

    def _bearer(self) -> str:
        if self._token is None:
            self._token = self._credential.token()
        return self._token

    def _send(self, method: str, url: str, params: Any, body: Any, headers: dict[str, str] | None) -> GraphResponse:
        send_headers = {
            "Authorization": f"Bearer {self._bearer()}",
            "Accept": "application/json",
            "client-request-id": str(uuid.uuid4()),
            "return-client-request-id": "true",
        }
        if headers:
            send_headers.update(headers)
        self.round_trips += 1
        response = self._session.request(
            method, url, params=params, json=body if body is not None else None, headers=send_headers
        )
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = response.text
        return GraphResponse(response.status_code, dict(response.headers), payload)

    def _give_up(self, method: str, path: str, attempts: int, last: GraphError) -> GraphError:
        return last.with_message(
            f"{method} {path}: gave up after {attempts} attempt(s) within retry_timeout={self.retry_timeout:g}s; last error: {last.message}"
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        retry_writes: bool = False,
        retry_not_found: bool = False,
        allow: tuple[int, ...] = (),
    ) -> GraphResponse:
        """One Graph request with the retry rules of this module's docstring.

        ``retry_writes`` declares a non-idempotent method safe to resend (its effect converges, like assignLicense);
        ``retry_not_found`` retries read-after-write misses; ``allow`` lists error statuses returned instead of raised.
        """
        method = method.upper()
        url = self.url(path)
        idempotent = method in IDEMPOTENT_METHODS or retry_writes
        deadline = self._clock() + self.retry_timeout
        attempt = 0
        refreshed = False
        while True:
            try:
                response = self._send(method, url, params, body, headers)
            except GraphError:
                raise
            except Exception as exc:  # requests' connection, timeout and TLS errors
                last = self._connection_error(method, path, exc, idempotent)
                delay = self._backoff.delay(attempt)
            else:
                if response.status < 400 or response.status in allow:
                    return response
                last = GraphError.from_response(response.status, response.headers, response.body, f"{method} {path}")
                retry_after = parse_retry_after(_header(response.headers, "Retry-After"))
                last.retry_after = retry_after
                if response.status == 401 and not refreshed and self._credential.refresh():
                    refreshed = True
                    self._token = None
                    continue
                if response.status in RETRY_ALWAYS or (response.status in RETRY_IF_IDEMPOTENT and idempotent):
                    delay = retry_after if retry_after is not None else self._backoff.delay(attempt)
                elif retry_not_found and is_replication_miss(response.status, last):
                    delay = self._backoff.delay(attempt)
                else:
                    if response.status >= 500 and not idempotent:
                        last.ambiguous = True
                    raise last
            attempt += 1
            if self._clock() + delay > deadline:
                raise self._give_up(method, path, attempt, last)
            self._sleep(delay)

    def _connection_error(self, method: str, path: str, exc: Exception, idempotent: bool) -> GraphError:
        if requests is not None and isinstance(exc, requests.exceptions.SSLError):
            raise GraphError(
                f"{method} {path}: TLS verification failed: {exc}. Set ca_bundle to the CA that signed the Graph "
                "endpoint's certificate (it wins over REQUESTS_CA_BUNDLE)."
            ) from None
        sent = not never_sent(exc)
        error = GraphError(f"{method} {path}: no response from Microsoft Graph ({type(exc).__name__}: {exc})", ambiguous=sent)
        if sent and not idempotent:
            raise error from None
        return error

    def get(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.request("GET", path, params=params, **kwargs).body

    def get_optional(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """The object, or None when Graph says it does not exist (404)."""
        response = self.request("GET", path, params=params, allow=(404,), **kwargs)
        return None if response.status == 404 else response.body

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body=body, **kwargs).body

    def patch(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.request("PATCH", path, body=body, **kwargs).body

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs).body

    # ------------------------------------------------------------------------------------------------------- paging
    def iterate(self, path: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Iterator[Any]:
        """Every item of a collection, page by page through ``@odata.nextLink``, holding one page at a time.

        The next link carries the original query; headers such as ConsistencyLevel are not implied by it, so they are
        sent again with each page.
        """
        url: str | None = path
        query = params
        while url:
            page = self.request("GET", url, params=query, headers=headers).body or {}
            yield from page.get("value", [])
            url = page.get("@odata.nextLink")
            query = None

    def iterate_many(self, requests_: list[BatchRequest]) -> Iterator[tuple[int, Any]]:
        """Items of several collections (GET requests), each with the index of its request in ``requests_``.

        First pages travel 20 per ``$batch`` round trip; further pages follow their next links one by one (with the
        request's headers), so reading N small collections (the members of N groups, N filtered lookups) costs
        ceil(N/20) round trips, not N.
        """
        answers = self.batch(requests_)
        for index, (ask, answer) in enumerate(zip(requests_, answers, strict=True)):
            page = raise_for_status(answer, f"GET {ask.url}").body or {}
            for item in page.get("value", []):
                yield index, item
            if page.get("@odata.nextLink"):
                for item in self.iterate(page["@odata.nextLink"], headers=ask.headers):
                    yield index, item

    # -------------------------------------------------------------------------------------------------------- create
    def create(
        self, path: str, body: dict[str, Any], find: Callable[[], Any], settle_seconds: float = 30.0, unsettled: GraphError | None = None
    ) -> Any:
        """POST a new object without ever making two.

        After an ambiguous failure (timeout, dropped connection, 5xx) the object may exist, possibly not yet visible
        through replication; ``find`` is asked repeatedly for ``settle_seconds`` before the POST is tried again.
        ``unsettled`` is such a failure of a POST already sent elsewhere (inside a ``$batch``): it is settled first.
        """
        deadline = self._clock() + self.retry_timeout
        attempt = 0
        last = unsettled
        while True:
            if last is None:
                try:
                    return self.post(path, body)
                except GraphError as error:
                    if not error.ambiguous:
                        raise
                    last = error
            settle = min(deadline, self._clock() + settle_seconds)
            look = 0
            while True:
                found = find()
                if found:
                    return found
                delay = self._backoff.delay(look)
                if self._clock() + delay > settle:
                    break
                self._sleep(delay)
                look += 1
            attempt += 1
            if self._clock() >= deadline:
                raise self._give_up("POST", path, attempt, last)
            last = None

    # ------------------------------------------------------------------------------------------------------- $batch
    def batch(self, requests_: list[BatchRequest], retry_not_found: bool = False) -> list[GraphResponse]:
        """Run requests through JSON ``$batch``, 20 per round trip, answers in the order asked.

        Inner requests fail independently and come back as responses (use ``raise_for_status``). Inner 429s, inner
        503/504 of idempotent requests and, when asked, read-after-write misses are sent again in a new batch after
        the longest Retry-After among them, as Microsoft recommends.
        """
        results: list[GraphResponse | None] = [None] * len(requests_)
        pending = list(range(len(requests_)))
        deadline = self._clock() + self.retry_timeout
        attempt = 0
        while pending:
            again: list[int] = []
            wait = 0.0
            for start in range(0, len(pending), BATCH_LIMIT):
                chunk = pending[start:start + BATCH_LIMIT]
                for index, response in self._batch_round_trip(requests_, chunk):
                    results[index] = response
                    delay = self._inner_retry_delay(requests_[index], response, attempt, retry_not_found)
                    if delay is not None:
                        again.append(index)
                        wait = max(wait, delay)
            if not again:
                break
            attempt += 1
            if self._clock() + wait > deadline:
                first = results[again[0]]
                last = GraphError.from_response(first.status, first.headers, first.body)
                raise self._give_up("POST", "/$batch", attempt, last)
            self._sleep(wait)
            pending = again
        return [response for response in results if response is not None]

    def _batch_round_trip(self, requests_: list[BatchRequest], chunk: list[int]) -> list[tuple[int, GraphResponse]]:
        inner = []
        for index in chunk:
            item = requests_[index]
            entry: dict[str, Any] = {"id": str(index), "method": item.method.upper(), "url": "/" + item.url.lstrip("/")}
            headers = dict(item.headers or {})
            if item.body is not None:
                headers.setdefault("Content-Type", "application/json")
                entry["body"] = item.body
            if headers:
                entry["headers"] = headers
            inner.append(entry)
        safe = all(requests_[index].idempotent for index in chunk)
        outer = self.request("POST", "/$batch", body={"requests": inner}, retry_writes=safe)
        answers = {str(item.get("id")): item for item in (outer.body or {}).get("responses", [])}
        out = []
        for index in chunk:
            item = answers.get(str(index))
            if item is None:
                response = GraphResponse(500, {}, {"error": {"code": "MissingBatchResponse", "message": "No response in $batch"}})
            else:
                response = GraphResponse(int(item.get("status", 500)), item.get("headers") or {}, item.get("body"))
            out.append((index, response))
        return out

    def _inner_retry_delay(
        self, request: BatchRequest, response: GraphResponse, attempt: int, retry_not_found: bool
    ) -> float | None:
        status = response.status
        if status in RETRY_ALWAYS or (status in RETRY_IF_IDEMPOTENT and request.idempotent):
            retry_after = parse_retry_after(_header(response.headers, "Retry-After"))
            return retry_after if retry_after is not None else self._backoff.delay(attempt)
        if retry_not_found and status >= 400:
            error = GraphError.from_response(status, response.headers, response.body)
            if is_replication_miss(status, error):
                return self._backoff.delay(attempt)
        return None


def raise_for_status(response: GraphResponse, context: str) -> GraphResponse:
    """Turn an error response (a $batch answer, or one allowed through) into GraphError."""
    if response.status >= 400:
        raise GraphError.from_response(response.status, response.headers, response.body, context)
    return response


def _header(headers: dict[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None
