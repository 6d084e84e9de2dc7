"""LDAP helpers: filter and DN escaping, AD value formats, the connection factory's choices and errors."""

from __future__ import annotations

import re
import ssl
import sys
import types
import uuid

import ldap3
import pytest
from ldap3.operation.search import MATCH_EQUAL, parse_filter
from ldap3.protocol.convert import prepare_filter_for_sending
from ldap3.utils.dn import parse_dn

from ansible_collections.entra.licensing.plugins.module_utils import ldap as ldap_utils
from ansible_collections.entra.licensing.plugins.module_utils.ldap import (
    LdapError,
    create_ldap_connection,
    escape_filter_value,
    escape_rdn_value,
    guid_to_string,
    parent_dn,
    sid_to_string,
)

HOSTILE = [
    "*)(objectClass=*",
    "*",
    "a\\b",
    "nul\x00byte",
    "(parens)",
    "O'Brien",
    "Ünïcødé Grüße 東京",
    "\\2a",
    ")(|(sAMAccountName=*",
]


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("*)(objectClass=*", "\\2a\\29\\28objectClass=\\2a"),
        ("a\\b", "a\\5cb"),
        ("nul\x00byte", "nul\\00byte"),
        ("(parens)", "\\28parens\\29"),
        ("O'Brien & Sons", "O'Brien & Sons"),
        ("Ünïcødé", "Ünïcødé"),
        ("\\2a", "\\5c2a"),
    ],
)
def test_filter_escaping(value, escaped):
    assert escape_filter_value(value) == escaped


@pytest.mark.parametrize("value", HOSTILE)
def test_escaped_filter_value_stays_one_equality_assertion(value):
    """Parsed by ldap3, the filter is still a single (attr=value), and the value it sends is the input, byte for byte."""
    tree = parse_filter(f"(sAMAccountName={escape_filter_value(value)})", None, auto_escape=False, auto_encode=True, validator=None, check_names=False)
    node = tree.elements[0]
    assert node.tag == MATCH_EQUAL  # no substring, no OR, no AND smuggled in
    assert not node.elements
    assert node.assertion["attr"] == "sAMAccountName"
    assert prepare_filter_for_sending(node.assertion["value"]) == value.encode("utf-8")


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("O365_Licenses_E3_Base", "O365_Licenses_E3_Base"),
        ("Finance, O'Brien", "Finance\\, O'Brien"),
        ('a+b"c<d>e;f=g\\h', 'a\\+b\\"c\\<d\\>e\\;f\\=g\\\\h'),
        ("#hash # inside", "\\#hash # inside"),
        (" both ends ", "\\ both ends\\ "),
        ("nul\x00 and\nnewline", "nul\\00 and\\0Anewline"),
        ("Ünïcødé", "Ünïcødé"),
        ("*)(objectClass=*", "*)(objectClass\\=*"),
    ],
)
def test_rdn_escaping(value, escaped):
    assert escape_rdn_value(value) == escaped


@pytest.mark.parametrize("value", [*HOSTILE, "Finance, O'Brien", " lead", "trail ", "#1", 'q"uote', "a+b", "x;y", "<z>", "k=v"])
def test_escaped_rdn_stays_one_component(value):
    """However hostile the name, the DN still has the group's RDN followed by the OU's two, and nothing else."""
    components = parse_dn(f"CN={escape_rdn_value(value)},OU=Licensing,DC=corp", escape=False)
    assert [component[0] for component in components] == ["CN", "OU", "DC"]
    assert parent_dn(f"CN={escape_rdn_value(value)},OU=Licensing,DC=corp") == "OU=Licensing,DC=corp"


def test_rdn_value_cannot_be_empty():
    with pytest.raises(ValueError, match="empty"):
        escape_rdn_value("")


@pytest.mark.parametrize(
    ("dn", "parent"),
    [
        ("CN=a,OU=b,DC=c", "OU=b,DC=c"),
        ("CN=a\\,b,OU=c", "OU=c"),
        ("CN=a\\\\,OU=c", "OU=c"),
        ("CN=a\\2Cb,OU=c", "OU=c"),
        ("CN=a, OU=c", "OU=c"),
        ("DC=top", ""),
    ],
)
def test_parent_dn(dn, parent):
    assert parent_dn(dn) == parent


def test_sid_to_string():
    builtin_administrators = bytes.fromhex("01020000000000052000000020020000")
    assert sid_to_string(builtin_administrators) == "S-1-5-32-544"
    domain_rid = bytes.fromhex("010500000000000515000000c88cd87114f60aec3e7d0b8df4010000")
    assert sid_to_string(domain_rid) == "S-1-5-21-1910017224-3960141332-2366340414-500"
    assert sid_to_string(domain_rid) == ldap3.protocol.formatters.formatters.format_sid(domain_rid)


@pytest.mark.parametrize("value", [b"", b"\x01\x05\x00", bytes.fromhex("0102000000000005200000")])
def test_sid_to_string_rejects_truncated_values(value):
    with pytest.raises(ValueError, match="not a binary SID"):
        sid_to_string(value)


def test_guid_to_string_is_the_canonical_form():
    guid = uuid.UUID("4c48afde-8f2b-4a8e-b1a6-0d5c7e2f9a13")
    assert guid_to_string(guid.bytes_le) == "4c48afde-8f2b-4a8e-b1a6-0d5c7e2f9a13"


