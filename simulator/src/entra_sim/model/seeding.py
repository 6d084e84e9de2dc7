"""Build a tenant from a seed: the JSON description of a tenant documented in docs/simulator.md.

Graph objects in a seed use Graph's property names (camelCase) so what a user writes is what Graph shows;
the simulator's own keys are snake_case. SKUs and plans may be named by GUID or by Microsoft's names
(``ENTERPRISEPACK``, ``EXCHANGE_S_ENTERPRISE``), resolved with the catalogue.
"""

from __future__ import annotations

import threading
from typing import Any

from entra_sim.adconnect import validate_config
from entra_sim.catalog import Catalog
from entra_sim.model.tenant import Tenant, is_guid, new_id, utc_now

PREPAID_UNITS = ("enabled", "lockedOut", "suspended", "warning")
# The synchronization rule of Microsoft's Cloud Sync provisionOnDemand example (a group and two members).
DEFAULT_RULE_ID = "33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2"
APP_KEYS = {"name", "client_id", "display_name", "client_secret", "secret_expired", "certificate", "roles"}


class SeedError(ValueError):
    """A seed that cannot describe a tenant; the message says where and why."""


def build_tenant(seed: dict[str, Any], lock: threading.RLock, catalog: Catalog) -> Tenant:
    """A tenant with the seed's objects; licence states are left for the engine to evaluate.

    Raises SeedError, also for values of the wrong JSON type that the checks below do not name one by one.
    """
    try:
        return _build(seed, lock, catalog)
    except (KeyError, TypeError, AttributeError) as exc:
        raise SeedError(f"seed: malformed ({type(exc).__name__}: {exc}); see the seed schema in docs/simulator.md") \
            from exc


def _build(seed: dict[str, Any], lock: threading.RLock, catalog: Catalog) -> Tenant:
    _only(seed, {"name", "tenant", "skus", "plan_rules", "users", "groups", "apps", "managed_identities",
                 "default_app", "cloud_sync", "adconnect", "description"}, "seed")
    org, domain = _organization(_required(seed, "tenant", "seed"))
    tenant = Tenant(lock, org, domain)
    for index, spec in enumerate(seed.get("skus", [])):
        sku = _sku(spec, catalog, f"skus[{index}]", org)
        tenant.skus[sku["skuId"]] = sku
    tenant.plan_rules = _plan_rules(seed.get("plan_rules", {}), catalog)
    created = utc_now()
    for index, spec in enumerate(seed.get("users", [])):
        where = f"users[{index}]"
        values = {k: v for k, v in spec.items() if k != "licenses"}
        _required(values, "userPrincipalName", where)
        values.setdefault("createdDateTime", created)
        values.setdefault("displayName", values["userPrincipalName"].split("@")[0])
        values.setdefault("mail", values["userPrincipalName"])
        values.setdefault("mailNickname", values["userPrincipalName"].split("@")[0])
        values.setdefault("accountEnabled", True)
        values.setdefault("userType", "Member")
        values["id"] = _object_id(values, where)
        values["_direct"] = {
            sku: {"disabledPlans": disabled, "_seq": 0}
            for sku, disabled in _licenses(spec.get("licenses", []), tenant, where)
        }
        tenant.add_user(values)
    for index, spec in enumerate(seed.get("groups", [])):
        _group(tenant, spec, f"groups[{index}]")
    apps = [_app(spec, f"apps[{index}]") for index, spec in enumerate(_required(seed, "apps", "seed"))]
    if not apps:
        raise SeedError("seed: at least one app is required")
    tenant.apps = {app["client_id"]: app for app in apps}
    tenant.default_app = seed.get("default_app", apps[0]["name"])
    if tenant.default_app not in {app["name"] for app in apps}:
        raise SeedError(f"default_app {tenant.default_app!r} names no app")
    tenant.identities = [_identity(m, f"managed_identities[{i}]") for i, m in
                         enumerate(seed.get("managed_identities", []))]
    tenant.cloud_sync = _cloud_sync(seed.get("cloud_sync"))
    try:
        validate_config(seed.get("adconnect"))
    except ValueError as exc:
        raise SeedError(f"adconnect: {exc}") from exc
    tenant.adconnect = dict(seed.get("adconnect") or {})
    return tenant


def _organization(spec: dict[str, Any]) -> tuple[dict[str, Any], str]:
    _required(spec, "id", "tenant")
    domain = _required(spec, "domain", "tenant")
    org = {k: v for k, v in spec.items() if k != "domain"}
    org["id"] = _guid(org["id"], "tenant.id")
    org.setdefault("displayName", domain.split(".")[0].capitalize())
    org.setdefault("countryLetterCode", None)
    org.setdefault("defaultUsageLocation", None)
    org.setdefault("preferredLanguage", "en")
    org.setdefault("tenantType", "AAD")
    org.setdefault("verifiedDomains", [{
        "capabilities": "Email, OfficeCommunicationsOnline", "isDefault": True, "isInitial": True,
        "name": domain, "type": "Managed",
    }])
    return org, domain


