"""The Samba AD DC test infrastructure itself: the template's directory, TLS, and cleanup between tests."""

from __future__ import annotations

import ssl

import ldap3
import pytest
import trustme
from ldap3.core.exceptions import LDAPSocketOpenError, LDAPStartTLSError

pytest_plugins = [f"{__package__}.samba_fixtures"]


def test_template_has_the_story_directory(samba_dc):
    ous = {entry["dn"] for entry in samba_dc.find("(objectClass=organizationalUnit)", ["ou"], base=samba_dc.sync_ou)}
    assert ous == {samba_dc.sync_ou, samba_dc.licensing_ou, samba_dc.users_ou}
    users = samba_dc.find("(objectClass=user)", ["sAMAccountName", "userPrincipalName", "department", "mail"], base=samba_dc.users_ou)
    by_sam = {entry["attributes"]["sAMAccountName"][0]: entry for entry in users}
    assert sorted(by_sam) == sorted(user["sAMAccountName"] for user in samba_dc.users)
    for user in samba_dc.users:
        entry = by_sam[user["sAMAccountName"]]
        assert entry["dn"] == user["dn"]
        for attribute in ("userPrincipalName", "department", "mail"):
            assert entry["attributes"][attribute] == [user[attribute]]


@pytest.mark.parametrize("encryption", ["ldaps", "start_tls"])
def test_certificate_is_verified_against_the_instance_ca(samba_dc, encryption):
    samba_dc.connect(encryption).unbind()


@pytest.mark.parametrize(("encryption", "error"), [("ldaps", LDAPSocketOpenError), ("start_tls", LDAPStartTLSError)])
def test_another_ca_is_refused(samba_dc, tmp_path, encryption, error):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(other))
    server = ldap3.Server(samba_dc.ip, port=636 if encryption == "ldaps" else 389, use_ssl=encryption == "ldaps", tls=tls, get_info=ldap3.NONE)
    connection = ldap3.Connection(server, user=samba_dc.admin_dn, password=samba_dc.admin_password, raise_exceptions=True)
    with pytest.raises(error, match="CERTIFICATE_VERIFY_FAILED"):
        connection.open()
        if encryption == "start_tls":
            connection.start_tls()


def test_objects_a_test_creates_are_deleted_after_it(samba_dc_session):
    watermark = samba_dc_session.highest_usn()
    connection = samba_dc_session.connect()
    ou = f"OU=Scratch,{samba_dc_session.licensing_ou}"
    connection.add(ou, ["top", "organizationalUnit"])
    connection.add(f"CN=Scratch group,{ou}", ["top", "group"], {"sAMAccountName": "Scratch group"})
    connection.unbind()
    samba_dc_session.delete_created_since(watermark)
    assert samba_dc_session.find("(|(ou=Scratch)(cn=Scratch group))") == []
    assert len(samba_dc_session.find("(objectClass=user)", ["cn"], base=samba_dc_session.users_ou)) == len(samba_dc_session.users)