def test_simple_bind_needs_dn_and_password():
    with pytest.raises(LdapError, match="bind_dn and bind_password"):
        create_ldap_connection(server="dc01.corp.contoso.com", bind_dn="svc@corp.contoso.com")


def test_server_is_required():
    with pytest.raises(LdapError, match="AD_LDAP_SERVER"):
        create_ldap_connection(bind_dn="svc@corp.contoso.com", bind_password="secret")


class _RecordingConnection:
    """Stands in for ldap3.Connection: records how it was built, binds without a network."""

    made: list[_RecordingConnection] = []

    def __init__(self, server, **kwargs):
        self.server = server
        self.kwargs = kwargs
        self.started_tls = False
        self.result = {"description": "success"}
        _RecordingConnection.made.append(self)

    def open(self):
        pass

    def start_tls(self):
        self.started_tls = True

    def bind(self):
        return True


@pytest.fixture
def recording(monkeypatch):
    _RecordingConnection.made = []
    monkeypatch.setattr(ldap3, "Connection", _RecordingConnection)
    return _RecordingConnection.made


@pytest.mark.parametrize(("encryption", "port", "use_ssl"), [("ldaps", 636, True), ("start_tls", 389, False)])
def test_encryption_picks_port_and_tls(recording, tmp_path, encryption, port, use_ssl):
    ca_bundle = tmp_path / "ca.pem"
    ca_bundle.write_text("")
    create_ldap_connection(server="dc01", encryption=encryption, bind_dn="svc@corp", bind_password="pw", ca_bundle=str(ca_bundle))
    connection = recording[0]
    assert connection.server.port == port
    assert connection.server.ssl is use_ssl
    assert connection.started_tls is (encryption == "start_tls")
    assert connection.server.tls.validate == ssl.CERT_REQUIRED
    assert connection.server.tls.ca_certs_file == str(ca_bundle)
    assert connection.kwargs["authentication"] == ldap3.SIMPLE
    assert connection.kwargs["auto_referrals"] is False


def test_missing_ca_bundle_is_an_ldap_error(tmp_path):
    with pytest.raises(LdapError, match="invalid CA public key file"):
        create_ldap_connection(server="dc01", bind_dn="svc", bind_password="pw", ca_bundle=str(tmp_path / "missing.pem"))


def test_validate_certs_false_turns_verification_off(recording):
    create_ldap_connection(server="dc01", port=1636, bind_dn="svc", bind_password="pw", ca_bundle="/ca.pem", validate_certs=False, timeout=2.5)
    assert recording[0].server.port == 1636
    assert recording[0].kwargs["receive_timeout"] == 3  # whole seconds: ldap3 packs it into SO_RCVTIMEO
    assert recording[0].server.tls.validate == ssl.CERT_NONE


def test_kerberos_without_gssapi_says_what_to_install(monkeypatch):
    monkeypatch.setattr(ldap_utils, "HAS_GSSAPI", False)
    with pytest.raises(LdapError, match="gssapi"):
        create_ldap_connection(server="dc01.corp.contoso.com", auth="kerberos")


def test_kerberos_binds_with_sasl_gssapi(monkeypatch, recording):
    acquired = []

    def acquire_cred_with_password(name, password, usage):
        acquired.append((name, password, usage))
        return types.SimpleNamespace(creds="tgt")

    fake = types.SimpleNamespace(
        Name=lambda principal, kind: (principal, kind),
        NameType=types.SimpleNamespace(user="user-name"),
        raw=types.SimpleNamespace(acquire_cred_with_password=acquire_cred_with_password),
    )
    monkeypatch.setattr(ldap_utils, "HAS_GSSAPI", True)
    monkeypatch.setattr(ldap_utils, "gssapi", fake, raising=False)
    monkeypatch.setitem(sys.modules, "gssapi", fake)
    create_ldap_connection(server="dc01.corp.contoso.com", auth="kerberos", bind_dn="svc@CORP.CONTOSO.COM", bind_password="pw")
    create_ldap_connection(server="dc01.corp.contoso.com", auth="kerberos")
    with_password, from_cache = recording
    assert acquired == [(("svc@CORP.CONTOSO.COM", "user-name"), b"pw", "initiate")]
    assert with_password.kwargs["authentication"] == ldap3.SASL
    assert with_password.kwargs["sasl_mechanism"] == ldap3.KERBEROS
    assert with_password.kwargs["sasl_credentials"] == (None, None, "tgt")
    assert from_cache.kwargs["sasl_credentials"] == (None, None, None)


def test_kerberos_errors_become_ldap_errors(monkeypatch):
    class GSSError(Exception):
        pass

    def acquire_cred_with_password(name, password, usage):
        raise GSSError("Preauthentication failed")

    fake = types.SimpleNamespace(
        Name=lambda principal, kind: principal,
        NameType=types.SimpleNamespace(user="user-name"),
        raw=types.SimpleNamespace(acquire_cred_with_password=acquire_cred_with_password),
    )
    monkeypatch.setattr(ldap_utils, "HAS_GSSAPI", True)
    monkeypatch.setattr(ldap_utils, "gssapi", fake, raising=False)
    monkeypatch.setattr(ldap_utils, "_KERBEROS_ERRORS", (GSSError,))
    with pytest.raises(LdapError, match=re.escape("cannot connect to dc01.corp.contoso.com:636 (ldaps): Preauthentication failed")):
        create_ldap_connection(server="dc01.corp.contoso.com", auth="kerberos", bind_dn="svc@CORP.CONTOSO.COM", bind_password="wrong")