def _sku(spec: dict[str, Any], catalog: Catalog, where: str, org: dict[str, Any]) -> dict[str, Any]:
    _only(spec, {"skuId", "skuPartNumber", "prepaidUnits", "capabilityStatus", "appliesTo", "subscriptionIds",
                 "servicePlans", "prohibited_usage_locations", "accountName"}, where)
    ref = spec.get("skuId") or _required(spec, "skuPartNumber", where)
    try:
        sku_id = catalog.sku_id(ref)
        known = catalog.skus[sku_id]
    except KeyError as exc:
        if "servicePlans" not in spec or "skuId" not in spec or "skuPartNumber" not in spec:
            raise SeedError(f"{where}: {ref!r} is not in the catalogue; give skuId, skuPartNumber and servicePlans") \
                from exc
        sku_id, known = _guid(spec["skuId"], where), None
    try:
        plan_ids = [p.lower() if is_guid(p) else catalog.plan_id(p) for p in spec["servicePlans"]] \
            if "servicePlans" in spec else known["servicePlans"]
    except KeyError as exc:
        raise SeedError(f"{where}.servicePlans: {exc}") from exc
    units = spec.get("prepaidUnits", {})
    _only(units, set(PREPAID_UNITS), f"{where}.prepaidUnits")
    return {
        "accountId": org["id"],
        "accountName": spec.get("accountName", org["displayName"]),
        "appliesTo": spec.get("appliesTo", "User"),
        "capabilityStatus": spec.get("capabilityStatus", "Enabled"),
        "id": f"{org['id']}_{sku_id}",
        "prepaidUnits": {name: int(units.get(name, 0)) for name in PREPAID_UNITS},
        "servicePlans": [
            {
                "servicePlanId": plan_id,
                "servicePlanName": catalog.plans.get(plan_id, {}).get("servicePlanName", plan_id),
                "provisioningStatus": "Success",
                "appliesTo": "User",
            }
            for plan_id in plan_ids
        ],
        "skuId": sku_id,
        "skuPartNumber": spec.get("skuPartNumber") or known["skuPartNumber"],
        "subscriptionIds": spec.get("subscriptionIds", [new_id()]),
        "prohibitedUsageLocations": [c.upper() for c in spec.get("prohibited_usage_locations", [])],
    }


