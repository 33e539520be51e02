"""Cost and tuning (being built: see the Dashboard issue)."""

import streamlit as st

st.title("Cost & tuning")
st.info("The cost and tuning view is not built yet.")
