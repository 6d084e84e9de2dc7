# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""National clouds: where to get a token and where Graph lives.

Tokens are not interchangeable between clouds, and the ``.default`` scope must use the domain of that cloud's Graph
root, so the three values always travel together.
"""

from __future__ import annotations

from typing import NamedTuple


class CloudEndpoints(NamedTuple):
    authority_host: str
    graph_endpoint: str

    @property
    def scope(self) -> str:
        """The client-credentials scope: the Graph root of the same cloud plus ``/.default``."""
        return f"{self.graph_endpoint}/.default"


CLOUDS: dict[str, CloudEndpoints] = {
    # Global Azure, also Microsoft 365 GCC (which uses the worldwide endpoints).
    "public": CloudEndpoints("https://login.microsoftonline.com", "https://graph.microsoft.com"),
    # US Government L4 (GCC High).
    "usgov": CloudEndpoints("https://login.microsoftonline.us", "https://graph.microsoft.us"),
    # US Government L5 (DoD): same login host as GCC High, its own Graph host.
    "usgov_dod": CloudEndpoints("https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    # Microsoft Azure operated by 21Vianet.
    "china": CloudEndpoints("https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn"),
}

# Login hosts MSAL knows without instance discovery; any other host (a simulator, a proxy) needs discovery turned off.
WELL_KNOWN_AUTHORITY_HOSTS = frozenset(
    [
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "login.microsoftonline.us",
        "login.usgovcloudapi.net",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    ]
)


def _normalise(url: str, option: str) -> str:
    url = url.strip().rstrip("/")
    if not url.lower().startswith("https://"):
        raise ValueError(f"{option} must be an https:// URL, got '{url}'")
    for suffix in ("/v1.0", "/beta"):
        if url.lower().endswith(suffix):
            url = url[: -len(suffix)]
    return url


def resolve_cloud(cloud: str | None, authority_host: str | None = None, graph_endpoint: str | None = None) -> CloudEndpoints:
    """The endpoints for ``cloud``, with explicit hosts winning (for sovereign proxies and the simulator)."""
    name = cloud or "public"
    if name not in CLOUDS:
        raise ValueError(f"Unknown cloud '{name}'; valid clouds: {', '.join(sorted(CLOUDS))}")
    base = CLOUDS[name]
    return CloudEndpoints(
        _normalise(authority_host, "authority_host") if authority_host else base.authority_host,
        _normalise(graph_endpoint, "graph_endpoint") if graph_endpoint else base.graph_endpoint,
    )


def needs_instance_discovery_off(authority_host: str) -> bool:
    """MSAL would ask login.microsoftonline.com about an unknown host; for custom hosts that call must not happen."""
    host = authority_host.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    return host not in WELL_KNOWN_AUTHORITY_HOSTS
