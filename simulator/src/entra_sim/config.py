"""Runtime settings, including every behaviour the reference marks unverified [U].

The reference (graph-semantics.md) tags some behaviours [U]: nobody has captured what the real service answers.
The simulator picks a default for each, and ``PUT /_admin/config`` changes it, so a test can prove that the
collection copes with either answer. :data:`UNVERIFIED_ERRORS` holds the [U] error answers (status, code, message
template); the fields of :class:`Config` hold the other knobs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from typing import Any

from entra_sim.auth.permissions import PERMISSIONS
from entra_sim.model.errors import INSUFFICIENT_PRIVILEGES, GraphError


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    code: str
    message: str


UNVERIFIED_ERRORS: dict[str, ErrorSpec] = {
    # Reference 1.7: text unverified. A captured CIPP run (KelvinTegelaar/CIPP#468) got "Insufficient privileges"
    # when it added a user to the dynamic "All Users" group, so that is the default.
    "dynamic_group_member_write": ErrorSpec(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES),
    # Graph known issues [P]: "in" takes at most 15 expressions without advanced query parameters; the answer's
    # text is the one clients report seeing [U].
    "too_many_in_values": ErrorSpec(
        400, "Request_UnsupportedQuery",
        "Too many child clauses specified in search filter expression containing 'OR' operators: {count}. "
        "Max allowed: 15.",
    ),
    # Graph known issues [P]: eq matches at most 120 characters without advanced query parameters; text unknown.
    "eq_value_too_long": ErrorSpec(
        400, "Request_UnsupportedQuery",
        "The value of the filter clause for property '{property}' is longer than the 120 characters supported.",
    ),
    # Reference 1.5: deleting a licensed group is refused; the Graph text is unknown.
    "licensed_group_delete": ErrorSpec(
        400, "Request_BadRequest",
        "Unable to delete the group because it has licenses assigned. "
        "Remove the licenses from the group and try again.",
    ),
    # Reference 1.1/1.7: the text is seen [S]; status and code are not.
    "too_many_link_changes": ErrorSpec(
        400, "Request_BadRequest", "A resource cannot contain more than 20 link changes"
    ),
    # Reference 3: more than 20 requests in a $batch.
    "batch_too_many_requests": ErrorSpec(
        400, "BadRequest", "The number of requests in a batch ({count}) exceeds the limit of 20."
    ),
    "batch_duplicate_id": ErrorSpec(400, "BadRequest", "Batch request contains duplicate request id '{id}'."),
    "batch_invalid_request": ErrorSpec(400, "BadRequest", "Invalid batch request: {detail}"),
    # Reference 2.6: only the substring "does not have any available licenses" is confirmed.
    "no_available_licenses": ErrorSpec(
        400, "Request_BadRequest",
        "Subscription with Account {account} and SKU {sku} does not have any available licenses.",
    ),
    "usage_location_prohibited": ErrorSpec(
        400, "Request_BadRequest", "License {sku} cannot be assigned to a user with usage location '{location}'."
    ),
    "disabled_plan_not_in_sku": ErrorSpec(
        400, "Request_BadRequest", "Service plan {plan} is not part of license {sku}."
    ),
    "license_not_assigned": ErrorSpec(400, "Request_BadRequest", "User does not have a corresponding license."),
    "license_group_not_security_enabled": ErrorSpec(
        400, "Request_BadRequest", "Licenses can only be assigned to security-enabled groups."
    ),
    "unknown_property": ErrorSpec(
        400, "BadRequest", "Could not find a property named '{name}' on type 'microsoft.graph.{type}'."
    ),
    "invalid_page_size": ErrorSpec(
        400, "Request_BadRequest", "Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."
    ),
    "invalid_skiptoken": ErrorSpec(400, "Request_BadRequest", "The specified page token value is not valid."),
    "skip_not_supported": ErrorSpec(400, "Request_BadRequest", "'$skip' is not supported by the service."),
    # $orderby on a property Graph cannot sort by, or with $filter but without the advanced query parameters.
    "orderby_not_supported": ErrorSpec(400, "Request_UnsupportedQuery", "Sorting not supported for current query."),
    "invalid_search": ErrorSpec(400, "Request_UnsupportedQuery", "Invalid $search clause: '{text}'."),
    "invalid_json": ErrorSpec(
        400, "BadRequest",
        "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON "
        "format.",
    ),
    "expand_not_supported": ErrorSpec(
        400, "Request_UnsupportedQuery", "The tenant simulator does not support $expand."
    ),
    "unknown_body_property": ErrorSpec(
        400, "BadRequest",
        "The property '{name}' does not exist on type 'microsoft.graph.{type}'. Make sure to only use property names "
        "that are defined by the type.",
    ),
    "read_only_property": ErrorSpec(400, "Request_BadRequest", "Property '{name}' is read-only and cannot be set."),
    # Reference 2.1: subscribedSkus supports only $select.
    "query_option_not_supported": ErrorSpec(
        400, "Request_UnsupportedQuery", "The query option '{option}' is not supported for this resource."
    ),
    "property_required": ErrorSpec(
        400, "Request_BadRequest", "A value is required for property '{name}' of resource '{resource}'."
    ),
    "property_invalid": ErrorSpec(
        400, "Request_BadRequest", "Invalid value specified for property '{name}' of resource '{resource}'."
    ),
    # Reference 1.1: [S] generic text seen for bad dynamic-group payloads.
    "membership_rule_invalid": ErrorSpec(
        400, "Request_BadRequest", "One or more property values specified are invalid."
    ),
    # Reference 1.1: Graph creates only Microsoft 365 groups and security groups.
    "group_kind_not_supported": ErrorSpec(
        400, "Request_BadRequest",
        "Only Microsoft 365 groups and security groups can be created through this API.",
    ),
    "token_invalid_audience": ErrorSpec(
        401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience."
    ),
    "token_invalid_signature": ErrorSpec(401, "InvalidAuthenticationToken", "Access token validation failure."),
    # Reference 8.4: provisioning an object Cloud Sync does not know.
    "provision_unknown_object": ErrorSpec(
        400, "Request_BadRequest", "The object '{id}' was not found in the on-premises directory."
    ),
}

USAGE_LOCATION_SOURCES = ("countryLetterCode", "defaultUsageLocation")
DEPENDENT_REMOVAL_MODES = ("error", "convert_to_direct")


@dataclass
class Throttling:
    """Resource-unit throttling per application (reference 4); off unless enabled."""

    enabled: bool = False
    # None: the tenant-size tier of reference 4 (3,500 / 5,000 / 8,000 resource units per 10 s).
    read_units_per_10s: int | None = None
    writes_per_150s: int = 3000


@dataclass
class Config:
    """Every knob ``PUT /_admin/config`` accepts, with its default."""

    # Seconds a group spends in QueuedForProcessing and then ProcessingInProgress (half each) before its members'
    # licences change and the state becomes ProcessingComplete.
    license_processing_delay: float = 2.0
    # [U] licenseAssignmentStates[].error for a healthy assignment: the string "None" (what scripts test) or null.
    healthy_error_value: str | None = "None"
    # [U] which organization property a group path falls back to when the user has no usageLocation.
    inherited_usage_location: str = "countryLetterCode"
    # [U] whether an SKU whose only paths are in Error still appears in assignedLicenses.
    error_paths_in_assigned_licenses: bool = False
    # [P, version-dependent] a group path going away while another path depends on its plans: the 2025 docs put the
    # group's assignments in an error state, the 2023 docs converted them to a direct assignment.
    dependent_removal: str = "error"
    # [U] end a group's processing in ProcessingFailed (seen only in PowerShell samples) when members are in error.
    processing_failed_state: bool = False
    # [U] a 204 response inside a $batch: no "body" key (False) or "body": null (True).
    batch_no_content_body_null: bool = False
    throttling: Throttling = field(default_factory=Throttling)
    # Overrides of UNVERIFIED_ERRORS: {key: {"status"?, "code"?, "message"?}}.
    errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Overrides of the permission table: {operation: [roles accepted]}.
    permissions: dict[str, list[str]] = field(default_factory=dict)

    def reset(self) -> None:
        """Back to every default (the object is shared with the licence engine, so it is reset in place)."""
        defaults = Config()
        for f in fields(self):
            setattr(self, f.name, getattr(defaults, f.name))

    def error(self, key: str, **values: Any) -> GraphError:
        """The configured answer for the [U] case ``key``, message formatted with ``values``."""
        spec = UNVERIFIED_ERRORS[key]
        override = self.errors.get(key, {})
        message = override.get("message", spec.message).format(**values)
        return GraphError(override.get("status", spec.status), override.get("code", spec.code), message)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)}
        data["throttling"] = vars(self.throttling).copy()
        data["errors"] = {
            key: {**vars(spec), **self.errors.get(key, {})} for key, spec in UNVERIFIED_ERRORS.items()
        }
        data["permissions"] = {op: list(self.permissions.get(op, roles)) for op, roles in PERMISSIONS.items()}
        return data

    def update(self, data: dict[str, Any]) -> None:
        """Apply a partial update; raise ValueError (nothing changed) on an unknown key or a bad value."""
        candidate = copy.deepcopy(self)
        known = {f.name for f in fields(self)}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"unknown setting {key!r}")
            if key == "throttling":
                candidate.throttling = _merge_throttling(candidate.throttling, value)
            elif key == "errors":
                candidate.errors = _merge_errors(candidate.errors, value)
            elif key == "permissions":
                if not isinstance(value, dict) or not set(value) <= set(PERMISSIONS) or not all(
                        isinstance(v, list) and all(isinstance(r, str) for r in v) for v in value.values()):
                    raise ValueError(f"permissions must map operations {sorted(PERMISSIONS)} to lists of roles")
                candidate.permissions.update(value)
            else:
                setattr(candidate, key, _checked(key, value, getattr(self, key)))
        if candidate.inherited_usage_location not in USAGE_LOCATION_SOURCES:
            raise ValueError(f"inherited_usage_location must be one of {USAGE_LOCATION_SOURCES}")
        if candidate.dependent_removal not in DEPENDENT_REMOVAL_MODES:
            raise ValueError(f"dependent_removal must be one of {DEPENDENT_REMOVAL_MODES}")
        if candidate.license_processing_delay < 0:
            raise ValueError("license_processing_delay must not be negative")
        for f in fields(self):
            setattr(self, f.name, getattr(candidate, f.name))


def _checked(key: str, value: Any, current: Any) -> Any:
    if key == "healthy_error_value":
        if value not in ("None", None):
            raise ValueError('healthy_error_value must be "None" or null')
        return value
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be a boolean")
        return value
    if isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} must be a number")
        return float(value)
    if not isinstance(value, type(current)):
        raise ValueError(f"{key} must be a {type(current).__name__}")
    return value


def _merge_throttling(current: Throttling, value: Any) -> Throttling:
    if not isinstance(value, dict):
        raise ValueError("throttling must be an object")
    merged = copy.copy(current)
    for key, item in value.items():
        if key == "enabled":
            merged.enabled = _checked("throttling.enabled", item, merged.enabled)
        elif key == "read_units_per_10s":
            merged.read_units_per_10s = None if item is None else _positive_int(f"throttling.{key}", item)
        elif key == "writes_per_150s":
            merged.writes_per_150s = _positive_int(f"throttling.{key}", item)
        else:
            raise ValueError(f"unknown setting throttling.{key}")
    return merged


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer")
    return value


def _merge_errors(current: dict[str, dict[str, Any]], value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise ValueError("errors must be an object")
    merged = copy.deepcopy(current)
    for key, override in value.items():
        if key not in UNVERIFIED_ERRORS:
            raise ValueError(f"unknown error {key!r}; known: {sorted(UNVERIFIED_ERRORS)}")
        if not isinstance(override, dict) or not set(override) <= {"status", "code", "message"}:
            raise ValueError(f"errors.{key} takes status, code and message")
        if "status" in override and not (isinstance(override["status"], int) and 400 <= override["status"] < 600):
            raise ValueError(f"errors.{key}.status must be an HTTP error status")
        merged.setdefault(key, {}).update(override)
    return merged
