"""Counts and distributions: stacked bars over time, ranked bars, a histogram with
percentile markers (the cold-start page)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from charts.style import LAYOUT, empty_note, epoch_ms


def bars_over_time(
    df: pd.DataFrame, *, title: str, unit: str, color: str, colors: Mapping[str, str] | None = None
) -> go.Figure:
    """Stacked bars of ``count`` per ``timestamp`` bucket, by ``color`` (e.g. start reason)."""
    fig = go.Figure()
    for name, part in df.groupby(color, sort=True) if not df.empty else []:
        fig.add_trace(
            go.Bar(
                x=epoch_ms(part["timestamp"]),
                y=part["count"],
                name=str(name) or "unknown",
                marker_color=(colors or {}).get(str(name)),
                hovertemplate=f"%{{y:,d}} {unit}<extra>{name}</extra>",
            )
        )
    fig.update_layout(title=title, barmode="stack", **LAYOUT)
    fig.update_yaxes(title=unit, rangemode="tozero")
    fig.update_xaxes(type="date")
    if df.empty:
        empty_note(fig, "nothing happened in this window")
    return fig


def ranked_bars(
    df: pd.DataFrame, *, label: str, value: str, title: str, unit: str, top: int = 15
) -> go.Figure:
    """Horizontal bars of the ``top`` largest ``value`` by ``label``, largest on top."""
    shown = df.nlargest(top, value) if not df.empty else df
    fig = go.Figure(
        go.Bar(
            x=shown[value] if not shown.empty else [],
            y=shown[label] if not shown.empty else [],
            orientation="h",
            hovertemplate=f"%{{y}}: %{{x:,.1f}} {unit}<extra></extra>",
        )
    )
    fig.update_layout(title=title, **{**LAYOUT, "hovermode": "closest"})
    fig.update_xaxes(title=unit, rangemode="tozero")
    fig.update_yaxes(title=label, autorange="reversed", type="category")
    if shown.empty:
        empty_note(fig, "nothing in this window")
    return fig


def histogram(
    values: pd.Series, *, title: str, unit: str, percentiles: Mapping[str, float] | None = None
) -> go.Figure:
    """Distribution of ``values`` with optional percentile markers (e.g. startup latency)."""
    fig = go.Figure(
        go.Histogram(x=values, nbinsx=40, hovertemplate=f"%{{x}} {unit}: %{{y}}<extra></extra>")
    )
    for label, v in (percentiles or {}).items():
        fig.add_vline(x=v, line={"dash": "dash", "color": "#d62728"})
        fig.add_annotation(
            x=v,
            y=1,
            yref="paper",
            text=f"{label} {v:,.0f} {unit}",
            showarrow=False,
            xanchor="left",  # beside its line, not across it
            yanchor="bottom",
        )
    fig.update_layout(title=title, **{**LAYOUT, "hovermode": "closest"})
    fig.update_xaxes(title=unit)
    fig.update_yaxes(title="count")
    if values.empty:
        empty_note(fig, "no samples in this window")
    return fig
