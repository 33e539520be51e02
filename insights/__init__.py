"""Pure derived views for the dashboard: summaries, comparisons, verdicts (no streamlit)."""
