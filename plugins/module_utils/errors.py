# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type for everything that goes wrong talking to Entra ID or Microsoft Graph."""

from __future__ import annotations

from typing import Any


class GraphError(Exception):
    """A failed Graph (or token) request, with the fields support engineers ask for.

    Microsoft asks callers to branch on ``code``, never on ``message``; ``request_id`` and ``client_request_id`` are
    what a Microsoft support case needs, so they travel all the way into the task result.
    ``ambiguous`` marks failures after which the server may or may not have applied a write (a read timeout, a 5xx):
    callers that create objects must look before they write again.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        client_request_id: str | None = None,
        ambiguous: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.ambiguous = ambiguous
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message]
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.code:
            details.append(f"code {self.code}")
        if self.request_id:
            details.append(f"request-id {self.request_id}")
        if details:
            parts.append(f"({', '.join(details)})")
        return " ".join(parts)

    def with_message(self, message: str) -> GraphError:
        """The same failure told better (more context, names for GUIDs), every Graph field kept."""
        error = GraphError(
            message,
            status=self.status,
            code=self.code,
            request_id=self.request_id,
            client_request_id=self.client_request_id,
            ambiguous=self.ambiguous,
            retry_after=self.retry_after,
        )
        error.__cause__ = self
        return error

    def with_context(self, context: str) -> GraphError:
        """Prefix the message with what we were doing."""
        return self.with_message(f"{context}: {self.message}")

    def to_result(self) -> dict[str, Any]:
        """The keys a failed task returns (see the graph_auth doc fragment)."""
        return {
            "msg": str(self),
            "status": self.status,
            "error_code": self.code,
            "error_message": self.message,
            "request_id": self.request_id,
            "client_request_id": self.client_request_id,
        }

    @classmethod
    def from_response(cls, status: int, headers: dict[str, str], body: Any, context: str = "") -> GraphError:
        """Build the error from Graph's envelope ``{"error": {"code", "message", "innerError": {...}}}``."""
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            error = {}
        inner = error.get("innerError") or {}
        code = error.get("code")
        message = error.get("message") or (body if isinstance(body, str) and body else f"HTTP {status} from Microsoft Graph")
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        request_id = inner.get("request-id") or lowered.get("request-id")
        client_request_id = inner.get("client-request-id") or lowered.get("client-request-id")
        full = f"{context}: {message}" if context else message
        return cls(
            full,
            status=status,
            code=code,
            request_id=request_id,
            client_request_id=client_request_id,
            ambiguous=status >= 500,
        )
