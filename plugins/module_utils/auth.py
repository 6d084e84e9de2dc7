# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Getting an access token for Graph: client secret, certificate, managed identity, or a token obtained elsewhere.

Each method is a small credential class with ``token()`` and ``refresh()``. MSAL keeps the token in memory, so a module
run asks the token endpoint once. Secrets never appear in error messages: Entra's own texts do not contain them and
we add nothing but ids and hosts.
"""

from __future__ import annotations

import abc
import hashlib
import os
from typing import Any

from ansible_collections.entra.licensing.plugins.module_utils.clouds import CloudEndpoints, needs_instance_discovery_off
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError

try:
    import msal

    HAS_MSAL = True
    MSAL_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module wrapper through missing_required_lib
    HAS_MSAL = False
    MSAL_IMPORT_ERROR = exc

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported when a certificate is used
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

AUTH_METHODS = ("auto", "client_secret", "certificate", "managed_identity", "access_token")


class Credential(abc.ABC):
    """A source of bearer tokens for one module run."""

    @abc.abstractmethod
    def token(self) -> str:
        """A bearer token for Graph, from cache when still valid."""

    def refresh(self) -> bool:
        """Drop the cached token after Graph rejected it; False when a new one cannot be obtained."""
        return False


class AccessTokenCredential(Credential):
    """A token obtained elsewhere (Azure CLI, a pipeline): used as is, so it cannot be refreshed."""

    def __init__(self, access_token: str) -> None:
        self._token = access_token

    def token(self) -> str:
        return self._token


def _token_from_result(result: dict[str, Any] | None, what: str) -> str:
    """Turn MSAL's result dict into a token or a GraphError carrying Entra's AADSTS code and ids."""
    if result and result.get("access_token"):
        return result["access_token"]
    result = result or {}
    description = result.get("error_description") or "no access token in the response"
    raise GraphError(
        f"Could not get a token {what}: {description}",
        code=result.get("error") or "token_error",
        request_id=result.get("trace_id"),
        client_request_id=result.get("correlation_id"),
    )


def _transport_error(error: Exception, endpoints: CloudEndpoints) -> GraphError:
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSLError" in type(error).__name__:
        return GraphError(
            f"TLS verification failed talking to {endpoints.authority_host}: {text}. Set ca_bundle to the CA that signed "
            "the server's certificate (it wins over REQUESTS_CA_BUNDLE)."
        )
    return GraphError(f"Could not reach the token endpoint at {endpoints.authority_host}: {text}", ambiguous=True)


class MsalConfidentialCredential(Credential):
    """Client credentials flow (secret or certificate assertion) for an app registration."""

    def __init__(
        self, session: Any, endpoints: CloudEndpoints, *, tenant_id: str, client_id: str, client_credential: Any, what: str
    ) -> None:
        self._session = session
        self._endpoints = endpoints
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._client_credential = client_credential
        self._what = what
        self._app: Any = None

    def _application(self) -> Any:
        if self._app is None:
            authority = f"{self._endpoints.authority_host}/{self._tenant_id}"
            kwargs: dict[str, Any] = {}
            if needs_instance_discovery_off(self._endpoints.authority_host):
                kwargs["instance_discovery"] = False
            try:
                self._app = msal.ConfidentialClientApplication(
                    self._client_id,
                    client_credential=self._client_credential,
                    authority=authority,
                    http_client=self._session,
                    **kwargs,
                )
            except ValueError as exc:
                # MSAL reports an unknown tenant or a bad authority as ValueError while reading OpenID discovery.
                raise GraphError(
                    f"Entra rejected the authority {authority} (check tenant_id, cloud and authority_host): {exc}",
                    code="invalid_authority",
                ) from None
            except Exception as exc:  # requests errors while reading OpenID discovery
                raise _transport_error(exc, self._endpoints) from None
        return self._app

    def token(self) -> str:
        app = self._application()
        try:
            result = app.acquire_token_for_client(scopes=[self._endpoints.scope])
        except GraphError:
            raise
        except Exception as exc:
            raise _transport_error(exc, self._endpoints) from None
        return _token_from_result(result, f"for app {self._client_id} in tenant {self._tenant_id} ({self._what})")

    def refresh(self) -> bool:
        if self._app is not None:
            self._app.remove_tokens_for_client()
        return True


class ManagedIdentityCredential(Credential):
    """The Azure host's managed identity (system-assigned, or user-assigned by client id), found by MSAL from the
    environment the platform provides (App Service IDENTITY_ENDPOINT/IDENTITY_HEADER, IMDS on VMs, ...)."""

    def __init__(self, session: Any, endpoints: CloudEndpoints, client_id: str | None) -> None:
        self._session = session
        self._endpoints = endpoints
        self._client_id = client_id
        self._client: Any = None

    def token(self) -> str:
        if self._client is None:
            identity = (
                msal.UserAssignedManagedIdentity(client_id=self._client_id)
                if self._client_id
                else msal.SystemAssignedManagedIdentity()
            )
            self._client = msal.ManagedIdentityClient(identity, http_client=self._session)
        which = f"user-assigned identity {self._client_id}" if self._client_id else "system-assigned identity"
        try:
            result = self._client.acquire_token_for_client(resource=self._endpoints.graph_endpoint)
        except Exception as exc:
            raise _transport_error(exc, self._endpoints) from None
        return _token_from_result(result, f"from the managed identity ({which})")

    def refresh(self) -> bool:
        self._client = None
        return True


def load_certificate(path: str, password: str | None) -> dict[str, str]:
    """MSAL's certificate credential from a PEM file holding the private key and the certificate.

    The SHA-1 thumbprint (sent as ``x5t``) is derived from the certificate, so users give one file and nothing else.
    """
    if not HAS_CRYPTOGRAPHY:
        raise GraphError(f"The cryptography Python package is required for certificate authentication: {CRYPTOGRAPHY_IMPORT_ERROR}")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise GraphError(f"Cannot read client_certificate_path {path}: {exc.strerror}") from None
    secret = password.encode() if password else None
    try:
        key = serialization.load_pem_private_key(data, password=secret)
    except (ValueError, TypeError) as exc:
        hint = "wrong or missing client_certificate_password, or" if b"ENCRYPTED" in data else "no"
        raise GraphError(f"client_certificate_path {path}: {hint} PEM private key could be read ({exc})") from None
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise GraphError(f"client_certificate_path {path} holds no PEM certificate; it must contain the key and the certificate") from None
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    return {
        "private_key": key_pem.decode(),
        "thumbprint": hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper(),  # noqa: S324
        "public_certificate": cert_pem.decode(),
    }


def choose_method(params: dict[str, Any]) -> str:
    """``auto``: a given token, then a certificate, then a secret, else the host's managed identity."""
    method = params.get("auth_method") or "auto"
    if method != "auto":
        return method
    if params.get("access_token"):
        return "access_token"
    if params.get("client_certificate_path"):
        return "certificate"
    if params.get("client_secret"):
        return "client_secret"
    return "managed_identity"


