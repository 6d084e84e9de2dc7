"""The authority and Graph authentication: MSAL with a secret, both certificate forms and managed identity; the
AADSTS errors Entra sends; Graph's 401 texts; the least-privilege 403."""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import msal
import pytest
import requests
from conftest import Graph, error_of
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from entra_sim.seeds import builtin
from entra_sim.testing import admin


def http(ready: dict[str, Any]) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = ready["ca_bundle"]
    return session


def app_of(ready: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in ready["apps"] if a["name"] == name)


def confidential(ready: dict[str, Any], client_id: str, credential: Any, tenant: str | None = None):
    return msal.ConfidentialClientApplication(
        client_id, client_credential=credential, authority=f"{ready['authority_host']}/{tenant or ready['tenant_id']}",
        instance_discovery=False, http_client=http(ready))


def scopes(ready: dict[str, Any]) -> list[str]:
    return [f"{ready['graph_endpoint']}/.default"]


def certificate_credential(ready: dict[str, Any], form: str) -> dict[str, str]:
    pem = Path(app_of(ready, "cert")["certificate_path"]).read_text()
    key = pem[: pem.index("-----BEGIN CERTIFICATE-----")]
    cert = pem[pem.index("-----BEGIN CERTIFICATE-----"):]
    if form == "thumbprint":
        der = x509.load_pem_x509_certificate(cert.encode()).public_bytes(serialization.Encoding.DER)
        return {"private_key": key, "thumbprint": hashlib.sha1(der).hexdigest().upper()}  # noqa: S324
    return {"private_key": key, "public_certificate": cert}


def graph_with(ready: dict[str, Any], token: str) -> requests.Response:
    session = http(ready)
    return session.get(f"{ready['graph_endpoint']}/v1.0/organization", headers={"Authorization": f"Bearer {token}"})


def test_msal_client_secret_token_carries_the_apps_roles_and_works_on_graph(ready):
    full = app_of(ready, "full")
    result = confidential(ready, full["client_id"], full["client_secret"]).acquire_token_for_client(scopes(ready))
    assert result["token_type"] == "Bearer" and result["expires_in"] == 3599 and result["ext_expires_in"] == 3599
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["aud"] == ready["graph_endpoint"] and claims["tid"] == ready["tenant_id"]
    assert claims["appid"] == full["client_id"] and claims["roles"] == sorted(full["roles"])
    assert graph_with(ready, result["access_token"]).status_code == 200


@pytest.mark.parametrize("form", ["thumbprint", "public_certificate"])
def test_msal_certificate_assertion_rs256_thumbprint_and_ps256_certificate_are_accepted(ready, form):
    result = confidential(ready, app_of(ready, "cert")["client_id"],
                          certificate_credential(ready, form)).acquire_token_for_client(scopes(ready))
    assert "access_token" in result, result
    assert graph_with(ready, result["access_token"]).status_code == 200


def test_wrong_secret_returns_aadsts7000215_as_invalid_client_401_without_echoing_the_secret(ready):
    full = app_of(ready, "full")
    response = http(ready).post(f"{ready['authority_host']}/{ready['tenant_id']}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": full["client_id"], "client_secret": "not-the-secret",
        "scope": scopes(ready)[0]}, headers={"client-request-id": "11111111-2222-3333-4444-555555555555"})
    body = response.json()
    assert response.status_code == 401
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert body["error_description"].startswith(
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client "
        f"secret value, not the client secret ID, for a secret added to app '{full['client_id']}'. Trace ID: ")
    assert "Correlation ID: 11111111-2222-3333-4444-555555555555 Timestamp: " in body["error_description"]
    assert body["correlation_id"] == "11111111-2222-3333-4444-555555555555"
    assert body["trace_id"] and body["timestamp"] and body["error_uri"].endswith("error?code=7000215")
    assert "not-the-secret" not in response.text


def test_msal_returns_the_error_dict_for_a_wrong_secret(ready):
    result = confidential(ready, app_of(ready, "full")["client_id"], "wrong").acquire_token_for_client(scopes(ready))
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]


def test_unknown_app_returns_aadsts700016_unauthorized_client(ready):
    client_id = str(uuid.uuid4())
    result = confidential(ready, client_id, "secret").acquire_token_for_client(scopes(ready))
    assert result["error"] == "unauthorized_client" and result["error_codes"] == [700016]
    assert result["error_description"].startswith(
        f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory 'Contoso'. This "
        "can happen if the application has not been installed by the administrator of the tenant or consented to by "
        "any user in the tenant. You may have sent your authentication request to the wrong tenant. Trace ID: ")


def test_unknown_tenant_discovery_answers_aadsts90002_and_msal_raises_value_error(ready):
    response = http(ready).get(f"{ready['authority_host']}/contoso.example/v2.0/.well-known/openid-configuration")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_tenant"
    assert response.json()["error_description"].startswith(
        "AADSTS90002: Tenant 'contoso.example' not found. This may happen if there are no active subscriptions for "
        "the tenant. Check to make sure you have the correct tenant ID. Check with your subscription administrator.")
    with pytest.raises(ValueError):
        confidential(ready, app_of(ready, "full")["client_id"], "x", tenant="contoso.example")


