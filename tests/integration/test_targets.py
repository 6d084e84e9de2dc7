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


PLAY = """---
- name: Integration target {target}
  hosts: localhost
  gather_facts: false
  roles:
    - role: {target}
"""


@pytest.mark.parametrize("target", TARGETS)
def test_target(target, simulator, tmp_path):
    playbook = tmp_path / "target.yml"
    playbook.write_text(PLAY.format(target=target))
    run = run_playbook(playbook, simulator)
    assert run.rc == 0, run.output
    assert run.recap()["failed"] == 0, run.output
