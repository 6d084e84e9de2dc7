# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Options of ansible_collections.entra.licensing.plugins.module_utils.module.GRAPH_AUTH_ARGSPEC; keep both in step.


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  tenant_id:
    description:
      - The directory (tenant) ID or a verified domain of the tenant.
      - Falls back to the E(AZURE_TENANT_ID) environment variable, then E(AZURE_TENANT) (what AWX's Azure credential injects).
    type: str
  client_id:
    description:
      - The application (client) ID of the app registration.
      - Falls back to E(AZURE_CLIENT_ID).
    type: str
  client_secret:
    description:
      - A client secret of the app registration.
      - Falls back to E(AZURE_CLIENT_SECRET), then E(AZURE_SECRET) (AWX's Azure credential).
    type: str
  client_certificate_path:
    description:
      - Path to a PEM file holding the private key and the certificate registered on the app.
      - The thumbprint is derived from the certificate.
      - Falls back to E(AZURE_CLIENT_CERTIFICATE_PATH).
    type: path
  client_certificate_password:
    description:
      - Password of the private key in O(client_certificate_path), if it is encrypted.
      - Falls back to E(AZURE_CLIENT_CERTIFICATE_PASSWORD).
    type: str
  auth_method:
    description:
      - How to get a token.
      - V(auto) uses O(access_token) when given, else a certificate when O(client_certificate_path) is given, else
        O(client_secret) when given, else the host's managed identity.
      - V(managed_identity) uses the identity of the Azure host the module runs on, found from the environment the
        platform sets (App Service, Functions, Container Apps, VMs).
    type: str
    default: auto
    choices: [auto, client_secret, certificate, managed_identity, access_token]
  managed_identity_client_id:
    description:
      - Client ID of a user-assigned managed identity. Without it the system-assigned identity is used.
    type: str
  access_token:
    description:
      - An access token for Microsoft Graph obtained elsewhere (for example C(az account get-access-token --resource-type ms-graph)).
      - It is used as is and cannot be refreshed.
      - Falls back to E(ENTRA_ACCESS_TOKEN).
    type: str
  cloud:
    description:
      - The national cloud. V(public) is global Azure, including Microsoft 365 GCC; V(usgov) is GCC High;
        V(usgov_dod) is DoD; V(china) is Azure operated by 21Vianet.
      - When not set, E(ENTRA_CLOUD) is used, else V(public).
    type: str
    choices: [china, public, usgov, usgov_dod]
  authority_host:
    description:
      - Overrides the login host of O(cloud), for example C(https://login.microsoftonline.us).
      - Falls back to E(AZURE_AUTHORITY_HOST).
    type: str
  graph_endpoint:
    description:
      - Overrides the Microsoft Graph root of O(cloud), without the C(/v1.0) suffix, for example C(https://graph.microsoft.us).
      - Falls back to E(ENTRA_GRAPH_ENDPOINT).
    type: str
  ca_bundle:
    description:
      - A PEM bundle of CA certificates to verify the login and Graph hosts with.
      - It wins over the E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE) environment variables.
      - Falls back to E(ENTRA_CA_BUNDLE).
    type: path
  validate_certs:
    description:
      - Whether to verify TLS certificates. Set V(false) only for tests; the module warns when it is.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each HTTP response.
    type: float
    default: 30
  retry_timeout:
    description:
      - Total seconds a request may spend being retried after throttling (429), 503/504 answers or connection errors,
        honouring C(Retry-After).
    type: float
    default: 300
notes:
  - Every option above can be set once for a play with C(module_defaults) and the action group C(group/entra.licensing.graph).
  - Required Graph application permissions are listed per module in the collection's C(docs/permissions.md).
requirements:
  - msal >= 1.28.0
  - requests >= 2.31.0
  - cryptography (for certificate authentication)
attributes:
  action_group:
    description: Use C(group/entra.licensing.graph) in C(module_defaults) to set the options above for every Graph module.
    support: full
    membership:
      - entra.licensing.graph
"""
