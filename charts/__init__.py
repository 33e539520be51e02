"""DataFrames -> plotly figures. Only drawing: no API calls, no streamlit, no cost math.

Conventions every chart follows: axis titles carry units; hover shows the value with its unit;
a missing period is drawn as a gap (never as zero); points still inside Monitoring's ingestion
delay ("pending") are drawn dotted; each revision keeps one colour on every page
(``revision_colors``); deployments and traffic changes are vertical markers.

- style.py: palette, layout, time axes; lines.py: lines over time (one chart or stacked
  panels); bars.py: counts and distributions; settings.py: a grid of settings (Pareto, heatmap)
"""

from charts.bars import bars_over_time, histogram, ranked_bars
from charts.lines import Panel, panels_over_time, time_series
from charts.settings import heatmap, pareto
from charts.style import PALETTE, REASON_COLORS, revision_colors

__all__ = [
    "PALETTE",
    "REASON_COLORS",
    "Panel",
    "bars_over_time",
    "heatmap",
    "histogram",
    "panels_over_time",
    "pareto",
    "ranked_bars",
    "revision_colors",
    "time_series",
]
