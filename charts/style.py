"""What every chart shares: the palette (one colour per revision, stable across pages), the
start reasons' colours, the layout, epoch-millisecond time axes and the empty-chart note."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
)
REASON_COLORS = {  # keyed by insights.coldstarts.REASON_LABELS
    "demand (autoscaling)": "#d62728",
    "rollout": "#1f77b4",
    "min instances": "#2ca02c",
    "unknown": "#7f7f7f",
}
MARGIN = {"l": 10, "r": 10, "t": 70, "b": 10}
LEGEND = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}
LAYOUT = {
    "margin": MARGIN,
    "hovermode": "x unified",
    "legend": LEGEND,
    "height": 320,
}


def epoch_ms(ts: pd.Series) -> np.ndarray:
    """Timestamps as milliseconds since the epoch (UTC) for a date axis: plotly ships numeric
    arrays as compact typed arrays, where datetimes would become thousands of ISO strings."""
    ns = pd.to_datetime(ts, utc=True).to_numpy(dtype="datetime64[ns]").astype("int64")
    return np.asarray(ns // 1_000_000, dtype="float64")


def revision_colors(revisions: Sequence[str]) -> dict[str, str]:
    """One colour per revision, assigned in the order given (oldest first), stable across pages."""
    return {rev: PALETTE[i % len(PALETTE)] for i, rev in enumerate(revisions)}


def empty_note(fig: go.Figure, text: str) -> None:
    fig.add_annotation(
        text=text,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 14, "color": "#888"},
    )
