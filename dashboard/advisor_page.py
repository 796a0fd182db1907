"""Advisor: the answers as a form, the recommendation from `advisor.plans.recommend`, answers files
downloaded for `advisor recommend --answers` and uploaded back."""

from __future__ import annotations

import streamlit as st

from advisor.errors import UserError
from advisor.plans import recommend
from dashboard import answer_files, answers_form, state
from dashboard.recommendation_view import render_recommendation

TITLE = "Advisor"
URL = "advisor"
UPLOAD = "advisor.upload"
MESSAGE = "advisor.upload_message"


def _load_upload() -> None:
    """on_change of the uploader: runs before the page, so the form is drawn with the file's answers."""
    uploaded = st.session_state.get(UPLOAD)
    if uploaded is None:
        return
    try:
        raw = answer_files.read_uploaded_answers(uploaded.name, uploaded.getvalue(), state.uploads())
    except UserError as err:
        st.session_state[MESSAGE] = ("error", f"{err.message}\n\n{err.fix}")
        return
    answers_form.fill(raw)
    st.session_state[MESSAGE] = ("success", f"Loaded {len(raw)} answers from {uploaded.name}.")


def render() -> None:
    st.title(TITLE)
    st.caption("Answer what you know; `?` explains each question. The plan is the guide's rules applied to "
               "your answers, exactly as `advisor recommend` does.")
    with st.expander("Load answers from a file (TOML, YAML or JSON, as `advisor recommend --answers` takes)"):
        st.file_uploader("Answers file", key=UPLOAD, on_change=_load_upload,  # any name: the reader says what it takes
                         help="`advisor recommend --save-answers` and the download below write these.")
        kind, text = st.session_state.get(MESSAGE, ("", ""))
        if kind == "error":
            st.error(text, icon=":material/warning:")
        elif kind:
            st.success(text)
    answers = answers_form.render_form()
    if answers is None:
        st.session_state.pop(state.ANSWERS, None)
        return
    st.session_state[state.ANSWERS] = answers
    fmt = st.radio("Save the answers as", list(answer_files.FORMATS), horizontal=True, key="advisor.format")
    suffix = answer_files.FORMATS[fmt]
    left, right = st.columns(2)
    left.download_button(f"Download answers{suffix}", answer_files.answers_bytes(answers, suffix),
                         file_name=f"answers{suffix}", mime=answer_files.MIME[suffix], key="advisor.download")
    try:
        rec = recommend(answers)
    except UserError as err:  # e.g. a gpu_model the price table lacks: the CLI's message, with its fix
        st.error(f"{err.message}\n\n{err.fix}", icon=":material/warning:")
        return
    right.download_button("Download the recommendation (--json)", rec.model_dump_json(indent=2),
                          file_name="recommendation.json", mime="application/json", key="advisor.download_json")
    st.divider()
    render_recommendation(rec)
