"""The floor for the dashboard benchmark: a one-chart Streamlit page, served like the dashboard.

bench/bench_dashboard.py times navigation start -> first visible plotly chart on this page and on
every dashboard page in the same run; the ratio says what the dashboard adds on top of Streamlit
and plotly themselves. A day of one-minute points, like the dashboard's default window.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="floor", layout="wide")
st.title("Floor")
minutes = np.arange(1440)
rate = 10 + 5 * np.sin(minutes / 1440 * 2 * np.pi) + np.random.default_rng(0).normal(0, 1, 1440)
fig = go.Figure(go.Scatter(x=minutes, y=rate, mode="lines", name="requests"))
fig.update_layout(title="Request rate", xaxis_title="minute", yaxis_title="req/s")
st.plotly_chart(fig, key="floor_chart")
