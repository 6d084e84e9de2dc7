"""Reading an on-premises Active Directory the way Entra Connect's AD connector does, with ldap3.

A full import reads every user and group under the sync-scope OUs. A delta import reads what changed since a
watermark, the highest update sequence number (USN) the connector has seen: every object of the domain whose
``uSNChanged`` is above it, so that objects moved out of the scope are seen too, and the tombstones of deleted
objects (the show-deleted control, LDAP_SERVER_SHOW_DELETED_OID). The watermark after an import is the rootDSE's
``highestCommittedUSN`` read before searching, so a change committed during the search is read again next time
rather than missed.

Only reads are sent: the directory's USN does not move because of an import, which is how tests prove that a
playbook rerun writes nothing on premises.
"""

from __future__ import annotations

import base64
import math
import ssl
import uuid
from dataclasses import dataclass
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.protocol.formatters.formatters import format_sid
from ldap3.utils.dn import parse_dn

SHOW_DELETED = "1.2.840.113556.1.4.417"
# Users (not computers, which are users too) and groups, without the domain's critical system objects (krbtgt,
# Domain Admins...), which Entra Connect's default rules leave out.
OBJECTS_FILTER = "(&(|(&(objectCategory=person)(objectClass=user))(objectClass=group))(!(isCriticalSystemObject=TRUE)))"
ATTRIBUTES = [
    "objectGUID", "objectSid", "objectClass", "sAMAccountName", "userPrincipalName", "cn", "displayName", "givenName",
    "sn", "mail", "department", "title", "c", "description", "groupType", "userAccountControl", "member",
    "uSNChanged",
]
DEFAULT_PORTS = {"ldaps": 636, "start_tls": 389}
ACCOUNT_DISABLED = 0x2
SECURITY_GROUP = 0x80000000


class DirectoryError(Exception):
    """The directory could not be reached, bound to or read: the run ends without importing."""


@dataclass(frozen=True)
class DirectorySettings:
    """Where the AD connector reads from (the connector's "connect to" page and its OU filtering)."""

    server: str
    base_dn: str
    bind_dn: str
    bind_password: str
    port: int | None = None
    encryption: str = "ldaps"
    ca_bundle: str | None = None
    sync_scope: tuple[str, ...] = ()
    timeout: float = 10.0

    @property
    def scope(self) -> tuple[str, ...]:
        """The OUs synchronised; the whole domain when none are given."""
        return self.sync_scope or (self.base_dn,)

    @property
    def dns_domain(self) -> str:
        """corp.contoso.test for DC=corp,DC=contoso,DC=test (what Entra shows as onPremisesDomainName)."""
        return ".".join(value for attr, value, _ in parse_dn(self.base_dn) if attr.lower() == "dc")


@dataclass(frozen=True)
class ADObject:
    """A user or group as the connector space holds it: the values that flow to Entra ID, and where it lives."""

    guid: str
    kind: str  # "user" or "group"
    dn: str
    values: dict[str, Any]
    immutable_id: str = ""
    usn: int = 0

    @property
    def security_group(self) -> bool:
        return self.kind == "group" and bool(int(self.values.get("groupType") or 0) & SECURITY_GROUP)

    @property
    def enabled(self) -> bool:
        return not int(self.values.get("userAccountControl") or 0) & ACCOUNT_DISABLED


def normalize_dn(dn: str) -> str:
    """A DN in one spelling (attribute types and values lower-cased, no spaces around separators) for comparisons."""
    try:
        return ",".join(f"{attr.lower()}={value.lower()}" for attr, value, _ in parse_dn(dn))
    except LDAPException:
        return dn.strip().lower()


def in_scope(dn: str, scope: tuple[str, ...]) -> bool:
    name = normalize_dn(dn)
    return any(name == ou or name.endswith("," + ou) for ou in (normalize_dn(o) for o in scope))


