"""Injected faults: throttling, server errors, dropped connections and latency for chosen routes, plus the
read-after-write lag and the token lifetime (``POST /_admin/faults``).

A rule matches a method and a path glob (``fnmatch``; ``*`` also crosses ``/``), for top-level requests and for the
requests inside a ``$batch`` alike (a dropped connection applies to top-level requests only: a batch has one
connection). It fires for the next ``count`` matching requests, or for a ``share`` of them, spread evenly so a
test sees the same sequence every run, or for all of them.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

ACTIONS = ("throttle", "error", "drop", "latency")
DEFAULT_TOKEN_LIFETIME = 3599


@dataclass
class FaultRule:
    action: str
    method: str = "*"
    path: str = "*"
    status: int = 0
    # throttle: seconds (int or float) or an HTTP-date for Retry-After; None sends no Retry-After header.
    retry_after: int | float | str | None = 1
    latency_ms: int = 0
    count: int | None = None
    share: float | None = None
    code: str | None = None
    message: str | None = None
    # Only HTTP round trips, not the requests inside a $batch: latency that models the network, per connection.
    top_level_only: bool = False
    fired: int = 0
    _credit: float = field(default=0.0, repr=False)

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and fnmatch.fnmatchcase(path, self.path)

    def fire(self) -> bool:
        """Whether this matching request is hit, counting it against ``count`` and ``share``."""
        if self.count is not None and self.fired >= self.count:
            return False
        if self.share is not None:
            self._credit += self.share
            if self._credit < 1 - 1e-9:
                return False
            self._credit -= 1
        self.fired += 1
        return True

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["_credit"]
        return data


class Faults:
    """The active fault rules and fault settings; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = []
        self.read_after_write_lag = 0.0
        self.token_lifetime = DEFAULT_TOKEN_LIFETIME

    def clear(self) -> None:
        with self._lock:
            self.rules = []
            self.read_after_write_lag = 0.0
            self.token_lifetime = DEFAULT_TOKEN_LIFETIME

    def add(self, body: dict[str, Any]) -> None:
        """Append the body's rules and apply its settings; ValueError (nothing changed) if anything is invalid."""
        if not isinstance(body, dict) or not set(body) <= {"rules", "read_after_write_lag", "token_lifetime"}:
            raise ValueError("the body takes rules, read_after_write_lag and token_lifetime")
        rules = [_rule(spec, index) for index, spec in enumerate(body.get("rules", []))]
        lag = body.get("read_after_write_lag", self.read_after_write_lag)
        lifetime = body.get("token_lifetime", self.token_lifetime)
        if isinstance(lag, bool) or not isinstance(lag, int | float) or lag < 0:
            raise ValueError("read_after_write_lag must be a number of seconds >= 0")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime < 1:
            raise ValueError("token_lifetime must be a positive integer (seconds)")
        with self._lock:
            self.rules.extend(rules)
            self.read_after_write_lag = float(lag)
            self.token_lifetime = lifetime

    def pick(self, method: str, path: str, *, top_level: bool) -> tuple[int, FaultRule | None]:
        """(milliseconds of latency to add, the rule that answers this request instead of the route, if any)."""
        latency, answer = 0, None
        with self._lock:
            for rule in self.rules:
                if not rule.matches(method, path) or ((rule.action == "drop" or rule.top_level_only) and not top_level):
                    continue
                if rule.action == "latency":
                    latency += rule.latency_ms if rule.fire() else 0
                elif answer is None and rule.fire():
                    answer = rule
        return latency, answer

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"rules": [r.to_dict() for r in self.rules], "read_after_write_lag": self.read_after_write_lag,
                    "token_lifetime": self.token_lifetime}


def _rule(spec: Any, index: int) -> FaultRule:
    where = f"rules[{index}]"
    if not isinstance(spec, dict):
        raise ValueError(f"{where} must be an object")
    allowed = {"action", "method", "path", "status", "retry_after", "latency_ms", "count", "share", "code", "message",
               "top_level_only"}
    if not set(spec) <= allowed or spec.get("action") not in ACTIONS:
        raise ValueError(f"{where}: action must be one of {ACTIONS}; keys allowed: {sorted(allowed)}")
    rule = FaultRule(**spec)
    rule.method = rule.method.upper()
    if not rule.path.startswith("/") and rule.path != "*":
        raise ValueError(f"{where}.path must be a glob starting with '/'")
    if rule.action == "throttle":
        rule.status = rule.status or 429
    if rule.action == "error":
        rule.status = rule.status or 503
        if not 400 <= rule.status < 600:
            raise ValueError(f"{where}.status must be an HTTP error status")
    if rule.action == "latency" and (not isinstance(rule.latency_ms, int) or rule.latency_ms < 1):
        raise ValueError(f"{where}.latency_ms must be a positive integer")
    if not isinstance(rule.top_level_only, bool):
        raise ValueError(f"{where}.top_level_only must be true or false")
    if rule.count is not None and (not isinstance(rule.count, int) or rule.count < 1):
        raise ValueError(f"{where}.count must be a positive integer")
    if rule.share is not None and not (isinstance(rule.share, int | float) and 0 < rule.share <= 1):
        raise ValueError(f"{where}.share must be in (0, 1]")
    if not isinstance(rule.retry_after, int | float | str | type(None)) or isinstance(rule.retry_after, bool):
        raise ValueError(f"{where}.retry_after must be seconds or an HTTP-date")
    return rule