def test_discovery_by_domain_and_organizations_point_at_the_tenant(ready):
    session = http(ready)
    by_domain = session.get(f"{ready['authority_host']}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration")
    assert by_domain.json()["token_endpoint"] == f"{ready['authority_host']}/{ready['tenant_id']}/oauth2/v2.0/token"
    organizations = session.get(f"{ready['authority_host']}/organizations/v2.0/.well-known/openid-configuration")
    assert organizations.json()["issuer"] == f"{ready['authority_host']}/{ready['tenant_id']}/v2.0"
    full = app_of(ready, "full")
    by_name = confidential(ready, full["client_id"], full["client_secret"], tenant="contoso.onmicrosoft.com")
    assert "access_token" in by_name.acquire_token_for_client(scopes(ready))


def test_expired_secret_returns_aadsts7000222(ready):
    expired = app_of(ready, "expired")
    result = confidential(ready, expired["client_id"], expired["client_secret"]).acquire_token_for_client(
        scopes(ready))
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000222]
    assert result["error_description"].startswith(
        f"AADSTS7000222: The provided client secret keys for app '{expired['client_id']}' are expired.")


def test_scope_other_than_the_graph_endpoint_returns_aadsts70011(ready):
    full = app_of(ready, "full")
    result = confidential(ready, full["client_id"], full["client_secret"]).acquire_token_for_client(
        ["https://graph.microsoft.com/.default"])
    assert result["error"] == "invalid_scope" and result["error_codes"] == [70011]
    assert result["error_description"].startswith(
        "AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope "
        "https://graph.microsoft.com/.default is not valid. Trace ID: ")


def _assertion(ready: dict[str, Any], key: Any, headers: dict[str, str], lifetime: float = 600) -> str:
    now = time.time()
    client_id = app_of(ready, "cert")["client_id"]
    claims = {"aud": f"{ready['authority_host']}/{ready['tenant_id']}/oauth2/v2.0/token", "iss": client_id,
              "sub": client_id, "jti": str(uuid.uuid4()), "iat": now - 1200, "exp": now + lifetime}
    return jwt.encode(claims, key, algorithm="RS256", headers=headers)


def _post_assertion(ready: dict[str, Any], assertion: str) -> dict[str, Any]:
    response = http(ready).post(f"{ready['authority_host']}/{ready['tenant_id']}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": app_of(ready, "cert")["client_id"],
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion, "scope": scopes(ready)[0]})
    return {"status": response.status_code, **response.json()}


def _registered(ready: dict[str, Any]) -> tuple[Any, str]:
    pem = Path(app_of(ready, "cert")["certificate_path"]).read_bytes()
    key = serialization.load_pem_private_key(pem[: pem.index(b"-----BEGIN CERTIFICATE-----")], None)
    cert = x509.load_pem_x509_certificate(pem[pem.index(b"-----BEGIN CERTIFICATE-----"):])
    thumb = jwt.utils.base64url_encode(hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).digest())  # noqa: S324
    return key, thumb.decode() + "="


def test_assertion_with_the_registered_thumbprint_but_another_key_returns_aadsts700027(ready):
    _, thumbprint = _registered(ready)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    result = _post_assertion(ready, _assertion(ready, other, {"x5t": thumbprint}))
    assert result["status"] == 401 and result["error"] == "invalid_client" and result["error_codes"] == [700027]
    assert result["error_description"].startswith("AADSTS700027: Client assertion contains an invalid signature.")


def test_assertion_with_an_unknown_thumbprint_returns_aadsts700027_key_not_found(ready):
    key, _ = _registered(ready)
    result = _post_assertion(ready, _assertion(ready, key, {"x5t": "bm90LXJlZ2lzdGVyZWQ="}))
    assert result["error_codes"] == [700027]
    assert "[Reason - The key was not found." in result["error_description"]


def test_expired_assertion_returns_aadsts700024(ready):
    key, thumbprint = _registered(ready)
    result = _post_assertion(ready, _assertion(ready, key, {"x5t": thumbprint}, lifetime=-60))
    assert result["status"] == 401 and result["error_codes"] == [700024]
    assert result["error_description"].startswith("AADSTS700024: Client assertion is not within its valid time range.")