def build_credential(params: dict[str, Any], session: Any, endpoints: CloudEndpoints) -> Credential:
    """The credential for the graph_auth options in ``params`` (see the graph_auth doc fragment)."""
    method = choose_method(params)
    if method == "access_token":
        if not params.get("access_token"):
            raise GraphError("auth_method=access_token needs access_token (or ENTRA_ACCESS_TOKEN)")
        return AccessTokenCredential(params["access_token"])
    if not HAS_MSAL:
        raise GraphError(f"The msal Python package is required for auth_method={method}: {MSAL_IMPORT_ERROR}")
    if method == "managed_identity":
        return ManagedIdentityCredential(session, endpoints, params.get("managed_identity_client_id"))
    missing = [name for name in ("tenant_id", "client_id") if not params.get(name)]
    if method == "client_secret":
        missing += [] if params.get("client_secret") else ["client_secret"]
    elif method == "certificate":
        missing += [] if params.get("client_certificate_path") else ["client_certificate_path"]
    if missing:
        env = {
            "tenant_id": "AZURE_TENANT_ID",
            "client_id": "AZURE_CLIENT_ID",
            "client_secret": "AZURE_CLIENT_SECRET",
            "client_certificate_path": "AZURE_CLIENT_CERTIFICATE_PATH",
        }
        names = ", ".join(f"{name} ({env[name]})" for name in missing)
        raise GraphError(f"auth_method={method} needs {names}")
    if method == "client_secret":
        client_credential: Any = params["client_secret"]
    else:
        client_credential = load_certificate(
            os.path.expanduser(params["client_certificate_path"]), params.get("client_certificate_password")
        )
    return MsalConfidentialCredential(
        session, endpoints, tenant_id=params["tenant_id"], client_id=params["client_id"], client_credential=client_credential, what=method
    )
