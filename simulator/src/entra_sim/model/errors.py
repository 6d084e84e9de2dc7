"""Graph errors raised by the model and the route handlers, with the texts Microsoft documents.

Texts here are primary [P] or seen in real responses [S] and are fixed. Texts the reference marks unverified [U]
live in :mod:`entra_sim.config` instead, where a test can change them.
"""

from __future__ import annotations

NOT_FOUND = "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
NOT_REPLICATED = "The source resource object or one of the objects being referenced don't exist."
ALREADY_MEMBER = "One or more added object references already exist for the following modified properties: '{prop}'."
ON_PREM_MASTERED = (
    "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently "
    "undergoing migration."
)
INSUFFICIENT_PRIVILEGES = "Insufficient privileges to complete the operation."
INVALID_OBJECT_ID = "Invalid object identifier '{id}'."
UNSUPPORTED_REFERENCE = "Unsupported referenced-object resource identifier for link property '{prop}'."
MISSING_ACTION_PARAMETERS = (
    "One or more parameters of the operation '{action}' are missing from the request payload. "
    "The missing parameters are: {names}."
)
INVALID_LICENSE = "License {sku} does not correspond to a valid company License."
INHERITED_LICENSE_REMOVAL = (
    "User license is inherited from a group membership and it cannot be removed directly from the user."
)
INVALID_USAGE_LOCATION = "License assignment cannot be done for user with invalid usage location."
MUTUALLY_EXCLUSIVE = "License assignment failed because service plans {plans} are mutually exclusive"
DEPENDENCY = "License assignment failed because service plan {plan} depends on the service plan(s) {required}"
COUNT_NOT_SUPPORTED = "$count is not currently supported."
SEARCH_NEEDS_EVENTUAL = (
    "Request with $search query parameter only works through MSGraph with a special request header: "
    "'ConsistencyLevel: eventual'"
)
EMPTY_PAYLOAD = "Empty Payload. JSON content expected."
THROTTLED = "Please retry again later."


class GraphError(Exception):
    """An error answered in Graph's envelope: ``{"error": {"code", "message", "innerError"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def not_found(object_id: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound", NOT_FOUND.format(id=object_id))


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def on_prem_mastered() -> GraphError:
    return bad_request(ON_PREM_MASTERED)


def forbidden() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES)
