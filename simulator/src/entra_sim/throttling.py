"""Resource-unit throttling of directory requests per application (reference section 4), when enabled.

Each request costs resource units (RU): GET users 2, GET a group's members 3, transitiveMembers 5, subscribedSkus 3,
POST directoryObjects/getByIds 3, any other GET 1; a write 1 RU plus one write. ``$select`` takes one off, a
``$top`` under 20 takes one off, and ``$expand`` adds one; the floor is 1. An application may spend its RU quota
per 10 seconds (3,500 / 5,000 / 8,000 by tenant size, or the configured number) and 3,000 writes per 150 seconds.
Throttled requests still count, as Microsoft warns ("all requests accrue against your usage limits").
"""

from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import dataclass

READ_WINDOW = 10.0
WRITE_WINDOW = 150.0


def request_cost(method: str, path: str, args: dict[str, str]) -> int:
    """The resource units one Graph request costs."""
    if path.endswith("/directoryObjects/getByIds"):
        return 3
    if method != "GET":
        return 1
    parts = path.rstrip("/").split("/")
    if path.endswith("/transitiveMembers") or "/transitiveMembers/" in path:
        cost = 5
    elif "members" in parts or "membersWithLicenseErrors" in parts:
        cost = 3
    elif len(parts) > 2 and parts[2] == "subscribedSkus":
        cost = 3
    elif len(parts) > 2 and parts[2] == "users":
        cost = 2
    else:
        cost = 1
    if "$select" in args:
        cost -= 1
    if "$expand" in args:
        cost += 1
    if args.get("$top", "").isdigit() and int(args["$top"]) < 20:
        cost -= 1
    return max(1, cost)


def default_read_quota(user_count: int) -> int:
    """The RU quota per 10 s of an application in one tenant, by tenant size (S < 50 users, M <= 500, L)."""
    return 3500 if user_count < 50 else 5000 if user_count <= 500 else 8000


@dataclass
class Verdict:
    """The outcome of charging one request: whether it is throttled, and the headers that say so."""

    throttled: bool
    retry_after: int = 0
    limit: str = ""
    information: str = ""
    percentage: float = 0.0


class Throttle:
    """Sliding windows of RU and writes per application."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._units: dict[str, collections.deque[tuple[float, int]]] = {}
        self._unit_sum: dict[str, int] = {}
        self._writes: dict[str, collections.deque[float]] = {}

    def clear(self) -> None:
        with self._lock:
            self._units, self._unit_sum, self._writes = {}, {}, {}

    def charge(self, app: str, cost: int, write: bool, unit_quota: int, write_quota: int) -> Verdict:
        now = time.monotonic()
        with self._lock:
            units = self._units.setdefault(app, collections.deque())
            while units and units[0][0] <= now - READ_WINDOW:
                self._unit_sum[app] -= units.popleft()[1]
            units.append((now, cost))
            used = self._unit_sum[app] = self._unit_sum.get(app, 0) + cost
            writes = self._writes.setdefault(app, collections.deque())
            while writes and writes[0] <= now - WRITE_WINDOW:
                writes.popleft()
            if write:
                writes.append(now)
            percentage = max(used / unit_quota, len(writes) / write_quota)
            if used > unit_quota:
                wait = READ_WINDOW - (now - units[0][0])
                return Verdict(True, max(1, math.ceil(wait)), "ReadWrite", "ResourceUnitLimitExceeded", percentage)
            if len(writes) > write_quota:
                wait = WRITE_WINDOW - (now - writes[0])
                return Verdict(True, max(1, math.ceil(wait)), "Write", "WriteLimitExceeded", percentage)
            return Verdict(False, percentage=percentage)
