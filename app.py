"""The dashboard: `streamlit run app.py` (or `nlp-dashboard`). Page wiring only; the pages live in
`dashboard/` and compute nothing the CLI does not: advisor, data check, sweeps, models."""

import streamlit as st

from dashboard import state
from dashboard.pages import navigation

st.set_page_config(page_title="nlp-advisor", page_icon=":material/explore:", layout="wide")
page = navigation()
with st.sidebar:
    state.output_folder_widget()
    st.caption("Same engine, presets and study storage as `advisor` and `automl`.")
page.run()