@pytest.mark.parametrize("identity", ["system", "automation"])
def test_msal_managed_identity_client_gets_a_graph_token_from_the_app_service_endpoint(ready, monkeypatch, identity):
    monkeypatch.setenv("IDENTITY_ENDPOINT", ready["managed_identity"]["endpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", ready["managed_identity"]["header"])
    if identity == "system":
        managed = msal.SystemAssignedManagedIdentity()
        expected = ready["managed_identity"]["client_id"]
    else:
        expected = ready["managed_identity"]["user_assigned"][0]["client_id"]
        managed = msal.UserAssignedManagedIdentity(client_id=expected)
    client = msal.ManagedIdentityClient(managed, http_client=http(ready))
    result = client.acquire_token_for_client(resource=ready["graph_endpoint"])
    assert "access_token" in result, result
    assert jwt.decode(result["access_token"], options={"verify_signature": False})["appid"] == expected
    assert graph_with(ready, result["access_token"]).status_code == 200


def test_managed_identity_endpoint_refuses_a_wrong_identity_header(ready):
    response = http(ready).get(ready["managed_identity"]["endpoint"], headers={"X-IDENTITY-HEADER": "wrong"},
                               params={"api-version": "2019-08-01", "resource": ready["graph_endpoint"]})
    assert response.status_code == 401 and "access_token" not in response.json()


def _forged(ready: dict[str, Any], state_dir: Path, **claims: Any) -> str:
    key = serialization.load_pem_private_key((state_dir / "keys" / "token-signing.pem").read_bytes(), None)
    now = int(time.time())
    payload = {"aud": ready["graph_endpoint"], "tid": ready["tenant_id"], "appid": ready["client_id"],
               "roles": ["Directory.Read.All"], "iat": now, "nbf": now, "exp": now + 600, **claims}
    return jwt.encode(payload, key, algorithm="RS256")


@pytest.mark.parametrize(("authorization", "message"), [
    (None, "Access token is empty."),
    ("Bearer ", "Access token is empty."),
    ("Bearer not-a-token", "CompactToken parsing failed with error code: 80049217"),
])
def test_graph_refuses_missing_or_malformed_tokens_with_invalid_authentication_token(ready, authorization, message):
    headers = {"Authorization": authorization} if authorization else {}
    response = http(ready).get(f"{ready['graph_endpoint']}/v1.0/groups", headers=headers)
    assert error_of(response) == (401, "InvalidAuthenticationToken", message)


def test_graph_refuses_an_expired_token(ready):
    state_dir = Path(ready["ca_bundle"]).parents[1]
    token = _forged(ready, state_dir, exp=int(time.time()) - 5)
    assert error_of(graph_with(ready, token)) == (401, "InvalidAuthenticationToken",
                                                  "Access token has expired or is not yet valid.")


def test_graph_refuses_a_token_for_another_audience_with_the_configured_text(ready):
    state_dir = Path(ready["ca_bundle"]).parents[1]
    token = _forged(ready, state_dir, aud="https://graph.microsoft.com")
    assert error_of(graph_with(ready, token)) == (401, "InvalidAuthenticationToken",
                                                  "Access token validation failure. Invalid audience.")
    admin(ready, "PUT", "/config", {"errors": {"token_invalid_audience": {"message": "Invalid audience."}}})
    assert error_of(graph_with(ready, token))[2] == "Invalid audience."


def test_graph_refuses_a_token_signed_by_another_key(ready):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode({"aud": ready["graph_endpoint"], "tid": ready["tenant_id"], "exp": int(time.time()) + 60,
                        "nbf": int(time.time())}, other, algorithm="RS256")
    assert error_of(graph_with(ready, token)) == (401, "InvalidAuthenticationToken", "Access token validation failure.")


def test_missing_permission_returns_authorization_request_denied_and_logs_the_roles_needed(ready):
    readonly = Graph(ready, "readonly")
    cursor = admin(ready, "GET", "/requests?since=0")["next"]
    response = readonly.post("/groups", {"displayName": "x", "mailEnabled": False, "mailNickname": "x",
                                         "securityEnabled": True})
    assert error_of(response) == (403, "Authorization_RequestDenied",
                                  "Insufficient privileges to complete the operation.")
    entry = admin(ready, "GET", f"/requests?since={cursor}")["requests"][-1]
    assert entry["status"] == 403 and "Group.Create" in entry["required_roles"]
    assert readonly.get("/groups").status_code == 200


def test_group_create_alone_needs_user_read_to_bind_members(ready):
    custom = builtin("article")
    custom["apps"][1]["roles"] = ["Group.Create"]
    admin(ready, "POST", "/seed", custom)
    creator = Graph(ready, "readonly")
    bind = {"members@odata.bind": [f"{ready['graph_endpoint']}/v1.0/users/a1000000-0000-4000-8000-000000000001"]}
    body = {"displayName": "Bound", "mailEnabled": False, "mailNickname": "bound", "securityEnabled": True}
    assert error_of(creator.post("/groups", {**body, **bind}))[0] == 403
    assert creator.post("/groups", body).status_code == 201


def test_token_lifetime_fault_shortens_expires_in(ready):
    admin(ready, "POST", "/faults", {"token_lifetime": 120})
    full = app_of(ready, "full")
    result = confidential(ready, full["client_id"], full["client_secret"]).acquire_token_for_client(scopes(ready))
    assert result["expires_in"] == 120
