# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP session every request of a module run goes through (MSAL's token calls included), and retry timing."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from typing import Any

try:
    import requests
    from requests.adapters import HTTPAdapter

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module wrapper through missing_required_lib
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc
    requests = None
    HTTPAdapter = object

USER_AGENT = "entra.licensing/0.1.0 (Ansible collection)"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: integer or fractional seconds, or an HTTP-date.

    Graph mostly sends integers, its documentation shows ``2.128``, and RFC 9110 allows a date; a value we cannot
    read is treated as absent so the caller falls back to backoff instead of failing.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class Backoff:
    """Capped exponential backoff with jitter, so many hosts retrying at once do not stampede Graph."""

    def __init__(self, base: float = 1.0, cap: float = 30.0, rand: Callable[[], float] = random.random) -> None:
        self.base = base
        self.cap = cap
        self._rand = rand

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * (2 ** attempt))
        return ceiling / 2 + self._rand() * ceiling / 2


class GraphSession(requests.Session if HAS_REQUESTS else object):  # type: ignore[misc]
    """A requests session whose certificate verification cannot be overridden by the environment.

    requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace ``Session.verify`` on every request, so an explicit
    ``ca_bundle`` (or ``validate_certs: false``) would silently lose against the environment. Proxies from the
    environment are still honoured. Every request gets a timeout, including MSAL's, which sets none of its own.
    """

    def __init__(self, verify: bool | str, timeout: float, pinned: bool) -> None:
        super().__init__()
        self.verify = verify
        self._pinned = pinned
        self._timeout = timeout
        self.headers["User-Agent"] = USER_AGENT
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self._pinned and verify is None:
            settings["verify"] = self.verify
        return settings

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (min(10.0, self._timeout), self._timeout)
        return super().request(method, url, *args, **kwargs)


def build_session(ca_bundle: str | None, validate_certs: bool, timeout: float) -> GraphSession:
    """One session per module run: connection reuse for Graph and the token endpoint alike."""
    if ca_bundle:
        return GraphSession(ca_bundle, timeout, pinned=True)
    if not validate_certs:
        return GraphSession(False, timeout, pinned=True)
    return GraphSession(True, timeout, pinned=False)


def never_sent(error: Exception) -> bool:
    """True when the request cannot have reached the server (no connection was made), so even a POST is safe to resend."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(error, requests.exceptions.ConnectionError) and not isinstance(error, requests.exceptions.SSLError):
        reason = error.args[0] if error.args else None
        inner = getattr(reason, "reason", reason)
        name = type(inner).__name__
        return name in ("NewConnectionError", "NameResolutionError", "ConnectTimeoutError")
    return False
