# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LDAP to on-premises Active Directory: one connection factory, RFC-correct escaping, AD value formats.

The options of ``create_ldap_connection`` are documented once, in the ``entra.licensing.ldap_connection`` doc
fragment, and declared once, in ``LDAP_CONNECTION_ARGSPEC``; keep the three in step.

User-supplied values reach the directory in exactly two ways, each through one helper: inside a search filter
(``escape_filter_value``, RFC 4515) and inside a distinguished name (``escape_rdn_value``, RFC 4514). A name such as
``*)(objectClass=*`` is then data, never filter syntax.
"""

from __future__ import annotations

import math
import ssl
import uuid
from typing import Any

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    import ldap3
    from ldap3.core.exceptions import LDAPException, LDAPInvalidDnError

    HAS_LDAP3 = True
    LDAP3_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by connect_module through missing_required_lib
    HAS_LDAP3 = False
    LDAP3_IMPORT_ERROR = exc
    # Only named in except clauses, which run after ldap3 was found.
    LDAPException = LDAPInvalidDnError = Exception

try:
    import gssapi

    HAS_GSSAPI = True
    GSSAPI_IMPORT_ERROR = None
    # A Kerberos bind fails with these rather than an LDAP error (no ticket, unknown principal, wrong password).
    _KERBEROS_ERRORS: tuple[type[Exception], ...] = (gssapi.exceptions.GSSError,)
except ImportError as exc:
    HAS_GSSAPI = False
    GSSAPI_IMPORT_ERROR = exc
    _KERBEROS_ERRORS = ()

DEFAULT_PORTS = {"ldaps": 636, "start_tls": 389}

LDAP_CONNECTION_ARGSPEC: dict[str, dict[str, Any]] = dict(
    server=dict(type="str", fallback=(env_fallback, ["AD_LDAP_SERVER"])),
    port=dict(type="int", fallback=(env_fallback, ["AD_LDAP_PORT"])),
    encryption=dict(type="str", default="ldaps", choices=sorted(DEFAULT_PORTS), fallback=(env_fallback, ["AD_LDAP_ENCRYPTION"])),
    auth=dict(type="str", default="simple", choices=["kerberos", "simple"], fallback=(env_fallback, ["AD_LDAP_AUTH"])),
    bind_dn=dict(type="str", fallback=(env_fallback, ["AD_BIND_DN"])),
    bind_password=dict(type="str", no_log=True, fallback=(env_fallback, ["AD_BIND_PASSWORD"])),
    ca_bundle=dict(type="path", fallback=(env_fallback, ["AD_CA_BUNDLE"])),
    validate_certs=dict(type="bool", default=True),
    timeout=dict(type="float", default=30.0),
)

# RFC 4515 section 3: the only characters that cannot appear literally in an assertion value.
_FILTER_SPECIALS = frozenset("\\*()\x00")
# RFC 4514 section 2.4, plus '=' which Active Directory escapes as well (Microsoft's "Distinguished Names" reference).
_RDN_SPECIALS = frozenset('\\,+"<>;=')


class LdapError(Exception):
    """A failed LDAP operation, its message naming what we were doing and the server's own result text."""


def escape_filter_value(value: str) -> str:
    """A value for an LDAP filter assertion: ``\\``, ``*``, ``(``, ``)`` and NUL as ``\\XX`` hex escapes (RFC 4515).

    Everything else, UTF-8 included, is allowed verbatim by the RFC and kept readable.
    """
    return "".join(f"\\{ord(char):02x}" if char in _FILTER_SPECIALS else char for char in value)


def escape_rdn_value(value: str) -> str:
    """An attribute value for one RDN of a DN (RFC 4514 section 2.4), so ``O'Brien, Sales`` stays one component.

    Backslash-escapes the specials, a leading ``#``, leading and trailing spaces; NUL and other control characters
    become ``\\XX`` hex pairs, since Active Directory stores line feeds and carriage returns that way too.
    """
    if not value:
        raise ValueError("an RDN value cannot be empty")
    escaped = []
    last = len(value) - 1
    for index, char in enumerate(value):
        if char in _RDN_SPECIALS or (char == "#" and index == 0) or (char == " " and index in (0, last)):
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or char == "\x7f":
            escaped.append(f"\\{ord(char):02X}")
        else:
            escaped.append(char)
    return "".join(escaped)


def parent_dn(dn: str) -> str:
    """Everything after the first RDN: the comma that ends it is the first one not escaped by a backslash."""
    index = 0
    while index < len(dn):
        if dn[index] == "\\":
            index += 2
            continue
        if dn[index] == ",":
            return dn[index + 1 :].lstrip()
        index += 1
    return ""


def sid_to_string(value: bytes) -> str:
    """The ``S-1-5-21-...`` form of a binary objectSid (MS-DTYP 2.4.2.2), what Entra calls onPremisesSecurityIdentifier.

    Layout: revision byte, sub-authority count, 48-bit big-endian identifier authority, then little-endian 32-bit
    sub-authorities.
    """
    if len(value) < 8 or len(value) != 8 + 4 * value[1]:
        raise ValueError(f"not a binary SID: {value!r}")
    authority = int.from_bytes(value[2:8], "big")
    subs = [str(int.from_bytes(value[8 + 4 * i : 12 + 4 * i], "little")) for i in range(value[1])]
    return "-".join(["S", str(value[0]), str(authority), *subs])


def guid_to_string(value: bytes) -> str:
    """The canonical ``xxxxxxxx-xxxx-...`` form of a binary objectGUID (stored with its first three fields little-endian)."""
    return str(uuid.UUID(bytes_le=bytes(value)))


def create_ldap_connection(
    *,
    server: str | None = None,
    port: int | None = None,
    encryption: str = "ldaps",
    auth: str = "simple",
    bind_dn: str | None = None,
    bind_password: str | None = None,
    ca_bundle: str | None = None,
    validate_certs: bool = True,
    timeout: float = 30.0,
    **kwargs: Any,  # the calling module's own options, passed along with these by create_ldap_connection(**params)
) -> Any:
    """A bound ``ldap3.Connection`` over LDAPS or StartTLS; raises LdapError.

    There is no plain-text mode: Active Directory refuses simple binds without transport encryption, and the
    password would cross the network in clear. Referrals are not chased (a domain-wide search returns references
    to the configuration and DNS partitions, which name other servers), and ``member`` ranges over 1500 values are
    read in full by ldap3's auto_range.
    """
    if not server:
        raise LdapError("no LDAP server given: set the server option or AD_LDAP_SERVER")
    port = port or DEFAULT_PORTS[encryption]
    where = f"{server}:{port} ({encryption})"
    try:
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED if validate_certs else ssl.CERT_NONE, ca_certs_file=ca_bundle if validate_certs else None)
        ldap_server = ldap3.Server(server, port=port, use_ssl=encryption == "ldaps", tls=tls, get_info=ldap3.NONE, connect_timeout=timeout)
        connection, who = _unbound_connection(ldap_server, auth, bind_dn, bind_password, timeout)
        connection.open()
        if encryption == "start_tls":
            connection.start_tls()
        bound = connection.bind()
    except (LDAPException, *_KERBEROS_ERRORS) as exc:
        raise LdapError(f"cannot connect to {where}: {exc}") from exc
    if not bound:
        raise LdapError(f"bind as {who} to {where} failed: {_result_text(connection.result)}")
    return connection


