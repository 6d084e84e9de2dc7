"""``entra-sim``: run the tenant simulator, or describe a seed."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from entra_sim.catalog import load_catalog
from entra_sim.model.seeding import SeedError, build_tenant
from entra_sim.seeds import load_seed
from entra_sim.server import SimulatorServer, quiet_werkzeug


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="entra-sim", description="A local Microsoft Entra ID / Graph tenant.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the simulator until SIGTERM or SIGINT")
    serve.add_argument("--ready-file", type=Path, required=True,
                       help="JSON written once the server accepts connections (removed when it stops)")
    serve.add_argument("--env-file", type=Path, help="shell-sourceable AZURE_*/ENTRA_* settings")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    serve.add_argument("--port", type=int, default=0, help="port (0: any free one)")
    serve.add_argument("--seed", help="article (default), large[:users=N,groups=N] or a seed JSON file")
    serve.add_argument("--state-dir", type=Path,
                       help="keep keys, certificates and a snapshot of the tenant here across runs")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    info = commands.add_parser("seed-info", help="validate a seed and summarise it")
    info.add_argument("seed", nargs="?", default="article")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="entra-sim: %(message)s")
    if args.command == "seed-info":
        return _seed_info(args.seed)
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    quiet_werkzeug(args.verbose)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with tempfile.TemporaryDirectory(prefix="entra-sim-") as scratch:
        state_dir = args.state_dir or Path(scratch)
        try:
            server = SimulatorServer(state_dir.resolve(), seed=_seed_arg(args.seed), host=args.host, port=args.port,
                                     persist=args.state_dir is not None)
        except (SeedError, ValueError) as exc:
            print(f"entra-sim: {exc}", file=sys.stderr)
            return 2
        server.start()
        if args.env_file:
            server.write_env_file(args.env_file)
        server.write_ready_file(args.ready_file)
        logging.info("serving %s (tenant %s)", server.sim.base_url, server.sim.tenant.tenant_id)
        stop.wait()
        server.stop()
        args.ready_file.unlink(missing_ok=True)
    return 0


def _seed_arg(value: str | None) -> str | None:
    """A seed file path made absolute, so a snapshot remembers it whatever the working directory."""
    if value is not None and Path(value).is_file():
        return str(Path(value).resolve())
    return value


def _seed_info(ref: str) -> int:
    try:
        seed: dict[str, Any] = load_seed(ref)
        tenant = build_tenant(seed, threading.RLock(), load_catalog())
    except SeedError as exc:
        print(f"entra-sim: invalid seed: {exc}", file=sys.stderr)
        return 2
    print(f"seed {seed.get('name', ref)}: tenant {tenant.tenant_id} ({tenant.domain})")
    print(f"  {len(tenant.users)} users, {len(tenant.groups)} groups, {len(tenant.apps)} apps, "
          f"{len(tenant.identities)} managed identities")
    for sku in tenant.skus.values():
        print(f"  {sku['skuPartNumber']}: {sku['prepaidUnits']['enabled']} seats, {len(sku['servicePlans'])} plans")
    for app in tenant.apps.values():
        print(f"  app {app['name']}: {app['client_id']} roles {', '.join(app['roles'])}")
    return 0
