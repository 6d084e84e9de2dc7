"""Users: list and get (by id or userPrincipalName), update, direct licences, reprocessing, licenseDetails,
memberOf. Users are not created or deleted through Graph here: seeds and sync put them in the tenant."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from flask import Blueprint, Response

from entra_sim.graph.common import (
    context_url,
    graph_json,
    json_body,
    no_content,
    operation,
    properties,
    sim,
    visible,
)
from entra_sim.graph.directory import entity, license_changes, related_list, visible_or_404
from entra_sim.graph.query import count_response, page, parse_list_query, parse_select, select_fragment
from entra_sim.model import errors
from entra_sim.model.schema import USER_DEFAULT, USER_PROPERTIES, render

bp = Blueprint("users", __name__)

WRITABLE = frozenset({
    "accountEnabled", "businessPhones", "city", "companyName", "country", "department", "displayName", "employeeId",
    "employeeType", "givenName", "jobTitle", "mailNickname", "mobilePhone", "officeLocation", "postalCode",
    "preferredLanguage", "state", "streetAddress", "surname", "usageLocation", "userPrincipalName", "faxNumber",
    "otherMails", "showInAddressList", "ageGroup", "consentProvidedForMinor",
})
UPN_TAKEN = "Another object with the same value for property userPrincipalName already exists."
# Writable on users mastered on premises (reference 1.7: licences and usage location are cloud-managed).
WRITABLE_WHEN_SYNCED = frozenset({"usageLocation"})


def _user(key: str) -> dict[str, Any]:
    return visible_or_404(sim().tenant.get_user(key), key)


def _with_licenses(user: dict[str, Any]) -> Response:
    """The user object assignLicense and reprocessLicenseAssignment answer with (200, reference 2.6)."""
    return entity("user", user, [*USER_DEFAULT, "assignedLicenses", "licenseAssignmentStates"])


@bp.get("/users")
@operation("users.read")
def list_users() -> Response:
    query = parse_list_query("user")
    users = [u for u in sim().tenant.users.values() if visible(u["id"])]
    return page(users, _seq, query, lambda u: render("user", u, query.select),
                context_url(select_fragment("users", query.select)))


@bp.get("/users/$count")
@operation("users.read")
def count_users() -> Response:
    users = [u for u in sim().tenant.users.values() if visible(u["id"])]
    return count_response(users, parse_list_query("user"))


@bp.get("/users/<key>")
@operation("users.read")
def get_user(key: str) -> Response:
    return entity("user", _user(key), parse_select("user"))


@bp.patch("/users/<key>")
@operation("users.update")
def update_user(key: str) -> Response:
    user = _user(key)
    body = properties(json_body())
    config = sim().config
    for name, value in body.items():
        if name not in USER_PROPERTIES:
            raise config.error("unknown_body_property", name=name, type="user")
        if name not in WRITABLE:
            raise config.error("read_only_property", name=name)
        if user["onPremisesSyncEnabled"] and name not in WRITABLE_WHEN_SYNCED:
            raise errors.on_prem_mastered()
        _check(name, value)
    if "usageLocation" in body and body["usageLocation"] is not None:
        body["usageLocation"] = body["usageLocation"].upper()
    tenant = sim().tenant
    if tenant.upn_index.get(body.get("userPrincipalName", "").lower(), user["id"]) != user["id"]:
        raise errors.bad_request(UPN_TAKEN)
    tenant.update_user(user, body)
    return no_content()


def _check(name: str, value: Any) -> None:
    """Graph's type checks for the writable properties the simulator models."""
    if name == "usageLocation":
        valid = value is None or (isinstance(value, str) and len(value) == 2 and value.isascii() and value.isalpha())
    elif name in ("accountEnabled", "showInAddressList"):
        valid = isinstance(value, bool)
    elif isinstance(USER_PROPERTIES[name], list):
        valid = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif name in ("displayName", "userPrincipalName"):
        valid = isinstance(value, str) and bool(value.strip())
    else:
        valid = value is None or isinstance(value, str)
    if not valid:
        raise sim().config.error("property_invalid", name=name, resource="User")


@bp.post("/users/<key>/assignLicense")
@operation("users.assign_license")
def assign_license(key: str) -> Response:
    user = _user(key)
    add, remove = license_changes(json_body())
    sim().engine.assign_direct(user, add, remove)
    return _with_licenses(user)


@bp.post("/users/<key>/reprocessLicenseAssignment")
@operation("users.reprocess")
def reprocess(key: str) -> Response:
    user = _user(key)
    sim().engine.reprocess(user)
    return _with_licenses(user)


@bp.get("/users/<key>/licenseDetails")
@operation("users.license_details")
def license_details(key: str) -> Response:
    user = _user(key)
    tenant = sim().tenant
    details = []
    for assigned in user["assignedLicenses"]:
        sku = tenant.skus[assigned["skuId"]]
        # An opaque, stable id per user and SKU, as Graph's base64 licenseDetails ids are.
        raw = uuid.UUID(user["id"]).bytes + uuid.UUID(sku["skuId"]).bytes
        details.append({
            "id": base64.urlsafe_b64encode(raw).decode().rstrip("="),
            "skuId": sku["skuId"],
            "skuPartNumber": sku["skuPartNumber"],
            "servicePlans": [
                {**plan, "provisioningStatus": "Disabled" if plan["servicePlanId"] in assigned["disabledPlans"]
                 else plan["provisioningStatus"]}
                for plan in sku["servicePlans"]
            ],
        })
    return graph_json({"@odata.context": context_url(f"users('{user['id']}')/licenseDetails"), "value": details})


@bp.get("/users/<key>/memberOf", defaults={"cast": None})
@bp.get("/users/<key>/memberOf/<cast>")
@bp.get("/users/<key>/memberOf/$count", defaults={"cast": None})
@operation("users.read")
def member_of(key: str, cast: str | None) -> Response:
    user = _user(key)
    groups = [("group", group) for group in sim().tenant.groups_of(user["id"])]
    return related_list(groups, _seq, cast, "directoryObjects")


def _seq(obj: dict[str, Any]) -> int:
    return obj["_seq"]
