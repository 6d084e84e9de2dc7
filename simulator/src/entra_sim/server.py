"""HTTPS serving: werkzeug's threaded server on a loopback address with the state directory's own CA."""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import os
import shlex
import ssl
import threading
import time
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from entra_sim.app import create_app
from entra_sim.core import Simulator


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(WSGIRequestHandler):
    """werkzeug's handler with TCP_NODELAY: it writes headers and body separately, and over TLS Nagle's algorithm
    then holds the body back until the client's delayed ACK, ~10 ms on every request."""

    disable_nagle_algorithm = True


class SimulatorServer:
    """A simulator with its HTTPS server; ``start`` returns once the port accepts connections."""

    def __init__(self, state_dir: Path, *, seed: str | dict[str, Any] | None = None, host: str = "127.0.0.1",
                 port: int = 0, persist: bool = False) -> None:
        if not is_loopback(host):
            raise ValueError(f"the simulator listens on loopback only, not {host!r}")
        state_dir.mkdir(parents=True, exist_ok=True)
        self.sim = Simulator(state_dir, seed)
        self.persist = persist
        cert, key = self.sim.keys.server_files(list(dict.fromkeys([host, "127.0.0.1", "localhost", "::1"])))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server = make_server(host, port, create_app(self.sim), threaded=True, ssl_context=context,
                                  request_handler=_Handler)
        url_host = f"[{host}]" if ":" in host else host
        self.sim.base_url = f"https://{url_host}:{self.server.port}"
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 15.0) -> None:
        self.sim.engine.start()
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="entra-sim-http", daemon=True)
        self._thread.start()
        self._wait_until_accepting(timeout)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.sim.engine.stop()
        self.sim.adconnect.shutdown()
        if self.persist:
            self.sim.save_snapshot()

    def _wait_until_accepting(self, timeout: float) -> None:
        """Poll /_admin/health over TLS, verifying the certificate, so "ready" means a client can connect."""
        context = ssl.create_default_context(cafile=str(self.sim.keys.ca_path))
        host = self.sim.base_url.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
        deadline = time.monotonic() + timeout
        while True:
            connection = http.client.HTTPSConnection(host, self.server.port, context=context, timeout=2)
            try:
                connection.request("GET", "/_admin/health")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
            finally:
                connection.close()
            time.sleep(0.02)

    def write_ready_file(self, path: Path) -> None:
        """The ready file, written atomically so a reader never sees half of it."""
        _write_atomic(path, json.dumps(self.sim.ready_info(), indent=2) + "\n")

    def write_env_file(self, path: Path) -> None:
        """Shell-sourceable settings that point the collection (and azure-identity) at the simulator."""
        info = self.sim.ready_info()
        values = {
            "AZURE_TENANT_ID": info["tenant_id"],
            "AZURE_CLIENT_ID": info["client_id"],
            "AZURE_CLIENT_SECRET": info["client_secret"] or "",
            "AZURE_AUTHORITY_HOST": info["authority_host"],
            "ENTRA_GRAPH_ENDPOINT": info["graph_endpoint"],
            "ENTRA_CA_BUNDLE": info["ca_bundle"],
        }
        _write_atomic(path, "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items()))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def quiet_werkzeug(verbose: bool) -> None:
    """werkzeug logs every request at INFO; keep that for --verbose only."""
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.WARNING)
