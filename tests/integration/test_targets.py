"""Every integration target, run through ansible-playbook against a fresh simulated tenant.

A target follows check, verify nothing was written, apply, verify, rerun without change and without writes, cleanup;
its own assert tasks check the results, and the request log is read through the test-only `sim` lookup.
"""

from __future__ import annotations

import pytest

from .harness import HERE, run_playbook

TARGETS = sorted(
    path.name for path in (HERE / "targets").iterdir() if (path / "tasks" / "main.yml").exists() and not path.name.startswith("setup_")
)


@pytest.mark.parametrize("target", TARGETS)
def test_target(target, simulator):
    run = run_playbook(HERE / "run_target.yml", simulator, extra_vars={"target": target})
    assert run.rc == 0, run.output
    assert run.recap()["failed"] == 0, run.output
