"""The directory of one simulated tenant: organization, SKUs, users, groups, memberships, apps, Cloud Sync.

One lock (owned by the simulator and shared by every tenant it loads) guards all of it; callers hold it around
each read and write. The tenant reports membership, licence and attribute changes through two callbacks, which the
licence engine sets, so no writer can forget to trigger licence processing.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from entra_sim.model import errors
from entra_sim.model.schema import RESOURCES, new_object

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def utc_now() -> str:
    """A Graph DateTimeOffset, to the second, as Graph returns them ("2021-09-21T07:09:14Z")."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    return str(uuid.uuid4())


def is_guid(value: str) -> bool:
    return bool(GUID_RE.match(value))


class Tenant:
    """Directory state. Objects are dicts of Graph properties plus ``_``-prefixed internal fields:

    users: ``_seq`` (creation order), ``_direct`` {skuId: {"disabledPlans", "_seq"}};
    groups: ``_seq``, ``_members`` {memberId: seq of the add}, ``_owners`` [ids], ``_license_seq`` {skuId: seq}.
    """

    def __init__(self, lock: threading.RLock, org: dict[str, Any], domain: str) -> None:
        self.lock = lock
        self.org = org
        self.domain = domain
        self.skus: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.upn_index: dict[str, str] = {}
        self.member_of: dict[str, set[str]] = {}
        self.apps: dict[str, dict[str, Any]] = {}
        self.default_app = ""
        self.identities: list[dict[str, Any]] = []
        self.plan_rules: dict[str, Any] = {"mutuallyExclusive": [], "dependencies": []}
        self.cloud_sync: dict[str, Any] = {}
        # The seed's AD Connect settings (entra_sim.adconnect), kept so a reset or a snapshot restores them.
        self.adconnect: dict[str, Any] = {}
        self.seq = 0
        # time.monotonic() of objects created through the API or by sync, for the read-after-write lag.
        self.created_at: dict[str, float] = {}
        self.on_group_changed: Callable[[str], None] = lambda group_id: None
        self.on_user_changed: Callable[[str], None] = lambda user_id: None

    @property
    def tenant_id(self) -> str:
        return self.org["id"]

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # --- lookups -------------------------------------------------------------------------------------------

    def find_user(self, key: str) -> dict[str, Any] | None:
        """A user by object id or by userPrincipalName (case-insensitive), as /users/{id|upn} resolves it."""
        user = self.users.get(key) or self.users.get(key.lower())
        if user is None and "@" in key:
            user = self.users.get(self.upn_index.get(key.lower(), ""))
        return user

    def get_user(self, key: str) -> dict[str, Any]:
        user = self.find_user(key)
        if user is None:
            raise errors.not_found(key)
        return user

    def get_group(self, group_id: str) -> dict[str, Any]:
        if not is_guid(group_id):
            raise errors.bad_request(errors.INVALID_OBJECT_ID.format(id=group_id))
        group = self.groups.get(group_id.lower())
        if group is None:
            raise errors.not_found(group_id)
        return group

    def directory_object(self, object_id: str) -> tuple[str, dict[str, Any]] | None:
        """("user" | "group", object) for an id, or None."""
        key = object_id.lower()
        if key in self.users:
            return "user", self.users[key]
        if key in self.groups:
            return "group", self.groups[key]
        return None

    def members(self, group: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """A group's direct members in the order they were added, as ("user" | "group", object)."""
        for member_id in group["_members"]:
            found = self.directory_object(member_id)
            if found is not None:
                yield found

    def groups_of(self, object_id: str) -> list[dict[str, Any]]:
        return [self.groups[g] for g in sorted(self.member_of.get(object_id, ()), key=lambda g: self.groups[g]["_seq"])]

    def is_recent(self, object_id: str, lag: float) -> bool:
        """True while an object created less than ``lag`` seconds ago has not "replicated" yet."""
        created = self.created_at.get(object_id)
        return created is not None and time.monotonic() - created < lag

    # --- writes ----------------------------------------------------------------------------------------------

    def add_user(self, values: dict[str, Any], *, from_api: bool = False) -> dict[str, Any]:
        user = new_object("user", values)
        user["createdDateTime"] = user["createdDateTime"] or utc_now()
        user["id"] = user.get("id") or new_id()
        user["_seq"] = self.next_seq()
        user["_direct"] = user.get("_direct", {})
        self.users[user["id"]] = user
        self.upn_index[user["userPrincipalName"].lower()] = user["id"]
        if from_api:
            self.created_at[user["id"]] = time.monotonic()
        return user

    def add_group(self, values: dict[str, Any], *, from_api: bool = False) -> dict[str, Any]:
        group = new_object("group", values)
        group["createdDateTime"] = group["createdDateTime"] or utc_now()
        group["renewedDateTime"] = group["renewedDateTime"] or group["createdDateTime"]
        group["id"] = group.get("id") or new_id()
        group["securityIdentifier"] = group["securityIdentifier"] or _cloud_sid(group["id"])
        group["hasMembersWithLicenseErrors"] = False
        group.update(_seq=self.next_seq(), _members={}, _owners=[], _license_seq={})
        self.groups[group["id"]] = group
        if from_api:
            self.created_at[group["id"]] = time.monotonic()
        self.on_group_changed(group["id"])
        return group

    def update_user(self, user: dict[str, Any], values: dict[str, Any]) -> None:
        if "userPrincipalName" in values:
            del self.upn_index[user["userPrincipalName"].lower()]
            self.upn_index[values["userPrincipalName"].lower()] = user["id"]
        user.update(values)
        self.on_user_changed(user["id"])

    def update_group(self, group: dict[str, Any], values: dict[str, Any]) -> None:
        rule_changed = any(
            k in values and values[k] != group[k] for k in ("membershipRule", "membershipRuleProcessingState")
        )
        group.update(values)
        if rule_changed:
            self.on_group_changed(group["id"])

    def delete_group(self, group: dict[str, Any]) -> None:
        for member_id in list(group["_members"]):
            self.remove_member(group, member_id)
        for parent in self.groups_of(group["id"]):
            self.remove_member(parent, group["id"])
        del self.groups[group["id"]]
        self.created_at.pop(group["id"], None)
        self.on_group_changed(group["id"])

    def delete_user(self, user: dict[str, Any]) -> None:
        """Remove a user, as a sync engine does when the on-premises account is deleted or leaves the sync scope."""
        for group in self.groups_of(user["id"]):
            self.remove_member(group, user["id"])
        del self.users[user["id"]]
        self.upn_index.pop(user["userPrincipalName"].lower(), None)
        self.member_of.pop(user["id"], None)
        self.created_at.pop(user["id"], None)
        self.on_user_changed(user["id"])

    def add_member(self, group: dict[str, Any], member_id: str) -> None:
        group["_members"][member_id] = self.next_seq()
        self.member_of.setdefault(member_id, set()).add(group["id"])
        self.on_group_changed(group["id"])

    def remove_member(self, group: dict[str, Any], member_id: str) -> None:
        del group["_members"][member_id]
        self.member_of[member_id].discard(group["id"])
        self.on_group_changed(group["id"])

    def set_members(self, group: dict[str, Any], member_ids: Iterable[str]) -> None:
        """Make ``member_ids`` the group's members, keeping the add order of those already there."""
        wanted = list(dict.fromkeys(member_ids))
        keep = set(wanted)
        for member_id in [m for m in group["_members"] if m not in keep]:
            self.remove_member(group, member_id)
        for member_id in wanted:
            if member_id not in group["_members"]:
                self.add_member(group, member_id)

    def upsert_synced_user(self, values: dict[str, Any]) -> dict[str, Any]:
        """Create or update a user mastered on premises, as a sync engine would (cloud-side writes stay refused).

        ``values`` holds Graph properties and must include ``onPremisesImmutableId`` (the source anchor the user is
        matched by) and ``userPrincipalName``; ``onPremisesSyncEnabled`` and ``onPremisesLastSyncDateTime`` are set.
        """
        anchor = values["onPremisesImmutableId"]
        synced = {**values, "onPremisesSyncEnabled": True, "onPremisesLastSyncDateTime": utc_now()}
        existing = next((u for u in self.users.values() if u["onPremisesImmutableId"] == anchor), None)
        if existing is None:
            return self.add_user(synced, from_api=True)
        synced.pop("id", None)
        self.update_user(existing, synced)
        return existing

    def upsert_synced_group(self, values: dict[str, Any], member_ids: Iterable[str] | None = None) -> dict[str, Any]:
        """Create or update a security group mastered on premises, matched by ``onPremisesSecurityIdentifier``.

        ``member_ids`` (object ids already in the tenant), when given, replaces the group's membership.
        """
        sid = values["onPremisesSecurityIdentifier"]
        synced = {
            "mailEnabled": False, "securityEnabled": True, "groupTypes": [],
            **values, "onPremisesSyncEnabled": True, "onPremisesLastSyncDateTime": utc_now(),
        }
        group = next((g for g in self.groups.values() if g["onPremisesSecurityIdentifier"] == sid), None)
        if group is None:
            group = self.add_group(synced, from_api=True)
        else:
            synced.pop("id", None)
            self.update_group(group, synced)
        if member_ids is not None:
            self.set_members(group, member_ids)
        return group

    # --- snapshot --------------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to rebuild the tenant, as JSON-ready data."""
        return {
            "org": self.org, "domain": self.domain, "skus": self.skus,
            "users": _compact("user", self.users), "groups": _compact("group", self.groups),
            "apps": self.apps, "defaultApp": self.default_app, "identities": self.identities,
            "planRules": self.plan_rules,
            "cloudSync": self.cloud_sync, "adconnect": self.adconnect, "seq": self.seq,
        }

    @classmethod
    def from_snapshot(cls, lock: threading.RLock, data: dict[str, Any]) -> Tenant:
        tenant = cls(lock, data["org"], data["domain"])
        tenant.skus = data["skus"]
        tenant.users = {uid: new_object("user", user) for uid, user in data["users"].items()}
        tenant.groups = {gid: new_object("group", group) for gid, group in data["groups"].items()}
        tenant.apps, tenant.identities, tenant.plan_rules = data["apps"], data["identities"], data["planRules"]
        tenant.default_app = data["defaultApp"]
        tenant.cloud_sync, tenant.seq = data["cloudSync"], data["seq"]
        tenant.adconnect = data.get("adconnect", {})
        tenant.upn_index = {u["userPrincipalName"].lower(): uid for uid, u in tenant.users.items()}
        for group_id, group in tenant.groups.items():
            for member_id in group["_members"]:
                tenant.member_of.setdefault(member_id, set()).add(group_id)
        return tenant


def _compact(kind: str, objects: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Objects without the properties that hold their default value (a 100,000-user snapshot stays small)."""
    defaults = RESOURCES[kind][0]
    return {
        object_id: {k: v for k, v in obj.items() if k not in defaults or v != defaults[k]}
        for object_id, obj in objects.items()
    }


def _cloud_sid(object_id: str) -> str:
    """The S-1-12-1 security identifier Entra derives from a cloud object's id (four little-endian words)."""
    raw = uuid.UUID(object_id).bytes_le
    words = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, 16, 4)]
    return "S-1-12-1-" + "-".join(str(w) for w in words)


def require_writable(obj: dict[str, Any]) -> None:
    """Refuse a cloud write to an object mastered on premises (reference 1.7)."""
    if obj.get("onPremisesSyncEnabled"):
        raise errors.on_prem_mastered()

