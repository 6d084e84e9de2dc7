"""The authority (reference 7): OpenID discovery, signing keys, the client-credentials token endpoint with a
secret or a certificate assertion, and the App Service managed-identity endpoint. Errors are Entra's, AADSTS
code and all, because MSAL and the collection act on them."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography import x509
from flask import Blueprint, Response, g, request

from entra_sim.core import current as sim

bp = Blueprint("authority", __name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ORGANIZATIONS = ("organizations", "common")


class AuthError(Exception):
    """An Entra token-endpoint error: HTTP status, OAuth error, AADSTS code and text."""

    def __init__(self, status: int, error: str, code: int, text: str) -> None:
        super().__init__(text)
        self.status, self.error, self.code, self.text = status, error, code, text


@bp.errorhandler(AuthError)
def auth_error(error: AuthError) -> Response:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, correlation = str(uuid.uuid4()), request.headers.get("client-request-id") or str(uuid.uuid4())
    body = {
        "error": error.error,
        "error_description": f"AADSTS{error.code}: {error.text} Trace ID: {trace} Correlation ID: {correlation} "
                             f"Timestamp: {now}",
        "error_codes": [error.code],
        "timestamp": now,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"{sim().base_url}/error?code={error.code}",
    }
    return _json(body, error.status)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8",
                    headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})


def _tenant_id(tenant: str, *, discovery: bool) -> str:
    """The tenant GUID for a tenant id or domain in the path; AADSTS90002 for anything else."""
    current = sim().tenant
    if tenant.lower() in (current.tenant_id, current.domain.lower()):
        return current.tenant_id
    if discovery and tenant.lower() in ORGANIZATIONS:
        return tenant.lower()
    raise AuthError(400, "invalid_tenant" if discovery else "invalid_request", 90002,
                    f"Tenant '{tenant}' not found. This may happen if there are no active subscriptions for the "
                    "tenant. Check to make sure you have the correct tenant ID. Check with your subscription "
                    "administrator.")


@bp.get("/<tenant>/v2.0/.well-known/openid-configuration")
def openid_configuration(tenant: str) -> Response:
    tenant_id = _tenant_id(tenant, discovery=True)
    base = sim().base_url
    issuer_tenant = sim().tenant.tenant_id if tenant_id in ORGANIZATIONS else tenant_id
    return _json({
        "token_endpoint": f"{base}/{tenant_id}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base}/{tenant_id}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{issuer_tenant}/v2.0",
        "request_uri_parameter_supported": False,
        "authorization_endpoint": f"{base}/{tenant_id}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{tenant_id}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{base}/{tenant_id}/oauth2/v2.0/logout",
        "tenant_region_scope": "NA",
        "cloud_instance_name": "entra-sim.local",
        "msgraph_host": base.split("://", 1)[1],
    })


@bp.get("/<tenant>/discovery/v2.0/keys")
def keys(tenant: str) -> Response:
    _tenant_id(tenant, discovery=True)
    return _json({"keys": [sim().tokens.jwk]})


@bp.post("/<tenant>/oauth2/v2.0/token")
def token(tenant: str) -> Response:
    tenant_id = _tenant_id(tenant, discovery=False)
    form = request.form
    g.app_id = form.get("client_id")
    if form.get("grant_type") != "client_credentials":
        raise AuthError(400, "unsupported_grant_type", 70003,
                        f"The app requested an unsupported grant type '{form.get('grant_type', '')}'.")
    client_id = form.get("client_id", "")
    app = sim().tenant.apps.get(client_id.lower())
    if app is None:
        raise AuthError(400, "unauthorized_client", 700016,
                        f"Application with identifier '{client_id}' was not found in the directory "
                        f"'{sim().tenant.org['displayName']}'. This can happen if the application has not been "
                        "installed by the administrator of the tenant or consented to by any user in the tenant. "
                        "You may have sent your authentication request to the wrong tenant.")
    if "scope" not in form:
        raise AuthError(400, "invalid_request", 900144,
                        "The request body must contain the following parameter: 'scope'.")
    if "client_assertion" in form:
        _verify_assertion(app, form, tenant_id)
    elif "client_secret" in form:
        _verify_secret(app, form["client_secret"])
    else:
        raise AuthError(401, "invalid_client", 7000216,
                        "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' "
                        "grant type.")
    scope = form["scope"]
    if scope != f"{sim().base_url}/.default":
        raise AuthError(400, "invalid_scope", 70011,
                        f"The provided value for the input parameter 'scope' is not valid. The scope {scope} is not "
                        "valid.")
    lifetime = sim().faults.token_lifetime
    access_token, _ = _issue(app["client_id"], app["roles"], lifetime)
    return _json({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                  "access_token": access_token})


def _issue(app_id: str, roles: list[str], lifetime: int) -> tuple[str, int]:
    simulator = sim()
    tenant_id = simulator.tenant.tenant_id
    return simulator.tokens.issue(issuer=f"{simulator.base_url}/{tenant_id}/v2.0", audience=simulator.base_url,
                                  tenant_id=tenant_id, app_id=app_id, roles=roles, lifetime=lifetime)


def _verify_secret(app: dict[str, Any], secret: str) -> None:
    if app["client_secret"] is None or secret != app["client_secret"]:
        raise AuthError(401, "invalid_client", 7000215,
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                        f"secret value, not the client secret ID, for a secret added to app '{app['client_id']}'.")
    if app["secret_expired"]:
        raise AuthError(401, "invalid_client", 7000222,
                        f"The provided client secret keys for app '{app['client_id']}' are expired. Visit the Azure "
                        "portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using "
                        "certificate credentials for added security: https://aka.ms/certCreds.")


def _verify_assertion(app: dict[str, Any], form: Any, tenant_id: str) -> None:
    """Check a client assertion as Entra does: registered key by thumbprint, signature, audience, issuer, time.

    MSAL pads x5t and x5t#S256 with '=' (RFC 7515 says not to), so thumbprints are compared without padding.
    """
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise AuthError(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
    assertion = form["client_assertion"]
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise AuthError(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from exc
    thumbprints = app.get("thumbprints", {})
    sent = {name: str(header.get(name, "")).rstrip("=") for name in ("x5t", "x5t#S256")}
    if header.get("alg") not in ("RS256", "PS256") or not any(
            sent[name] and sent[name] == thumbprints.get(name) for name in sent):
        thumbprint = sent["x5t"] or sent["x5t#S256"]
        raise AuthError(401, "invalid_client", 700027,
                        "Client assertion contains an invalid signature. [Reason - The key was not found., "
                        f"Thumbprint of key used by client: '{thumbprint}']")
    key = x509.load_pem_x509_certificate(app["certificate_pem"].encode()).public_key()
    token_url = f"{sim().base_url}/{tenant_id}/oauth2/v2.0/token"
    try:
        claims = jwt.decode(assertion, key, algorithms=[header["alg"]],
                            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                                     "verify_iat": False, "require": ["aud", "iss", "sub", "exp"]})
    except jwt.InvalidSignatureError as exc:
        raise AuthError(401, "invalid_client", 700027,
                        "Client assertion contains an invalid signature. [Reason - The provided signature value "
                        "did not match the expected signature value.]") from exc
    except jwt.PyJWTError as exc:
        raise AuthError(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from exc
    if claims["aud"] not in (token_url, request.base_url):
        raise AuthError(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
    if claims["iss"] != app["client_id"] or claims["sub"] != app["client_id"]:
        raise AuthError(401, "invalid_client", 700021,
                        "Client assertion application identifier doesn't match 'client_id' parameter.")
    now = time.time()
    not_before = float(claims.get("nbf", claims.get("iat", now)))
    if not float(claims["exp"]) > now or not_before > now + 300:
        raise AuthError(401, "invalid_client", 700024,
                        f"Client assertion is not within its valid time range. Current time: {_iso(now)}, assertion "
                        f"valid from {_iso(not_before)}, expiry time of assertion {_iso(float(claims['exp']))}.")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


@bp.get("/msi/token")
def managed_identity_token() -> Response:
    """App Service / Functions managed identity (IDENTITY_ENDPOINT + IDENTITY_HEADER), as MSAL calls it."""
    simulator = sim()
    if request.headers.get("X-IDENTITY-HEADER") != simulator.identity_header:
        return _json({"statusCode": 401, "message": "The X-IDENTITY-HEADER is missing or does not match."}, 401)
    if request.args.get("api-version") != "2019-08-01":
        return _json({"statusCode": 400, "message": "The api-version must be 2019-08-01."}, 400)
    resource = request.args.get("resource", "")
    if resource.rstrip("/") != simulator.base_url:
        return _json({"statusCode": 400, "message": f"AADSTS500011: The resource principal named {resource} was "
                      f"not found in the tenant named {simulator.tenant.org['displayName']}."}, 400)
    identity = _identity(request.args.get("client_id") or request.args.get("object_id")
                         or request.args.get("mi_res_id"))
    if identity is None:
        return _json({"statusCode": 400, "message": "No Managed Identity found for specified ClientId/ResourceId/"
                      "PrincipalId."}, 400)
    g.app_id = identity["client_id"]
    access_token, expires_on = _issue(identity["client_id"], identity["roles"], simulator.faults.token_lifetime)
    return _json({"access_token": access_token, "expires_on": str(expires_on), "resource": resource,
                  "token_type": "Bearer", "client_id": identity["client_id"]})


def _identity(key: str | None) -> dict[str, Any] | None:
    """The system-assigned identity without a key, else the user-assigned one with that client id or name."""
    for identity in sim().tenant.identities:
        if key is None and identity["type"] == "SystemAssigned":
            return identity
        if key is not None and identity["type"] == "UserAssigned" and key.lower() in (
                identity["client_id"], identity["name"].lower()):
            return identity
    return None
