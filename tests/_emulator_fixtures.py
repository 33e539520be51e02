"""Module-scoped fixtures of the emulator tests: the small hand-built fleet, an emulator serving
it, a Monitoring client, and the emulator with faults and counts reset around a test. A test
module binds the ones it uses by name (``fleet, emu = fixtures.fleet, fixtures.emu``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _emulator_helpers import build_fleet, monitoring_client
from google.cloud import monitoring_v3

import emulator
from emulator.sim.model import FleetData


@pytest.fixture(scope="module")
def fleet() -> FleetData:
    return build_fleet(minutes=360)


@pytest.fixture(scope="module")
def emu(fleet: FleetData) -> Iterator[emulator.Emulator]:
    with emulator.start(fleet) as e:
        yield e


@pytest.fixture(scope="module")
def client(emu: emulator.Emulator) -> monitoring_v3.MetricServiceClient:
    return monitoring_client(emu.address)


@pytest.fixture
def fresh(emu: emulator.Emulator) -> Iterator[emulator.Emulator]:
    emu.faults.clear()
    emu.calls.reset()
    yield emu
    emu.faults.clear()