def _unbound_connection(ldap_server: Any, auth: str, bind_dn: str | None, bind_password: str | None, timeout: float) -> tuple[Any, str]:
    """The connection for the chosen authentication, and who it binds as (for messages)."""
    # ldap3 packs receive_timeout into SO_RCVTIMEO as whole seconds: a float there fails with struct.error.
    options: dict[str, Any] = dict(receive_timeout=max(1, math.ceil(timeout)), auto_referrals=False, raise_exceptions=False, auto_range=True)
    if auth == "kerberos":
        credentials = _kerberos_credentials(bind_dn, bind_password)
        sasl = dict(authentication=ldap3.SASL, sasl_mechanism=ldap3.KERBEROS, sasl_credentials=(None, None, credentials))
        return ldap3.Connection(ldap_server, **sasl, **options), bind_dn or "the Kerberos ticket cache's principal"
    if not bind_dn or bind_password is None:
        raise LdapError("a simple bind needs bind_dn and bind_password (or AD_BIND_DN and AD_BIND_PASSWORD)")
    return ldap3.Connection(ldap_server, user=bind_dn, password=bind_password, authentication=ldap3.SIMPLE, **options), bind_dn


def _kerberos_credentials(principal: str | None, password: str | None) -> Any:
    """GSSAPI initiator credentials: from the password when one is given, else None (the ticket cache, e.g. after kinit)."""
    if not HAS_GSSAPI:
        raise LdapError(missing_required_lib("gssapi", reason="for auth=kerberos") + f" ({GSSAPI_IMPORT_ERROR})")
    if not password:
        return None
    if not principal:
        raise LdapError("a Kerberos bind with a password needs bind_dn as a user principal name (user@REALM)")
    name = gssapi.Name(principal, gssapi.NameType.user)
    return gssapi.raw.acquire_cred_with_password(name, password.encode("utf-8"), usage="initiate").creds


def connect_module(module: AnsibleModule) -> Any:
    """The bound connection of a module run, or the module fails with the reason (missing library, TLS, bind)."""
    if not HAS_LDAP3:
        module.fail_json(msg=missing_required_lib("ldap3"), exception=str(LDAP3_IMPORT_ERROR))
    if not module.params["validate_certs"]:
        module.warn("validate_certs=false: the domain controller's TLS certificate is not verified, so the bind password can be intercepted")
    try:
        return create_ldap_connection(**module.params)
    except LdapError as exc:
        module.fail_json(msg=str(exc))


def _result_text(result: dict[str, Any]) -> str:
    """``noSuchObject: 0000208D: NameErr: ...``: the result name and the server's diagnostic message."""
    description = result.get("description") or f"result {result.get('result')}"
    message = (result.get("message") or "").strip()
    return f"{description}: {message}" if message else description


