"""The simulated Entra Connect server wired to a Samba AD DC: shared by the hybrid tests, the installed-tarball test
and `make demo`."""

from __future__ import annotations

from typing import Any

from .harness import Simulator
from .samba import SambaDC

INVENTORY = """[controller]
localhost ansible_connection=local

[adconnect]
aadconnect01 ansible_connection=entra_sim_adsync ansible_shell_type=powershell
"""
# Tiny step times keep a cycle well under a second; polls stay at one second where a test waits for a cycle
# started by the scheduler, so the idle confirmation of two polls outlasts adsync_cycle's one-second start tolerance.
FAST = {"step_seconds": 0.05, "gap_seconds": 0.05}


def configure(simulator: Simulator, dc: SambaDC, **settings: Any) -> dict[str, Any]:
    """Point the simulator's Entra Connect server at ``dc`` (its administrator binds); ``settings`` add to that."""
    return simulator.admin(
        "PUT",
        "/adconnect/config",
        {
            "server": dc.ip,
            "base_dn": dc.base_dn,
            "bind_dn": dc.admin_upn,
            "bind_password": dc.admin_password,
            "ca_bundle": str(dc.ca_file),
            **settings,
        },
    )
