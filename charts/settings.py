"""A grid of settings (the cost page's what-if): cost against cold starts with the Pareto
front and the current setting, and a heatmap over two settings."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts.style import LAYOUT


def pareto(
    grid: pd.DataFrame, *, x: str, y: str, x_unit: str, y_unit: str, label: str, title: str
) -> go.Figure:
    """Scatter of every setting (grey), the Pareto front (line) and the current one (star).

    ``grid`` needs columns x, y, label, and booleans ``pareto`` and ``current``.
    """
    fig = go.Figure()
    hover = f"%{{text}}<br>%{{x:,.2f}} {x_unit}<br>%{{y:,.1f}} {y_unit}<extra></extra>"
    layers = (  # (rows, name, mode, marker), drawn in this order
        (
            grid[~grid["pareto"] & ~grid["current"]],
            "other settings",
            "markers",
            {"color": "#c7c7c7", "size": 6},
        ),
        (
            grid[grid["pareto"]].sort_values(x),
            "best trade-offs",
            "lines+markers",
            {"color": "#1f77b4", "size": 8},
        ),
        (
            grid[grid["current"]],
            "current setting",
            "markers",
            {"color": "#d62728", "size": 16, "symbol": "star"},
        ),
    )
    for rows, name, mode, marker in layers:
        fig.add_trace(
            go.Scatter(
                x=rows[x],
                y=rows[y],
                text=rows[label],
                mode=mode,
                name=name,
                marker=marker,
                hovertemplate=hover,
            )
        )
    fig.update_layout(title=title, **{**LAYOUT, "hovermode": "closest", "height": 380})
    fig.update_xaxes(title=x_unit, rangemode="tozero")
    fig.update_yaxes(title=y_unit, rangemode="tozero")
    return fig


def heatmap(grid: pd.DataFrame, *, x: str, y: str, z: str, z_unit: str, title: str) -> go.Figure:
    """A heatmap of ``z`` over ``x`` × ``y`` (e.g. cost over concurrency × min instances)."""
    table = grid.pivot_table(index=y, columns=x, values=z, aggfunc="min")
    fig = go.Figure(
        go.Heatmap(
            z=table.to_numpy(),
            x=[str(c) for c in table.columns],
            y=[str(i) for i in table.index],
            colorscale="Blues",
            colorbar={"title": z_unit},
            hovertemplate=f"{x} %{{x}}, {y} %{{y}}: %{{z:,.2f}} {z_unit}<extra></extra>",
        )
    )
    fig.update_layout(title=title, **{**LAYOUT, "hovermode": "closest", "height": 360})
    fig.update_xaxes(title=x, type="category")
    fig.update_yaxes(title=y, type="category")
    return fig
