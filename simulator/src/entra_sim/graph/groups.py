"""Groups: create, list, get, update, delete; members ($ref, @odata.bind, lists); group licences
(assignLicense, licenseProcessingState, membersWithLicenseErrors). Texts and rules from reference section 1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, g

from entra_sim import rules
from entra_sim.graph.common import (
    accepted_roles,
    authorize,
    context_url,
    directory_object_url,
    graph_json,
    json_body,
    no_content,
    operation,
    properties,
    sim,
    visible,
)
from entra_sim.graph.directory import entity, license_changes, related_list, resolve_reference
from entra_sim.graph.query import count_response, page, parse_list_query, parse_select, select_fragment
from entra_sim.model import errors
from entra_sim.model.schema import GROUP_PROPERTIES, render
from entra_sim.model.tenant import is_guid, require_writable

bp = Blueprint("groups", __name__)

MAX_LINKS = 20
CREATABLE = frozenset({
    "displayName", "description", "mailEnabled", "mailNickname", "securityEnabled", "groupTypes", "membershipRule",
    "membershipRuleProcessingState", "visibility", "isAssignableToRole", "preferredDataLocation", "classification",
    "theme", "preferredLanguage", "uniqueName",
})
UPDATABLE = frozenset({
    "displayName", "description", "mailNickname", "securityEnabled", "visibility", "preferredDataLocation",
    "membershipRule", "membershipRuleProcessingState", "groupTypes", "classification", "theme", "preferredLanguage",
})
BINDS = ("members@odata.bind", "owners@odata.bind")
# Reference 1.1: ASCII 0-127 except @ () \ [] " ; : . <> , and space.
_NICKNAME_FORBIDDEN = set('@()\\[]";:.<>, ')


def _group(group_id: str) -> dict[str, Any]:
    group = sim().tenant.get_group(group_id)
    if not visible(group["id"]):
        raise errors.not_found(group_id)
    return group


def _replicated(group_id: str) -> dict[str, Any]:
    """A group a member write names: until it has replicated, Graph says its objects don't exist (400)."""
    group = sim().tenant.get_group(group_id)
    if not visible(group["id"]):
        raise errors.bad_request(errors.NOT_REPLICATED)
    return group


def _is_dynamic(group: dict[str, Any]) -> bool:
    return "DynamicMembership" in group["groupTypes"]


def _refuse_member_writes(group: dict[str, Any]) -> None:
    require_writable(group)
    if _is_dynamic(group):
        raise sim().config.error("dynamic_group_member_write")


# --- validation ------------------------------------------------------------------------------------------------

def _invalid(name: str) -> errors.GraphError:
    return sim().config.error("property_invalid", name=name, resource="Group")


