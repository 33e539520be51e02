"""Lines over time: one chart (``time_series``) or panels stacked on one shared time axis
(``panels_over_time``), gaps kept as gaps, pending points dotted, markers across every panel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.style import LAYOUT, LEGEND, MARGIN, empty_note, epoch_ms, revision_colors


def _line_xy(ms: np.ndarray, y: np.ndarray, period_s: float, fill: float) -> dict[str, object]:
    """x and y of one line from epoch-ms times ``ms`` in ascending order: a missing period
    becomes ``fill`` (NaN draws a gap).

    Points on a regular grid of ``period_s`` (every aligned Monitoring series) are sent as
    ``x0``/``dx`` and one dense y array: no x array to ship and decode, and the browser draws
    one path instead of one per gap-separated run. Off-grid points fall back to explicit x
    with a NaN between points more than a period apart (a gap even when ``fill`` is 0).
    """
    step = period_s * 1000.0
    if len(ms) and step > 0:
        offsets = (ms - ms[0]) / step
        slots = np.rint(offsets).astype(np.int64)
        if np.allclose(offsets, slots) and len(np.unique(slots)) == len(slots):
            dense = np.full(int(slots[-1]) + 1, fill, dtype="float64")
            dense[slots] = y
            return {"x0": float(ms[0]), "dx": step, "y": dense}
    if len(ms) < 2:
        return {"x": ms, "y": y}
    after_gap = np.flatnonzero(np.diff(ms) > step * 1.5) + 1
    return {
        "x": np.insert(ms, after_gap, ms[after_gap] - step),
        "y": np.insert(y, after_gap, np.nan),
    }


def _markers(fig: go.Figure, markers: Sequence[tuple[datetime, str]]) -> None:
    """A dotted vertical line and a label per marker, spanning every panel of the figure."""
    for when, label in markers:
        x = float(epoch_ms(pd.Series([when]))[0])
        fig.add_shape(
            type="line",
            xref="x",
            yref="paper",
            x0=x,
            x1=x,
            y0=0,
            y1=1,
            line={"dash": "dot", "color": "#555", "width": 1},
        )
        fig.add_annotation(
            x=x,
            y=1,
            xref="x",
            yref="paper",
            text=label,
            showarrow=False,
            xanchor="left",
            font={"size": 10, "color": "#555"},
            textangle=-90,
            yanchor="top",
        )


@dataclass(frozen=True)
class Panel:
    """One panel of lines over time: ``value`` per ``timestamp``, one line per ``color`` group.

    ``dash`` names an optional column whose values become separately dashed lines (e.g. "stat"
    for p50/p95/p99 of the same revision). ``missing_is_zero`` is for counts (requests, errors):
    Monitoring writes no point for a period without any, so a missing period inside a line is
    zero, not unknown; points still pending are never filled.
    """

    df: pd.DataFrame
    title: str
    unit: str
    dash: str | None = None
    missing_is_zero: bool = False


def _lines(
    panel: Panel,
    *,
    color: str,
    colors: Mapping[str, str] | None,
    period_s: float,
    legend: bool = True,
) -> list[dict[str, object]]:
    """The panel's traces, as plotly trace dicts (the figure validates them once)."""
    df, unit = panel.df, panel.unit
    if df.empty:
        return []
    fill = 0.0 if panel.missing_is_zero else float("nan")
    keys = [color] + ([panel.dash] if panel.dash else [])
    dashes = ("solid", "dash", "dot", "dashdot")
    dash_values = sorted(df[panel.dash].unique()) if panel.dash else [None]
    # Without a colour per group, the groups take the palette in order (a line and its pending
    # tail the same colour, whatever the number of traces).
    names = sorted({str(n) for n in df[color].unique()})
    palette = {**revision_colors(names), **(colors or {})}
    # Time order once for the whole frame: each group's rows below keep it (a stable sort).
    stamps = epoch_ms(df["timestamp"])
    order = np.argsort(stamps, kind="stable")
    df, all_ms = df.iloc[order], stamps[order]
    all_y = df["value"].to_numpy(dtype="float64")
    all_pending = (
        df["pending"].fillna(False).astype(bool).to_numpy()
        if "pending" in df
        else np.zeros(len(df), dtype=bool)
    )
    traces: list[dict[str, object]] = []
    for group, rows in sorted(df.groupby(keys, sort=True).indices.items()):
        name = group[0] if isinstance(group, tuple) else group
        sub = group[1] if panel.dash and isinstance(group, tuple) else None
        line: dict[str, object] = {"width": 2, "color": palette[str(name)]}
        if sub is not None:
            line["dash"] = dashes[dash_values.index(sub) % len(dashes)]
        label = f"{name} {sub}" if sub is not None else str(name)
        ms, y, pending = all_ms[rows], all_y[rows], all_pending[rows]
        # a pending point stays out of the settled line (a gap, never a filled zero); a line
        # of pending points only has no settled part
        keep = slice(0, 0) if pending.all() else slice(None)
        settled_ms, settled_y = ms[keep], np.where(pending, np.nan, y)[keep]
        common = {"type": "scatter", "mode": "lines", "legendgroup": str(name), "line": line}
        traces.append(
            {
                **_line_xy(settled_ms, settled_y, period_s, fill),
                **common,
                "name": label if legend else str(name),
                "showlegend": legend,
                "connectgaps": False,
                "hovertemplate": f"%{{y:,.3~f}} {unit}<extra>{label}</extra>",
            }
        )
        if pending.any():
            # draw the pending tail dotted, joined to the last settled point
            first = max(int(pending.argmax()) - 1, 0)
            traces.append(
                {
                    **_line_xy(ms[first:], y[first:], period_s, fill),
                    **common,
                    "line": {**line, "dash": "dot"},
                    "showlegend": False,
                    "name": f"{label} (pending)",
                    "opacity": 0.6,
                    "hovertemplate": f"%{{y:,.3~f}} {unit} (pending)<extra>{label}</extra>",
                }
            )
    return traces