def _plan_rules(spec: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    _only(spec, {"mutually_exclusive", "dependencies"}, "plan_rules")

    def plan(ref: str, where: str) -> str:
        try:
            return catalog.plan_id(ref)
        except KeyError as exc:
            if is_guid(ref):
                return ref.lower()
            raise SeedError(f"{where}: unknown service plan {ref!r}") from exc

    pairs = []
    for index, pair in enumerate(spec.get("mutually_exclusive", [])):
        if len(pair) != 2:
            raise SeedError(f"plan_rules.mutually_exclusive[{index}] must name two plans")
        pairs.append([plan(p, f"plan_rules.mutually_exclusive[{index}]") for p in pair])
    dependencies = []
    for index, dep in enumerate(spec.get("dependencies", [])):
        where = f"plan_rules.dependencies[{index}]"
        _only(dep, {"plan", "requires"}, where)
        dependencies.append({"plan": plan(_required(dep, "plan", where), where),
                             "requires": [plan(p, where) for p in _required(dep, "requires", where)]})
    return {"mutuallyExclusive": pairs, "dependencies": dependencies}


def _licenses(specs: list[dict[str, Any]], tenant: Tenant, where: str) -> list[tuple[str, list[str]]]:
    if not specs:
        return []
    by_ref = {**{sku_id: sku_id for sku_id in tenant.skus},
              **{sku["skuPartNumber"].lower(): sku_id for sku_id, sku in tenant.skus.items()}}
    result = []
    for index, spec in enumerate(specs):
        place = f"{where}.licenses[{index}]"
        _only(spec, {"skuId", "skuPartNumber", "disabledPlans"}, place)
        ref = spec.get("skuId") or _required(spec, "skuPartNumber", place)
        sku_id = by_ref.get(ref.lower())
        if sku_id is None:
            raise SeedError(f"{place}: the tenant has no SKU {ref!r}")
        plans = {p["servicePlanId"] for p in tenant.skus[sku_id]["servicePlans"]}
        names = {p["servicePlanName"].lower(): p["servicePlanId"] for p in tenant.skus[sku_id]["servicePlans"]}
        disabled = []
        for plan in spec.get("disabledPlans", []):
            plan_id = plan.lower() if plan.lower() in plans else names.get(plan.lower())
            if plan_id is None:
                raise SeedError(f"{place}: {plan!r} is not a plan of {ref}")
            disabled.append(plan_id)
        result.append((sku_id, disabled))
    return result


def _group(tenant: Tenant, spec: dict[str, Any], where: str) -> None:
    values = {k: v for k, v in spec.items() if k not in ("members", "licenses")}
    _required(values, "displayName", where)
    values.setdefault("mailNickname", "".join(c for c in values["displayName"] if c.isalnum())[:64])
    values.setdefault("mailEnabled", False)
    values.setdefault("securityEnabled", True)
    values.setdefault("groupTypes", [])
    values["id"] = _object_id(values, where)
    group = tenant.add_group(values)
    licenses = _licenses(spec.get("licenses", []), tenant, where)
    group["assignedLicenses"] = [{"disabledPlans": disabled, "skuId": sku} for sku, disabled in licenses]
    group["_license_seq"] = {sku: 0 for sku, _ in licenses}
    if licenses:
        group["licenseProcessingState"] = {"state": "ProcessingComplete"}
    for member in spec.get("members", []):
        found = tenant.find_user(member) or tenant.groups.get(member.lower())
        if found is None:
            raise SeedError(f"{where}.members: no user or group {member!r} (groups must come before their parents)")
        tenant.add_member(group, found["id"])


def _app(spec: dict[str, Any], where: str) -> dict[str, Any]:
    _only(spec, APP_KEYS, where)
    app = {
        "name": _required(spec, "name", where),
        "client_id": _guid(_required(spec, "client_id", where), f"{where}.client_id"),
        "display_name": spec.get("display_name", spec["name"]),
        "client_secret": spec.get("client_secret"),
        "secret_expired": bool(spec.get("secret_expired", False)),
        "certificate": spec.get("certificate"),
        "roles": list(_required(spec, "roles", where)),
    }
    if app["client_secret"] is None and app["certificate"] is None:
        raise SeedError(f"{where}: give client_secret, certificate or both")
    return app


def _identity(spec: dict[str, Any], where: str) -> dict[str, Any]:
    _only(spec, {"name", "type", "client_id", "roles"}, where)
    kind = _required(spec, "type", where)
    if kind not in ("SystemAssigned", "UserAssigned"):
        raise SeedError(f"{where}.type must be SystemAssigned or UserAssigned")
    return {"name": _required(spec, "name", where), "type": kind,
            "client_id": _guid(_required(spec, "client_id", where), f"{where}.client_id"),
            "roles": list(_required(spec, "roles", where))}


def _cloud_sync(spec: dict[str, Any] | None) -> dict[str, Any]:
    if spec is None:
        return {}
    _only(spec, {"service_principal_id", "service_principal_name", "job_id", "rule_id", "on_prem_objects"},
          "cloud_sync")
    objects = {}
    for index, obj in enumerate(spec.get("on_prem_objects", [])):
        where = f"cloud_sync.on_prem_objects[{index}]"
        _only(obj, {"objectId", "objectTypeName", "properties", "members"}, where)
        kind = _required(obj, "objectTypeName", where).lower()
        props = _required(obj, "properties", where)
        anchor = "onPremisesSecurityIdentifier" if kind == "group" else "onPremisesImmutableId"
        if kind not in ("group", "user") or anchor not in props:
            raise SeedError(f"{where}: a {kind} needs properties.{anchor}" if kind in ("group", "user")
                            else f"{where}.objectTypeName must be Group or User")
        objects[_required(obj, "objectId", where).lower()] = {
            "objectTypeName": kind, "properties": props, "members": obj.get("members", [])}
    return {
        "service_principal_id": _guid(_required(spec, "service_principal_id", "cloud_sync"), "cloud_sync"),
        "job_id": _required(spec, "job_id", "cloud_sync"),
        # A Cloud Sync configuration's service principal is named after the AD domain it syncs.
        "service_principal_name": spec.get("service_principal_name") or next(
            (o["properties"].get("onPremisesDomainName") for o in objects.values()
             if o["properties"].get("onPremisesDomainName")), "Cloud Sync"),
        "rule_id": spec.get("rule_id") or DEFAULT_RULE_ID,
        "on_prem_objects": objects,
        "state": {"code": "Active", "lastExecution": None},
    }


def _object_id(values: dict[str, Any], where: str) -> str:
    return _guid(values["id"], f"{where}.id") if "id" in values else new_id()


def _guid(value: Any, where: str) -> str:
    if not isinstance(value, str) or not is_guid(value):
        raise SeedError(f"{where}: {value!r} is not a GUID")
    return value.lower()


def _required(spec: dict[str, Any], key: str, where: str) -> Any:
    if not isinstance(spec, dict) or key not in spec:
        raise SeedError(f"{where}: {key!r} is required")
    return spec[key]


def _only(spec: Any, allowed: set[str], where: str) -> None:
    if not isinstance(spec, dict):
        raise SeedError(f"{where} must be an object")
    unknown = set(spec) - allowed
    if unknown:
        raise SeedError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
