"""The emulator's log search by service: a filter naming its services scans only their entries
(an index, as Cloud Logging has) and returns exactly what a full scan returns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from _emulator_helpers import logging_client

import emulator
from emulator.api.logging_filter import parse

PROJECT = "index-home"


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    with emulator.start(
        now=datetime.now(UTC), days=1, seed=11, services=12, projects=(PROJECT,)
    ) as e:
        yield e


def _ids(emu: Any, flt: str) -> list[str]:
    req = {"resource_names": [f"projects/{PROJECT}"], "filter": flt, "page_size": 1000}
    return [e.insert_id for e in logging_client(emu.address).list_log_entries(request=req)]


def test_the_filter_names_the_services_every_match_belongs_to() -> None:
    label = "resource.labels.service_name"
    assert parse(f'{label}="a"').services == {"a"}
    assert parse(f'severity>=INFO AND ({label}="a" OR {label}="b")').services == {"a", "b"}
    assert parse(f'{label}="a" AND {label}="b"').services == frozenset()
    assert parse(f'NOT {label}="a"').services is None
    assert parse(f'{label}="a" OR severity>=ERROR').services is None
    assert parse(f'{label}=~"^a$"').services is None
    assert parse("").services is None


def test_a_service_query_returns_what_a_full_scan_returns(emu: Any) -> None:
    names = sorted(s.name for s in emu.fleet.spec.services)
    one, two = names[0], names[-1]
    label = "resource.labels.service_name"
    for indexed, scanned in (
        (f'{label}="{one}"', f'{label}=~"^{one}$"'),
        (
            f'({label}="{one}" OR {label}="{two}") AND severity>=DEFAULT',
            f'{label}=~"^({one}|{two})$" AND severity>=DEFAULT',
        ),
    ):
        assert parse(indexed).services is not None
        assert parse(scanned).services is None
        got, want = _ids(emu, indexed), _ids(emu, scanned)
        assert want, scanned  # the services logged something
        assert got == want
