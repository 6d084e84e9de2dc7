"""The log of every request the simulator answered (admin calls excluded), read with a cursor by tests."""

from __future__ import annotations

import collections
import threading
from datetime import UTC, datetime
from typing import Any


class RequestLog:
    """Entries in arrival order; sequence numbers keep growing across clears, so a cursor never goes stale."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self._next = 1

    def add(self, entry: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        with self._lock:
            self._entries.append({"seq": self._next, "time": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                                  **entry})
            self._next += 1

    def clear(self) -> None:
        with self._lock:
            self._entries = []

    def since(self, cursor: int) -> dict[str, Any]:
        """Entries with seq >= ``cursor``, the cursor for the next call, and a summary of those entries."""
        with self._lock:
            entries = [e for e in self._entries if e["seq"] >= cursor]
            nxt = self._next
        return {"next": nxt, "requests": entries, "summary": summarize(entries)}


def summarize(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """round_trips counts HTTP requests of every kind (a $batch is one); by_method, graph_reads and graph_writes
    count Graph operations, where each request inside a $batch is one and the $batch envelope is none."""
    methods: collections.Counter[str] = collections.Counter()
    for entry in entries:
        if entry["kind"] != "graph":
            continue
        if entry.get("inner") is None:
            methods[entry["method"]] += 1
        else:
            methods.update(inner["method"] for inner in entry["inner"])
    return {
        "round_trips": len(entries),
        "by_kind": dict(collections.Counter(e["kind"] for e in entries)),
        "by_method": dict(methods),
        "graph_reads": methods["GET"],
        "graph_writes": sum(n for method, n in methods.items() if method != "GET"),
    }