def time_series(
    df: pd.DataFrame,
    *,
    title: str,
    unit: str,
    color: str = "revision",
    colors: Mapping[str, str] | None = None,
    period_s: float = 60.0,
    markers: Sequence[tuple[datetime, str]] = (),
    dash: str | None = None,
    y_floor_zero: bool = True,
    missing_is_zero: bool = False,
) -> go.Figure:
    """Lines of ``value`` over ``timestamp``, one per ``color`` group, gaps kept as gaps (see
    Panel for ``dash`` and ``missing_is_zero``)."""
    panel = Panel(df, title, unit, dash, missing_is_zero)
    fig = go.Figure(_lines(panel, color=color, colors=colors, period_s=period_s))
    _markers(fig, markers)
    fig.update_layout(title=title, **LAYOUT)
    fig.update_yaxes(title=unit, rangemode="tozero" if y_floor_zero else "normal")
    fig.update_xaxes(title=None, type="date")  # x values are epoch milliseconds (see epoch_ms)
    if df.empty:
        empty_note(fig, "no data in this window")
    return fig


def panels_over_time(
    panels: Sequence[Panel],
    *,
    title: str,
    color: str = "revision",
    colors: Mapping[str, str] | None = None,
    period_s: float = 60.0,
    markers: Sequence[tuple[datetime, str]] = (),
    panel_height: int = 210,
) -> go.Figure:
    """Panels stacked on one shared time axis: zooming or hovering one moves them all, and a
    marker crosses every panel. Each line's legend entry (its ``color`` group) toggles it in
    every panel. One figure draws far faster in the browser than one chart per panel (each
    chart Streamlit draws costs ~0.1 s of the browser's time on its own)."""
    n = max(len(panels), 1)
    gap = 0.25 / n  # between panels, as a share of the plot area's height
    height = (1 - gap * (n - 1)) / n
    layout: dict[str, object] = {
        **LAYOUT,
        "title": title,
        "height": 120 + panel_height * n,
        "margin": {**MARGIN, "t": 110},
        "legend": {**LEGEND, "y": 1 + 30 / (panel_height * n)},  # above the panel titles
        "annotations": [],
    }
    traces: list[dict[str, object]] = []
    shown: set[str] = set()
    for i, panel in enumerate(panels):
        suffix = str(i + 1) if i else ""
        top = 1 - i * (height + gap)
        layout[f"xaxis{suffix}"] = {
            "type": "date",
            "anchor": f"y{suffix}",
            "domain": [0, 1],
            "showticklabels": i == n - 1,  # dates under the last panel only
            "showspikes": True,
            "spikemode": "across",
            "spikethickness": 1,
            **({"matches": "x"} if i else {}),  # zoom one panel, zoom all
        }
        layout[f"yaxis{suffix}"] = {
            "anchor": f"x{suffix}",
            "domain": [max(top - height, 0), top],
            "title": {"text": panel.unit},
            "rangemode": "tozero",
        }
        notes: list[dict[str, object]] = [
            {"text": panel.title, "x": 0.5, "y": top, "yanchor": "bottom", "font": {"size": 14}}
        ]
        if panel.df.empty:
            notes.append({"text": "no data in this window", "x": 0.5, "y": top - height / 2})
        layout["annotations"] += [  # type: ignore[operator]
            {"xref": "paper", "yref": "paper", "showarrow": False, "xanchor": "center", **note}
            for note in notes
        ]
        for trace in _lines(panel, color=color, colors=colors, period_s=period_s, legend=False):
            group = str(trace["legendgroup"])
            if trace["name"] == group and group not in shown:  # first settled line of a group
                trace["showlegend"] = True
                shown.add(group)
            traces.append({**trace, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}"})
    fig = go.Figure(data=traces, layout=layout)
    _markers(fig, markers)
    return fig
