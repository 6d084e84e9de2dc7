"""pytest fixtures for a real Samba AD DC (see samba.py); a test module enables them with
``pytest_plugins = [f"{__package__}.samba_fixtures"]``.

``samba_dc_session``: one running DC per test session (per pytest-xdist worker, each on its own loopback address).
``samba_dc``: the same DC for one test, and afterwards every object the test created is deleted again, so tests
neither see nor depend on each other's groups. Both return a ``samba.SambaDC``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .samba import SambaDC, start_copy


def _worker_index() -> int:
    """0 without pytest-xdist, N for worker gwN: each worker starts looking for a free address at a different one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker[2:].isdigit() else 0


@pytest.fixture(scope="session")
def samba_dc_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaDC]:
    dc = start_copy(tmp_path_factory.mktemp("samba"), _worker_index())
    yield dc
    dc.stop()


@pytest.fixture
def samba_dc(samba_dc_session: SambaDC) -> Iterator[SambaDC]:
    watermark = samba_dc_session.highest_usn()
    yield samba_dc_session
    samba_dc_session.delete_created_since(watermark)
