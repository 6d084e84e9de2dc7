"""A licensing plan of many groups: a loop over the single modules against entra.licensing.licensing_plan, in one run.

Both approaches apply the same kind of plan on the simulator - N cloud groups, each with its members and Office 365
E3 (every plan, or only Exchange Online (Plan 2)), waiting until Entra has licensed every member - then apply it
again, which must change nothing. The loop is what a role built from the single modules does: group, group_member
and group_license (wait: true) looped over the groups, 3N module processes, each with its own token and reads. The
plan is the group_licensing role's path: one licensing_plan task. Network latency is injected on every HTTP round
trip; the simulator's request log counts round trips and writes. Run with `make bench`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.bench_members import measure
from tests.integration.harness import ROOT, Simulator, run_playbook, start_simulator

LOOP = """---
- name: The plan as a loop over the single modules
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Groups
      entra.licensing.group:
        name: "{{ item.name }}"
        description: "{{ item.description }}"
      loop: "{{ bench_plan }}"
    - name: Members
      entra.licensing.group_member:
        group: "{{ item.name }}"
        members: "{{ item.members }}"
      loop: "{{ bench_plan }}"
    - name: Licenses, waiting for Entra to apply them
      entra.licensing.group_license:
        group: "{{ item.name }}"
        licenses: "{{ item.licenses }}"
        wait: true
      loop: "{{ bench_plan }}"
"""
PLAN = """---
- name: The plan in one task
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Groups, members and licenses, waiting for Entra to apply them
      entra.licensing.licensing_plan:
        groups: "{{ bench_plan }}"
        wait: true
"""
EVERY_PLAN = [{"sku": "Office 365 E3"}]
EXCHANGE_ONLY = [{"sku": "Office 365 E3", "enabled_plans": ["Exchange Online (Plan 2)"]}]


def plan(prefix: str, upns: list[str], groups: int, members: int) -> list[dict[str, Any]]:
    """N groups of the story's two kinds, each with its own block of members."""
    return [
        {
            "name": f"{prefix}{number:03d}",
            "description": "Office 365 E3, every service plan" if number % 2 == 0 else "Office 365 E3, Exchange Online (Plan 2) only",
            "members": upns[number * members:(number + 1) * members],
            "licenses": EVERY_PLAN if number % 2 == 0 else EXCHANGE_ONLY,
        }
        for number in range(groups)
    ]


def run(groups: int, members: int, latency_ms: int, workdir: Path) -> list[dict[str, Any]]:
    simulator = start_simulator(workdir / "sim", seed=f"large:users={groups * members},groups=1")
    try:
        simulator.admin("PUT", "/config", {"license_processing_delay": 0.2})
        simulator.admin("POST", "/faults", {"rules": [{"action": "latency", "path": "/v1.0/*", "latency_ms": latency_ms, "top_level_only": True}]})
        upns = sorted(user["userPrincipalName"] for user in simulator.admin("GET", "/state")["tenant"]["users"].values())
        rows = []
        for label, text, prefix, processes in (("loop over the single modules", LOOP, "Bench_Loop_", 3 * groups), ("licensing_plan", PLAN, "Bench_Plan_", 1)):
            playbook = workdir / f"{prefix}.yml"
            playbook.write_text(text)
            extra_vars = {"bench_plan": plan(prefix, upns, groups, members)}
            for step in ("apply", "apply again"):
                row = measure(simulator, f"{label}: {step}", partial(apply, playbook, simulator, extra_vars))
                rows.append({**row, "module_processes": processes})
        return rows
    finally:
        simulator.stop()


def apply(playbook: Path, simulator: Simulator, extra_vars: dict[str, Any]) -> None:
    outcome = run_playbook(playbook, simulator, extra_vars=extra_vars)
    if outcome.rc != 0:
        raise RuntimeError(outcome.output[-4000:])


def report(rows: list[dict[str, Any]], groups: int, members: int, latency_ms: int) -> str:
    lines = [
        f"Licensing plan: {groups} groups x {members} members with Office 365 E3, {latency_ms} ms latency per HTTP round trip (simulator request log)",
        f"{'approach':<44}{'processes':>10}{'round trips':>13}{'writes':>8}{'seconds':>9}",
    ]
    lines += [f"{row['approach']:<44}{row['module_processes']:>10}{row['round_trips']:>13}{row['writes']:>8}{row['seconds']:>9}" for row in rows]
    loop_apply, loop_again, plan_apply, plan_again = rows
    lines.append(
        f"licensing_plan vs loop: {loop_apply['seconds'] / plan_apply['seconds']:.0f}x faster to apply, "
        f"{loop_again['seconds'] / plan_again['seconds']:.0f}x faster to apply again; "
        f"{loop_apply['round_trips'] / max(1, plan_apply['round_trips']):.0f}x and {loop_again['round_trips'] / max(1, plan_again['round_trips']):.0f}x "
        f"fewer round trips; writes on the second run: {loop_again['writes']} and {plan_again['writes']}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--members", type=int, default=10, help="members per group")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "bench" / "plan.json")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as workdir:
        rows = run(options.groups, options.members, options.latency_ms, Path(workdir))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps({"groups": options.groups, "members": options.members, "latency_ms": options.latency_ms, "results": rows}, indent=2))
    print(report(rows, options.groups, options.members, options.latency_ms))


if __name__ == "__main__":
    main()
