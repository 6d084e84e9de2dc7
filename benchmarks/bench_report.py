"""Tenant-wide license report: pages read and memory, at 10,000 and 100,000 users.

license_assignment_info reads every user with their assignment paths, 999 per page, reducing each page as it
arrives. The budget is ceil(N/999) pages of users and a peak memory that does not grow with the tenant when only
errors are kept. The module runs as Ansible runs it (a child process reading its arguments from a file), so its peak
resident memory is measured alone. Run with `make bench`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.integration.harness import ROOT, Simulator, playbook_env, start_simulator

MODULE = ROOT / "plugins" / "modules" / "license_assignment_info.py"
SIZES = ((10_000, 100), (100_000, 1_000))


def run_module(simulator: Simulator, workdir: Path, args: dict[str, Any]) -> tuple[dict[str, Any], float, int]:
    """The module's result, its wall time and its peak resident memory in MiB."""
    args_file = workdir / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = playbook_env(simulator, {"PYTHONPATH": str(ROOT / ".tmp" / "collections")})
    output = workdir / "result.json"
    started = time.monotonic()
    with output.open("w") as handle:
        process = subprocess.Popen([sys.executable, str(MODULE), str(args_file)], stdout=handle, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    result = json.loads(output.read_text())
    if os.waitstatus_to_exitcode(status) != 0 or result.get("failed"):
        raise RuntimeError(f"license_assignment_info failed: {result.get('msg')}")
    return result, seconds, usage.ru_maxrss // 1024


def measure(users: int, groups: int, workdir: Path) -> list[dict[str, Any]]:
    simulator = start_simulator(workdir / f"sim-{users}", seed=f"large:users={users},groups={groups}")
    rows = []
    try:
        simulator.admin("POST", "/settle")
        for only_errors in (True, False):
            cursor = simulator.cursor()
            result, seconds, peak = run_module(simulator, workdir, {"only_errors": only_errors})
            entries = simulator.log_since(cursor)["requests"]
            pages = sum(1 for entry in entries if entry["kind"] == "graph" and entry["method"] == "GET" and entry["path"] == "/v1.0/users")
            rows.append(
                {
                    "users": users,
                    "only_errors": only_errors,
                    "user_pages": pages,
                    "budget_pages": math.ceil(users / 999),
                    "round_trips": sum(1 for entry in entries if entry["kind"] == "graph"),
                    "users_reported": len(result["users"]),
                    "peak_mib": peak,
                    "seconds": round(seconds, 1),
                }
            )
    finally:
        simulator.stop()
    return rows


def report(rows: list[dict[str, Any]]) -> str:
    header = f"{'users':>8} {'only_errors':>12} {'user pages':>11} {'budget':>7} {'round trips':>12} {'reported':>9} {'peak MiB':>9} {'seconds':>8}"
    lines = ["License report over the whole tenant (license_assignment_info, simulator)", header]
    for row in rows:
        lines.append(
            f"{row['users']:>8} {row['only_errors']!s:>12} {row['user_pages']:>11} {row['budget_pages']:>7} {row['round_trips']:>12} "
            f"{row['users_reported']:>9} {row['peak_mib']:>9} {row['seconds']:>8}"
        )
    errors_only = [row for row in rows if row["only_errors"]]
    growth = errors_only[-1]["peak_mib"] / max(1, errors_only[0]["peak_mib"])
    lines.append(f"peak memory with only_errors: x{growth:.2f} for x{errors_only[-1]['users'] // errors_only[0]['users']} users")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "bench" / "report.json")
    options = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as workdir:
        for users, groups in SIZES:
            rows += measure(users, groups, Path(workdir))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(rows, indent=2))
    print(report(rows))


if __name__ == "__main__":
    main()