def _check_properties(body: dict[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """The body's group properties, checked one by one; binds are left to the caller."""
    config = sim().config
    values = {}
    for name, value in properties(body).items():
        if name in BINDS:
            continue
        if name not in GROUP_PROPERTIES:
            raise config.error("unknown_body_property", name=name, type="group")
        if name not in allowed:
            raise config.error("read_only_property", name=name)
        values[name] = value
    display_name = values.get("displayName", "x")
    if not isinstance(display_name, str) or not display_name.strip() or len(display_name) > 256:
        raise _invalid("displayName")
    if "mailNickname" in values:
        nickname = values["mailNickname"]
        if not isinstance(nickname, str) or not 0 < len(nickname) <= 64 or not nickname.isascii() or any(
                c in _NICKNAME_FORBIDDEN or ord(c) < 32 for c in nickname):
            raise _invalid("mailNickname")
    for name in ("mailEnabled", "securityEnabled", "isAssignableToRole"):
        if name in values and not isinstance(values[name], bool):
            raise _invalid(name)
    if "groupTypes" in values:
        types = values["groupTypes"]
        if not isinstance(types, list) or not set(types) <= {"Unified", "DynamicMembership"} or len(set(types)) != len(
                types):
            raise _invalid("groupTypes")
    if "membershipRuleProcessingState" in values and values["membershipRuleProcessingState"] not in ("On", "Paused"):
        raise _invalid("membershipRuleProcessingState")
    if values.get("membershipRule") is not None:
        if not isinstance(values["membershipRule"], str):
            raise _invalid("membershipRule")
        try:
            rules.parse_rule(values["membershipRule"])
        except rules.RuleError as exc:
            raise config.error("membership_rule_invalid") from exc
    return values


def _check_kind(group: dict[str, Any]) -> None:
    """Graph creates Microsoft 365 groups and security groups only (reference 1.1); dynamic ones need a rule."""
    config = sim().config
    unified = "Unified" in group["groupTypes"]
    microsoft365 = unified and group["mailEnabled"]
    security = not unified and not group["mailEnabled"] and group["securityEnabled"]
    if not microsoft365 and not security:
        raise config.error("group_kind_not_supported")
    if _is_dynamic(group):
        for name in ("membershipRule", "membershipRuleProcessingState"):
            if group[name] is None:
                raise config.error("property_required", name=name, resource="Group")
    elif group["membershipRule"] is not None or group["membershipRuleProcessingState"] is not None:
        raise _invalid("membershipRule" if group["membershipRule"] is not None else "membershipRuleProcessingState")
    if group["isAssignableToRole"] and (not group["securityEnabled"] or _is_dynamic(group)):
        raise _invalid("isAssignableToRole")


def _bindings(body: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """members@odata.bind and owners@odata.bind resolved, at most 20 links in all, every one checked first."""
    links = {name: body.get(name, []) for name in BINDS}
    for name, urls in links.items():
        if not isinstance(urls, list):
            raise errors.GraphError(400, "Request_UnsupportedQuery",
                                    errors.UNSUPPORTED_REFERENCE.format(prop=name.split("@")[0]))
    if sum(len(urls) for urls in links.values()) > MAX_LINKS:
        raise sim().config.error("too_many_link_changes")
    return {name.split("@")[0]: [resolve_reference(url, name.split("@")[0]) for url in urls]
            for name, urls in links.items()}


def _check_new_links(group: dict[str, Any], links: dict[str, list[tuple[str, dict[str, Any]]]]) -> None:
    """Refuse the whole request when a link exists already or is named twice (PATCH and $ref are atomic)."""
    for prop, field in (("members", "_members"), ("owners", "_owners")):
        ids = [obj["id"] for _, obj in links[prop]]
        if len(set(ids)) != len(ids) or any(object_id in group[field] for object_id in ids):
            raise errors.bad_request(errors.ALREADY_MEMBER.format(prop=prop))


def _link(group: dict[str, Any], links: dict[str, list[tuple[str, dict[str, Any]]]]) -> None:
    group["_owners"] = group["_owners"] + [obj["id"] for _, obj in links["owners"]]
    for _, obj in links["members"]:
        sim().tenant.add_member(group, obj["id"])


# --- collection ------------------------------------------------------------------------------------------------

@bp.post("/groups")
@operation(None)
def create_group() -> Response:
    authorize("groups.create")
    body = json_body()
    values = _check_properties(body, CREATABLE)
    for name in ("displayName", "mailEnabled", "mailNickname", "securityEnabled"):
        if name not in values:
            raise sim().config.error("property_required", name=name, resource="Group")
    links = _bindings(body)
    # With Group.Create only, binding users also needs a permission to read them (reference 1.1).
    broader = set(accepted_roles("groups.create")) - {"Group.Create"}
    if any(links.values()) and set(g.claims["roles"]).isdisjoint(broader):
        authorize("groups.create.bind")
    tenant = sim().tenant
    unified = "Unified" in values.get("groupTypes", [])
    candidate = {"groupTypes": [], **values}
    if unified:
        candidate["mail"] = f"{values['mailNickname']}@{tenant.domain}"
        candidate["proxyAddresses"] = [f"SMTP:{candidate['mail']}"]
        candidate.setdefault("visibility", "Public")
    probe = {**GROUP_PROPERTIES, **candidate}
    _check_kind(probe)
    if links["members"] and _is_dynamic(probe):
        raise sim().config.error("dynamic_group_member_write")
    if any(kind != "user" for kind, _ in links["members"]) and unified:
        raise errors.GraphError(400, "Request_UnsupportedQuery", errors.UNSUPPORTED_REFERENCE.format(prop="members"))
    _check_new_links({"_members": {}, "_owners": []}, links)
    group = tenant.add_group(candidate, from_api=True)
    _link(group, links)
    body = {"@odata.context": context_url("groups/$entity"), "@odata.id": directory_object_url("group", group["id"]),
            **render("group", group, None)}
    return graph_json(body, status=201)


@bp.get("/groups")
@operation("groups.read")
def list_groups() -> Response:
    query = parse_list_query("group")
    groups = [grp for grp in sim().tenant.groups.values() if visible(grp["id"])]
    return page(groups, _seq, query, lambda grp: render("group", grp, query.select),
                context_url(select_fragment("groups", query.select)))


@bp.get("/groups/$count")
@operation("groups.read")
def count_groups() -> Response:
    groups = [grp for grp in sim().tenant.groups.values() if visible(grp["id"])]
    return count_response(groups, parse_list_query("group"))


# --- one group -------------------------------------------------------------------------------------------------

@bp.get("/groups/<group_id>")
@operation("groups.read")
def get_group(group_id: str) -> Response:
    return entity("group", _group(group_id), parse_select("group"))


@bp.patch("/groups/<group_id>")
@operation(None)
def update_group(group_id: str) -> Response:
    body = json_body()
    changes = [name for name in properties(body) if name not in BINDS]
    authorize(*(["groups.update"] if changes or "owners@odata.bind" in body else []),
              *(["groups.members.write"] if "members@odata.bind" in body else []))
    group = _replicated(group_id) if "members@odata.bind" in body else _group(group_id)
    require_writable(group)
    values = _check_properties(body, UPDATABLE)
    if "members@odata.bind" in body and _is_dynamic({**group, **values}):
        raise sim().config.error("dynamic_group_member_write")
    links = _bindings(body)
    candidate = {**group, **values}
    _check_kind(candidate)
    _check_new_links(group, links)
    tenant = sim().tenant
    if _is_dynamic(candidate) and not _is_dynamic(group):
        tenant.set_members(group, [])  # changing a static group to dynamic removes every member first
    tenant.update_group(group, values)
    _link(group, links)
    return no_content()


@bp.delete("/groups/<group_id>")
@operation("groups.delete")
def delete_group(group_id: str) -> Response:
    group = _group(group_id)
    require_writable(group)
    if group["assignedLicenses"]:
        raise sim().config.error("licensed_group_delete")
    sim().tenant.delete_group(group)
    return no_content()


# --- members ---------------------------------------------------------------------------------------------------

@bp.post("/groups/<group_id>/members/$ref")
@operation("groups.members.write")
def add_member(group_id: str) -> Response:
    group = _replicated(group_id)
    _refuse_member_writes(group)
    body = json_body()
    if "@odata.id" not in body:
        raise sim().config.error("property_required", name="@odata.id", resource="directoryObject")
    links = {"members": [resolve_reference(body["@odata.id"], "members")], "owners": []}
    _check_new_links(group, links)
    _link(group, links)
    return no_content()


@bp.delete("/groups/<group_id>/members/<member_id>/$ref")
@operation("groups.members.write")
def remove_member(group_id: str, member_id: str) -> Response:
    group = _group(group_id)
    _refuse_member_writes(group)
    if not is_guid(member_id):
        raise errors.GraphError(400, "Request_UnsupportedQuery", errors.UNSUPPORTED_REFERENCE.format(prop="members"))
    if member_id.lower() not in group["_members"]:
        raise errors.not_found(member_id)
    sim().tenant.remove_member(group, member_id.lower())
    return no_content()


@bp.get("/groups/<group_id>/members", defaults={"cast": None})
@bp.get("/groups/<group_id>/members/$count", defaults={"cast": None})
@bp.get("/groups/<group_id>/members/<cast>")
@operation("groups.read")
def list_members(group_id: str, cast: str | None) -> Response:
    group = _group(group_id)
    return related_list(list(sim().tenant.members(group)), lambda o: group["_members"][o["id"]], cast,
                        "directoryObjects")


@bp.get("/groups/<group_id>/transitiveMembers", defaults={"cast": None})
@bp.get("/groups/<group_id>/transitiveMembers/<cast>")
@operation("groups.read")
def list_transitive_members(group_id: str, cast: str | None) -> Response:
    group = _group(group_id)
    found = dict(_transitive(group, set()))
    order = {object_id: index for index, object_id in enumerate(found)}
    return related_list([(kind, obj) for kind, obj in found.values()], lambda o: order[o["id"]], cast,
                        "directoryObjects")


def _transitive(group: dict[str, Any], seen: set[str]) -> Iterator[tuple[str, tuple[str, dict[str, Any]]]]:
    for kind, obj in sim().tenant.members(group):
        if obj["id"] in seen:
            continue
        seen.add(obj["id"])
        yield obj["id"], (kind, obj)
        if kind == "group":
            yield from _transitive(obj, seen)


@bp.get("/groups/<group_id>/owners", defaults={"cast": None})
@bp.get("/groups/<group_id>/owners/<cast>")
@operation("groups.read")
def list_owners(group_id: str, cast: str | None) -> Response:
    group = _group(group_id)
    tenant = sim().tenant
    owners = [found for found in (tenant.directory_object(o) for o in group["_owners"]) if found]
    order = {object_id: index for index, object_id in enumerate(group["_owners"])}
    return related_list(owners, lambda o: order[o["id"]], cast, "directoryObjects")


# --- licences --------------------------------------------------------------------------------------------------

@bp.post("/groups/<group_id>/assignLicense")
@operation("groups.assign_license")
def assign_license(group_id: str) -> Response:
    group = _group(group_id)
    add, remove = license_changes(json_body())
    sim().engine.assign_group(group, add, remove)
    body = {name: group[name] for name in ("id", "createdDateTime", "groupTypes", "securityEnabled")}
    return graph_json(body, status=202, headers={"Location": directory_object_url("group", group["id"])})


@bp.get("/groups/<group_id>/membersWithLicenseErrors", defaults={"cast": None})
@bp.get("/groups/<group_id>/membersWithLicenseErrors/<cast>")
@operation("groups.read")
def members_with_license_errors(group_id: str, cast: str | None) -> Response:
    group = _group(group_id)
    tenant = sim().tenant
    users = [("user", tenant.users[uid]) for uid in sim().engine.members_with_errors(group["id"])]
    return related_list(users, _seq, cast, "directoryObjects")


def _seq(obj: dict[str, Any]) -> int:
    return obj["_seq"]

