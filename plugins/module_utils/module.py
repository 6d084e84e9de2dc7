# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin wrapper every Graph module is built on: shared options, one client, one way to fail.

Options here are documented once, in the ``entra.licensing.graph_auth`` doc fragment; keep both in step.
"""

from __future__ import annotations

import traceback
from typing import Any

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.entra.licensing.plugins.module_utils.auth import AUTH_METHODS, HAS_MSAL, MSAL_IMPORT_ERROR, build_credential
from ansible_collections.entra.licensing.plugins.module_utils.client import GraphClient
from ansible_collections.entra.licensing.plugins.module_utils.clouds import CLOUDS, resolve_cloud
from ansible_collections.entra.licensing.plugins.module_utils.errors import GraphError
from ansible_collections.entra.licensing.plugins.module_utils.transport import HAS_REQUESTS, REQUESTS_IMPORT_ERROR, build_session

GRAPH_AUTH_ARGSPEC: dict[str, dict[str, Any]] = dict(
    tenant_id=dict(type="str", fallback=(env_fallback, ["AZURE_TENANT_ID", "AZURE_TENANT"])),
    client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
    client_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_CLIENT_SECRET", "AZURE_SECRET"])),
    client_certificate_path=dict(type="path", fallback=(env_fallback, ["AZURE_CLIENT_CERTIFICATE_PATH"])),
    client_certificate_password=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_CLIENT_CERTIFICATE_PASSWORD"])),
    auth_method=dict(type="str", default="auto", choices=list(AUTH_METHODS)),
    managed_identity_client_id=dict(type="str"),
    access_token=dict(type="str", no_log=True, fallback=(env_fallback, ["ENTRA_ACCESS_TOKEN"])),
    cloud=dict(type="str", choices=sorted(CLOUDS), fallback=(env_fallback, ["ENTRA_CLOUD"])),
    authority_host=dict(type="str", fallback=(env_fallback, ["AZURE_AUTHORITY_HOST"])),
    graph_endpoint=dict(type="str", fallback=(env_fallback, ["ENTRA_GRAPH_ENDPOINT"])),
    ca_bundle=dict(type="path", fallback=(env_fallback, ["ENTRA_CA_BUNDLE"])),
    validate_certs=dict(type="bool", default=True),
    timeout=dict(type="float", default=30.0),
    retry_timeout=dict(type="float", default=300.0),
)


class GraphModule:
    """Composition over AnsibleModule: the auth options merged in, a lazily built client, Graph-aware failure."""

    def __init__(self, argument_spec: dict[str, Any], **kwargs: Any) -> None:
        spec = dict(GRAPH_AUTH_ARGSPEC)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
        if not HAS_MSAL and self.module.params.get("auth_method") != "access_token" and not self.module.params.get("access_token"):
            self.module.fail_json(msg=missing_required_lib("msal"), exception=str(MSAL_IMPORT_ERROR))
        self._client: GraphClient | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)

    @property
    def params(self) -> dict[str, Any]:
        return self.module.params

    @property
    def check_mode(self) -> bool:
        return self.module.check_mode

    @property
    def diff_mode(self) -> bool:
        return self.module._diff  # pylint: disable=protected-access

    def client(self) -> GraphClient:
        """The Graph client for this run: one session, one token, built on first use."""
        if self._client is None:
            params = self.params
            try:
                endpoints = resolve_cloud(params.get("cloud"), params.get("authority_host"), params.get("graph_endpoint"))
            except ValueError as exc:
                self.module.fail_json(msg=str(exc))
            if not params["validate_certs"] and not params.get("ca_bundle"):
                self.module.warn("validate_certs=false: TLS certificates of Entra ID and Microsoft Graph are not verified")
            session = build_session(params.get("ca_bundle"), params["validate_certs"], params["timeout"])
            credential = build_credential(params, session, endpoints)
            self._client = GraphClient(session, endpoints.graph_endpoint, credential, retry_timeout=params["retry_timeout"])
        return self._client

    def fail_graph_error(self, error: GraphError, **result: Any) -> None:
        """Fail the task with Graph's status, code, message and request ids beside whatever the module had so far."""
        details = error.to_result()
        details.update(result)
        self.module.fail_json(exception=traceback.format_exc(), **details)
