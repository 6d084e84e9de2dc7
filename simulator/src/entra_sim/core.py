"""The state of one running simulator: tenant, licence engine, tokens, faults, request log, settings."""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import current_app

from entra_sim.adconnect import ADConnect, validate_config
from entra_sim.auth.tokens import TokenService
from entra_sim.catalog import load_catalog
from entra_sim.config import Config
from entra_sim.faults import Faults
from entra_sim.model.licensing import LicenseEngine
from entra_sim.model.seeding import SeedError, build_tenant
from entra_sim.model.tenant import Tenant
from entra_sim.requestlog import RequestLog
from entra_sim.seeds import load_seed
from entra_sim.throttling import Throttle
from entra_sim.tls import KeyStore

SNAPSHOT_VERSION = 1
EXTENSION = "entra_sim"


class Simulator:
    """Everything the routes and the admin API act on. ``base_url`` is set by the server once its port is known."""

    def __init__(self, state_dir: Path, seed: str | dict[str, Any] | None = None) -> None:
        self.state_dir = state_dir
        self.keys = KeyStore(state_dir)
        self.lock = threading.RLock()
        self.config = Config()
        self.faults = Faults()
        self.requests = RequestLog()
        self.throttle = Throttle()
        self.catalog = load_catalog()
        self.tokens = TokenService(self.keys.token_signing_key())
        self.identity_header = self.keys.identity_header()
        self.engine = LicenseEngine(self.lock, self.config)
        self.base_url = "https://127.0.0.1"
        # provisionOnDemand calls (time.monotonic()), for its 5-per-10-seconds limit.
        self.provision_calls: collections.deque[float] = collections.deque()
        self.adconnect = ADConnect(self)
        self.tenant: Tenant
        snapshot = self._read_snapshot()
        if snapshot is not None and seed in (None, snapshot["seed"]):
            self.seed_ref = snapshot["seed"]
            self._install(Tenant.from_snapshot(self.lock, snapshot["tenant"]), evaluate=False)
        else:
            self.seed_ref = seed or "article"
            self.reset()

    @property
    def snapshot_path(self) -> Path:
        return self.state_dir / "snapshot.json"

    def reset(self) -> None:
        """Back to the seed, with default settings, no faults and an empty request log."""
        self._start_over(self._tenant_from_seed(self.seed_ref))

    def load_seed(self, ref: str | dict[str, Any]) -> None:
        """Make ``ref`` the seed (also for later resets) and reset to it; SeedError leaves everything as it was."""
        tenant = self._tenant_from_seed(ref)
        self.seed_ref = ref
        self._start_over(tenant)

    def _start_over(self, tenant: Tenant) -> None:
        with self.lock:
            self.config.reset()
            self.faults.clear()
            self.requests.clear()
            self.throttle.clear()
            self.provision_calls.clear()
            self._install(tenant, evaluate=True)

    def save_snapshot(self) -> None:
        with self.lock:
            data = {"version": SNAPSHOT_VERSION, "seed": self.seed_ref, "tenant": self.tenant.snapshot()}
            text = json.dumps(data, separators=(",", ":"))
        tmp = self.snapshot_path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.snapshot_path)

    def ready_info(self) -> dict[str, Any]:
        """What the ready file holds: where to connect, how to authenticate, and every seeded credential."""
        with self.lock:
            tenant = self.tenant
            apps = [_public_app(app) for app in tenant.apps.values()]
            default = next(app for app in apps if app["name"] == tenant.default_app)
            system = next((i for i in tenant.identities if i["type"] == "SystemAssigned"), None)
            return {
                "authority_host": self.base_url,
                "graph_endpoint": self.base_url,
                "tenant_id": tenant.tenant_id,
                "tenant_domain": tenant.domain,
                "client_id": default["client_id"],
                "client_secret": default.get("client_secret"),
                "ca_bundle": str(self.keys.ca_path),
                "admin_url": f"{self.base_url}/_admin",
                "apps": apps,
                "managed_identity": {
                    "endpoint": f"{self.base_url}/msi/token",
                    "header": self.identity_header,
                    "client_id": system["client_id"] if system else None,
                    "user_assigned": [
                        {"name": i["name"], "client_id": i["client_id"]}
                        for i in tenant.identities if i["type"] == "UserAssigned"
                    ],
                },
                "pid": os.getpid(),
                "seed": self.seed_ref if isinstance(self.seed_ref, str) else self.seed_ref.get("name", "custom"),
            }

    def _tenant_from_seed(self, ref: str | dict[str, Any]) -> Tenant:
        tenant = build_tenant(load_seed(ref), self.lock, self.catalog)
        for app in tenant.apps.values():
            self._register_certificate(app)
        return tenant

    def _install(self, tenant: Tenant, *, evaluate: bool) -> None:
        with self.lock:
            self.tenant = tenant
            self.engine.attach(tenant, evaluate=evaluate)
            self.adconnect.reset(validate_config(tenant.adconnect))

    def _register_certificate(self, app: dict[str, Any]) -> None:
        """Resolve an app's ``certificate`` ("generate", a PEM or a PEM file path) into its thumbprints."""
        source = app.pop("certificate", None)
        if source is None:
            return
        if source == "generate":
            path, pem = self.keys.app_certificate(app["name"])
            app["certificate_path"] = str(path)
        elif source.lstrip().startswith("-----"):
            pem = source
        else:
            try:
                pem = Path(source).read_text(encoding="utf-8")
            except OSError as exc:
                raise SeedError(f"app {app['name']}: cannot read the certificate {source}: {exc}") from exc
        try:
            cert = x509.load_pem_x509_certificate(pem[pem.index("-----BEGIN CERTIFICATE-----"):].encode())
        except ValueError as exc:
            raise SeedError(f"app {app['name']}: the certificate is not a PEM certificate") from exc
        der = cert.public_bytes(serialization.Encoding.DER)
        app["certificate_pem"] = cert.public_bytes(serialization.Encoding.PEM).decode()
        app["thumbprints"] = {
            "x5t": base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("="),  # noqa: S324
            "x5t#S256": base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("="),
        }

    def _read_snapshot(self) -> dict[str, Any] | None:
        if not self.snapshot_path.exists():
            return None
        data = json.loads(self.snapshot_path.read_text(encoding="utf-8"))
        return data if data.get("version") == SNAPSHOT_VERSION else None


def current() -> Simulator:
    """The simulator serving the current request (the app factory registers it as a Flask extension)."""
    return current_app.extensions[EXTENSION]


def _public_app(app: dict[str, Any]) -> dict[str, Any]:
    info = {"name": app["name"], "client_id": app["client_id"], "display_name": app["display_name"],
            "roles": app["roles"]}
    if app["client_secret"] is not None:
        info["client_secret"] = app["client_secret"]
        info["secret_expired"] = app["secret_expired"]
    if "certificate_path" in app:
        info["certificate_path"] = app["certificate_path"]
    return info
