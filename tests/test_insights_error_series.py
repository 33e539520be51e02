"""The revisions page's 5xx series: zero in every period a revision served requests without one."""

from __future__ import annotations

import pandas as pd

from insights import revisions

T0 = pd.Timestamp("2026-11-28T10:00:00Z")


def _frame(rows: list[tuple[str, int, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(rev, T0 + pd.Timedelta(minutes=m), v, p) for rev, m, v, p in rows],
        columns=["revision", "timestamp", "value", "pending"],
    )


def test_errors_are_zero_where_requests_were_served_without_any() -> None:
    served = _frame([("a", m, 2.0, m == 3) for m in range(4)] + [("b", 1, 1.0, False)])
    errors = _frame([("a", 1, 0.5, False)])
    out = revisions.errors_where_served(errors, served)
    got = {
        (r.revision, int((r.timestamp - T0) / pd.Timedelta(minutes=1))): r for r in out.itertuples()
    }
    assert {k: r.value for k, r in got.items()} == {
        ("a", 0): 0.0,
        ("a", 1): 0.5,
        ("a", 2): 0.0,
        ("a", 3): 0.0,
        ("b", 1): 0.0,
    }
    assert [k for k, r in got.items() if r.pending] == [("a", 3)]  # pending like its requests


def test_an_error_point_without_a_request_point_is_kept() -> None:
    out = revisions.errors_where_served(_frame([("a", 5, 1.0, False)]), _frame([]))
    assert out["value"].tolist() == [1.0]
