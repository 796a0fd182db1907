"""What pages share through Session State: the output folder, the data files in hand, the last answers."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from advisor.answers import Answers
from dashboard.settings import default_output_root, upload_dir

OUTPUT_ROOT = "output_root"
DATA_PATHS = "data.paths"  # data files the Data page read: the first is the training file
ANSWERS = "advisor.valid_answers"  # the form's last valid answers, for a sweep's --answers


def output_root() -> Path:
    value = st.session_state.get(OUTPUT_ROOT)
    return Path(value).expanduser().resolve() if value else default_output_root()


def uploads() -> Path:
    return upload_dir(output_root())


def data_paths() -> list[str]:
    return list(st.session_state.get(DATA_PATHS, []))


def last_answers() -> Answers | None:
    answers = st.session_state.get(ANSWERS)
    return answers if isinstance(answers, Answers) else None


def output_folder_widget() -> None:
    """The sidebar's choice of output folder (studies, reports, uploads live under it)."""
    if OUTPUT_ROOT not in st.session_state:
        st.session_state[OUTPUT_ROOT] = str(default_output_root())
    st.text_input("Output folder", key=OUTPUT_ROOT,
                  help="Where `automl run --out` folders live: their study.db, report.json and models. "
                       "Uploaded files go to its _uploads folder.")