class Directory:
    """Reads and writes through one bound connection; every failure becomes an LdapError saying what we were doing."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._naming_context: str | None = None

    @property
    def naming_context(self) -> str:
        """The domain's DN (rootDSE defaultNamingContext), where domain-wide searches start."""
        if self._naming_context is None:
            entries = self.search("", "(objectClass=*)", ["defaultNamingContext"], scope="base")
            self._naming_context = entries[0]["attributes"]["defaultNamingContext"][0]
        return self._naming_context

    def search(self, base: str, ldap_filter: str, attributes: list[str], scope: str = "subtree") -> list[dict[str, Any]]:
        """Entries (``dn``, ``attributes``, ``raw_attributes``) matching the filter; continuation references are dropped."""
        scopes = {"base": ldap3.BASE, "subtree": ldap3.SUBTREE}
        try:
            self.connection.search(base, ldap_filter, scopes[scope], attributes=attributes)
        except LDAPException as exc:
            raise LdapError(f"search under '{base}' failed: {exc}") from exc
        self._check(f"search under '{base}'", allowed=("success",))
        return [entry for entry in self.connection.response or [] if entry.get("type") == "searchResEntry"]

    def read(self, dn: str, attributes: list[str]) -> dict[str, Any] | None:
        """The entry at ``dn``, or None when there is no such object or the DN is malformed."""
        try:
            self.connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=attributes)
        except LDAPException as exc:
            if isinstance(exc, LDAPInvalidDnError):
                return None  # ldap3 rejects a malformed DN before sending anything: nothing can live there
            raise LdapError(f"cannot read '{dn}': {exc}") from exc
        if self.connection.result.get("description") in ("noSuchObject", "invalidDNSyntax"):
            return None
        self._check(f"read '{dn}'", allowed=("success",))
        entries = [entry for entry in self.connection.response or [] if entry.get("type") == "searchResEntry"]
        return entries[0] if entries else None

    def add(self, dn: str, object_class: list[str], attributes: dict[str, Any]) -> None:
        self._write(f"create '{dn}'", self.connection.add, dn, object_class, attributes)

    def modify(self, dn: str, changes: dict[str, list[tuple[str, list[Any]]]]) -> None:
        """Apply ``{attribute: [(operation, values), ...]}`` where operation is add, delete or replace."""
        operations = {"add": ldap3.MODIFY_ADD, "delete": ldap3.MODIFY_DELETE, "replace": ldap3.MODIFY_REPLACE}
        ldap_changes = {name: [(operations[op], values) for op, values in ops] for name, ops in changes.items()}
        self._write(f"modify '{dn}'", self.connection.modify, dn, ldap_changes)

    def delete(self, dn: str) -> None:
        self._write(f"delete '{dn}'", self.connection.delete, dn)

    def resolve_principals(self, identities: list[str]) -> tuple[dict[str, str], list[str]]:
        """Map each sAMAccountName, userPrincipalName or DN to the object's DN as the server spells it.

        Returns ``(found, unknown)``. Values with ``=`` are read as DNs, anything else is matched against both
        sAMAccountName and userPrincipalName (case-insensitive, as AD compares them) in OR filters of 100 values.
        A value matching two different objects is an error rather than a guess.
        """
        found: dict[str, str] = {}
        unknown: list[str] = []
        names = []
        for identity in dict.fromkeys(identities):
            if "=" in identity:
                entry = self.read(identity, ["objectClass"])
                if entry is None:
                    unknown.append(identity)
                else:
                    found[identity] = entry["dn"]
            else:
                names.append(identity)
        for start in range(0, len(names), 100):
            chunk = names[start : start + 100]
            terms = "".join(f"(sAMAccountName={escape_filter_value(n)})(userPrincipalName={escape_filter_value(n)})" for n in chunk)
            matches: dict[str, set[str]] = {}
            for entry in self.search(self.naming_context, f"(|{terms})", ["sAMAccountName", "userPrincipalName"]):
                for attribute in ("sAMAccountName", "userPrincipalName"):
                    for value in entry["attributes"].get(attribute) or []:
                        matches.setdefault(str(value).casefold(), set()).add(entry["dn"])
            for name in chunk:
                dns = matches.get(name.casefold(), set())
                if len(dns) > 1:
                    raise LdapError(f"'{name}' matches more than one object: {', '.join(sorted(dns))}; give the DN instead")
                if dns:
                    found[name] = dns.pop()
                else:
                    unknown.append(name)
        return found, unknown

    def _write(self, what: str, operation: Any, *args: Any) -> None:
        try:
            operation(*args)
        except LDAPException as exc:
            raise LdapError(f"cannot {what}: {exc}") from exc
        self._check(what, allowed=("success",))

    def _check(self, what: str, allowed: tuple[str, ...]) -> None:
        result = self.connection.result or {}
        if result.get("description") not in allowed:
            raise LdapError(f"cannot {what}: {_result_text(result)}")