class Directory:
    """One connection to a domain controller for the length of one import."""

    def __init__(self, settings: DirectorySettings) -> None:
        self.settings = settings
        self.connection: Any = None

    def __enter__(self) -> Directory:
        settings = self.settings
        try:
            tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_bundle)
            port = settings.port or DEFAULT_PORTS[settings.encryption]
            server = ldap3.Server(settings.server, port=port, use_ssl=settings.encryption == "ldaps", tls=tls,
                                  get_info=ldap3.NONE, connect_timeout=math.ceil(settings.timeout))
            self.connection = ldap3.Connection(server, user=settings.bind_dn, password=settings.bind_password,
                                               receive_timeout=math.ceil(settings.timeout), auto_referrals=False,
                                               raise_exceptions=True)
            self.connection.open()
            if settings.encryption == "start_tls":
                self.connection.start_tls()
            self.connection.bind()
        except (LDAPException, OSError) as exc:
            raise DirectoryError(f"cannot connect to {settings.server}: {exc}") from exc
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self.connection.unbind()
        except (LDAPException, OSError):
            pass

    def _search(self, base: str, ldap_filter: str, attributes: list[str], scope: str = ldap3.SUBTREE,
                controls: list | None = None) -> list[dict[str, Any]]:
        try:
            entries = self.connection.extend.standard.paged_search(
                base, ldap_filter, scope, attributes=attributes, controls=controls, paged_size=500, generator=False)
        except LDAPException as exc:
            raise DirectoryError(f"search under {base} failed: {exc}") from exc
        return [entry for entry in entries if entry.get("type") == "searchResEntry"]

    def highest_usn(self) -> int:
        try:
            self.connection.search("", "(objectClass=*)", ldap3.BASE, attributes=["highestCommittedUSN"])
        except LDAPException as exc:
            raise DirectoryError(f"reading the rootDSE failed: {exc}") from exc
        return int(_first(self.connection.response[0]["attributes"], "highestCommittedUSN"))

    def netbios_name(self) -> str:
        """The domain's NetBIOS name from its crossRef in the configuration partition (CORP)."""
        partitions = f"CN=Partitions,CN=Configuration,{self.settings.base_dn}"
        escaped = escape_filter_value(self.settings.base_dn)
        try:
            entries = self._search(partitions, f"(&(objectClass=crossRef)(nCName={escaped}))", ["nETBIOSName"],
                                   scope=ldap3.LEVEL)
        except DirectoryError:
            entries = []
        name = _first(entries[0]["attributes"], "nETBIOSName") if entries else None
        return name or self.settings.dns_domain.split(".")[0].upper()

    def read_scope(self) -> list[ADObject]:
        """Full import: every user and group under the sync-scope OUs (an OU inside another is read once)."""
        found: dict[str, ADObject] = {}
        scope = self.settings.scope
        for ou in scope:
            if any(o != ou and in_scope(ou, (o,)) for o in scope):
                continue
            for entry in self._search(ou, OBJECTS_FILTER, ATTRIBUTES):
                obj = to_object(entry)
                found[obj.guid] = obj
        return list(found.values())

    def read_changes(self, since_usn: int) -> tuple[list[ADObject], list[str]]:
        """Delta import: the objects of the whole domain changed after ``since_usn`` and the GUIDs deleted since."""
        changed_filter = f"(&{OBJECTS_FILTER}(uSNChanged>={since_usn + 1}))"
        changed = [to_object(entry) for entry in self._search(self.settings.base_dn, changed_filter, ATTRIBUTES)]
        tombstones = self._search(self.settings.base_dn, f"(&(isDeleted=TRUE)(uSNChanged>={since_usn + 1}))",
                                  ["objectGUID"], controls=[(SHOW_DELETED, True, None)])
        deleted = [str(uuid.UUID(bytes_le=entry["raw_attributes"]["objectGUID"][0])) for entry in tombstones
                   if entry["raw_attributes"].get("objectGUID")]
        return changed, deleted


def escape_filter_value(value: str) -> str:
    """RFC 4515: the characters that cannot appear literally in a filter's assertion value."""
    return "".join(f"\\{ord(ch):02x}" if ch in "\\*()\0" else ch for ch in value)


def _first(attributes: dict[str, Any], name: str) -> Any:
    value = attributes.get(name)
    if isinstance(value, list):
        return value[0] if value else None
    return value if value not in ("", b"") else None


def to_object(entry: dict[str, Any]) -> ADObject:
    attributes, raw = entry["attributes"], entry["raw_attributes"]
    guid_bytes = raw["objectGUID"][0]
    classes = [c.lower() for c in attributes.get("objectClass") or []]
    kind = "group" if "group" in classes else "user"
    values: dict[str, Any] = {
        name: _first(attributes, name)
        for name in ("sAMAccountName", "userPrincipalName", "cn", "displayName", "givenName", "sn", "mail",
                     "department", "title", "c", "description", "groupType", "userAccountControl")
    }
    values["objectSid"] = format_sid(raw["objectSid"][0]) if raw.get("objectSid") else None
    if kind == "group":
        values["member"] = tuple(sorted(normalize_dn(dn) for dn in attributes.get("member") or []))
    return ADObject(
        guid=str(uuid.UUID(bytes_le=guid_bytes)),
        kind=kind,
        dn=entry["dn"],
        values=values,
        immutable_id=base64.b64encode(guid_bytes).decode("ascii"),
        usn=int(_first(attributes, "uSNChanged") or 0),
    )
