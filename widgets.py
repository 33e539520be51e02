"""Streamlit pieces the pages share (no data access, no math)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_data import Quality


def csv_button(
    table: pd.DataFrame | str, filename: str, key: str, label: str = "Download CSV"
) -> None:
    """A download button for ``table`` as CSV (a DataFrame, or CSV text already made)."""
    data = table if isinstance(table, str) else table.to_csv(index=False)
    st.download_button(label, data, filename, "text/csv", key=key)


def quality_banner(quality: Quality) -> None:
    """A warning saying what is missing when a view's data is partial, truncated or stale."""
    if not quality.complete:
        st.warning(f"Data is {quality.status}: " + "; ".join(quality.reasons), icon="⚠️")
