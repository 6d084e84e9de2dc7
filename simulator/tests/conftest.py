"""One simulator per test session (per xdist worker), reset through the admin API before every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from entra_sim.testing import admin, running_simulator

E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
EXCHANGE_P1 = "4b9405b0-7788-4568-add1-99614e613b69"
P1 = "078d2b04-f1bd-4111-bbd4-b4b1b354cef4"
EXCHANGE_S_ENTERPRISE = "efb87545-963c-4e0d-99df-69c6916d9eb0"
EXCHANGE_S_STANDARD = "9aaf7827-d63c-4b61-89c3-182f06f82e5c"
SHAREPOINTENTERPRISE = "5dbe027f-2339-4123-9542-606e4d348a72"
TEAMS1 = "57ff2da0-773e-42df-b2af-ffb7a2317929"
ADELE, ALEX, MEGAN, LYNNE, JONI, ISAIAH, GRADY, LEE = (f"a1000000-0000-4000-8000-{n:012d}" for n in range(1, 9))
DIEGO, MIRIAM, PRADEEP, JOHANNA, NESTOR, PATTI = (f"a1000000-0000-4000-8000-{n:012d}" for n in range(9, 15))
IT_ADMINS, SALES_DYNAMIC, FINANCE_ONPREM = (f"b2000000-0000-4000-8000-{n:012d}" for n in range(1, 4))


class Graph:
    """requests against the simulator as one app: TLS verified with the simulator's CA, whatever the environment
    says (REQUESTS_CA_BUNDLE is set on CI machines and would override Session.verify)."""

    def __init__(self, ready: dict[str, Any], app: str = "full") -> None:
        self.ready = ready
        self.base = ready["graph_endpoint"]
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = ready["ca_bundle"]
        if app:
            credentials = next(a for a in ready["apps"] if a["name"] == app)
            response = self.session.post(
                f"{ready['authority_host']}/{ready['tenant_id']}/oauth2/v2.0/token",
                data={"grant_type": "client_credentials", "client_id": credentials["client_id"],
                      "client_secret": credentials["client_secret"], "scope": f"{self.base}/.default"},
            )
            response.raise_for_status()
            self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else f"{self.base}/v1.0{path}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url(path), timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def create_group(self, name: str, **extra: Any) -> dict[str, Any]:
        body = {"displayName": name, "mailEnabled": False, "mailNickname": name.replace(" ", ""),
                "securityEnabled": True, **extra}
        response = self.post("/groups", body)
        assert response.status_code == 201, response.text
        return response.json()

    def add_member(self, group_id: str, member_id: str) -> requests.Response:
        return self.post(f"/groups/{group_id}/members/$ref",
                         {"@odata.id": f"{self.base}/v1.0/directoryObjects/{member_id}"})

    def user(self, key: str, select: str = "id,assignedLicenses,licenseAssignmentStates,usageLocation") -> dict:
        response = self.get(f"/users/{key}?$select={select}")
        assert response.status_code == 200, response.text
        return response.json()


def error_of(response: requests.Response) -> tuple[int, str, str]:
    """(status, code, message) of a Graph error response."""
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


@pytest.fixture(scope="session")
def sim_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with running_simulator(tmp_path_factory.mktemp("entra-sim")) as ready:
        yield ready


@pytest.fixture
def ready(sim_session: dict[str, Any]) -> dict[str, Any]:
    """The session's simulator, reset to the article seed with default settings (a test may have loaded another)."""
    admin(sim_session, "POST", "/seed", {"seed": "article"})
    return sim_session


@pytest.fixture
def graph(ready: dict[str, Any]) -> Graph:
    return Graph(ready)


@pytest.fixture
def settle(ready: dict[str, Any]):
    """Finish pending licence processing now."""
    return lambda: admin(ready, "POST", "/settle")
