"""Fixtures for playbook-level tests: one simulator process per test worker, reset before each test."""

from __future__ import annotations

import pytest

from .harness import Simulator, start_simulator


@pytest.fixture(scope="session")
def simulator_process(tmp_path_factory) -> Simulator:
    simulator = start_simulator(tmp_path_factory.mktemp("entra-sim"))
    yield simulator
    simulator.stop()


@pytest.fixture
def simulator(simulator_process: Simulator) -> Simulator:
    """The article tenant, fresh: seed data, no faults, empty request log."""
    simulator_process.reset()
    return simulator_process
