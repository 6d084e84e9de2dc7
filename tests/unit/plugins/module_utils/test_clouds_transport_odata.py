"""National cloud hosts, the TLS-pinning session and OData literals."""

from __future__ import annotations

import pytest

from ansible_collections.entra.licensing.plugins.module_utils.clouds import needs_instance_discovery_off, resolve_cloud
from ansible_collections.entra.licensing.plugins.module_utils.odata import guid, is_guid, quote
from ansible_collections.entra.licensing.plugins.module_utils.transport import build_session


@pytest.mark.parametrize(
    ("cloud", "login", "graph"),
    [
        (None, "https://login.microsoftonline.com", "https://graph.microsoft.com"),
        ("public", "https://login.microsoftonline.com", "https://graph.microsoft.com"),
        ("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us"),
        ("usgov_dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
        ("china", "https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn"),
    ],
)
def test_each_cloud_resolves_its_login_host_graph_root_and_scope(cloud, login, graph):
    endpoints = resolve_cloud(cloud)
    assert endpoints.authority_host == login
    assert endpoints.graph_endpoint == graph
    assert endpoints.scope == f"{graph}/.default"
    assert not needs_instance_discovery_off(endpoints.authority_host)


def test_explicit_hosts_win_and_lose_trailing_slashes_and_version_suffixes():
    endpoints = resolve_cloud("usgov", authority_host="https://127.0.0.1:8443/", graph_endpoint="https://127.0.0.1:8443/v1.0/")
    assert endpoints == ("https://127.0.0.1:8443", "https://127.0.0.1:8443")
    assert endpoints.scope == "https://127.0.0.1:8443/.default"
    assert needs_instance_discovery_off(endpoints.authority_host)


def test_unknown_cloud_and_plain_http_are_refused():
    with pytest.raises(ValueError, match="valid clouds: china, public, usgov, usgov_dod"):
        resolve_cloud("germany")
    with pytest.raises(ValueError, match="https://"):
        resolve_cloud("public", graph_endpoint="http://graph.example")


def test_ca_bundle_wins_over_requests_ca_bundle(monkeypatch, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not used for a connection here")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    session = build_session(str(bundle), validate_certs=True, timeout=5)
    settings = session.merge_environment_settings("https://127.0.0.1/", {}, None, None, None)
    assert settings["verify"] == str(bundle)


def test_validate_certs_false_also_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    session = build_session(None, validate_certs=False, timeout=5)
    assert session.merge_environment_settings("https://127.0.0.1/", {}, None, None, None)["verify"] is False


def test_without_ca_bundle_the_environment_bundle_still_applies(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    session = build_session(None, validate_certs=True, timeout=5)
    assert session.merge_environment_settings("https://127.0.0.1/", {}, None, None, None)["verify"] == "/etc/ssl/certs/ca-certificates.crt"


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("O365_Licenses_E3_Base", "'O365_Licenses_E3_Base'"),
        ("O'Brien's group", "'O''Brien''s group'"),
        ("Sales & Marketing + EU", "'Sales & Marketing + EU'"),
        ("Ventes Île-de-France ✓ Zürich", "'Ventes Île-de-France ✓ Zürich'"),
        ("x' or displayName eq 'y", "'x'' or displayName eq ''y'"),
    ],
)
def test_quote_makes_any_value_a_single_odata_string(value, literal):
    assert quote(value) == literal


def test_guids_are_recognised_and_normalised():
    assert is_guid("6FD2C87F-B296-42F0-B197-1E91E994B900")
    assert guid(" 6FD2C87F-B296-42F0-B197-1E91E994B900 ") == "6fd2c87f-b296-42f0-b197-1e91e994b900"
    assert not is_guid("Office 365 E3")
    with pytest.raises(ValueError, match="not a GUID"):
        guid("ENTERPRISEPACK')")
