"""Data: upload files or name them on this machine; show what `advisor inspect` finds; send what the
data tells (`advisor.from_data.answers_from_data`) to the advisor's form."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from advisor.errors import UserError
from advisor.formats import TASK_NAMES
from advisor.from_data import answers_from_data
from advisor.inspection import Inspection, inspect_files
from dashboard import answers_form, state
from dashboard.inspection_view import render_inspection
from dashboard.uploads import save_upload

TITLE = "Data"
URL = "data"
UPLOAD = "data.upload"
PATHS = "data.typed_paths"
TASK = "data.task"


@st.cache_data(show_spinner="Reading the files…", max_entries=16)
def inspect_cached(paths: tuple[str, ...], task: str | None, stamps: tuple[float, ...]) -> Inspection:
    """`advisor inspect` once per set of files and their modification times."""
    return inspect_files(list(paths), task=task)


def chosen_paths() -> list[str]:
    """Uploaded files (saved under sanitized names in the app's folder), then the typed paths."""
    paths = [str(save_upload(f.name, f.getvalue(), state.uploads())) for f in st.session_state.get(UPLOAD) or []]
    for line in str(st.session_state.get(PATHS, "")).splitlines():
        if line.strip():
            path = Path(line.strip()).expanduser()
            if not path.is_file():
                raise UserError(f"{line.strip()}: no such file on this machine.", "Check the path, or upload the file.")
            paths.append(str(path.resolve()))
    return paths


def send_to_advisor(paths: list[str]) -> None:
    answers_form.fill(answers_from_data(paths), keep=True)
    from dashboard.pages import page  # the page table imports this module

    st.switch_page(page("advisor"))


def render() -> None:
    st.title(TITLE)
    st.caption("The training file first; dev and test files beside it are checked for shared texts. "
               "The same findings as `advisor inspect FILE...`.")
    left, right = st.columns(2)
    left.file_uploader("Upload data files", accept_multiple_files=True, key=UPLOAD,  # the reader sniffs the format
                       help="TSV, CSV, JSON/JSONL, CoNLL/BIO, SQuAD JSON, `<s> ... <e>` lines: the guide's formats.")
    right.text_area("…or paths on this machine, one per line", key=PATHS, height=100,
                    placeholder="/data/train.tsv\n/data/dev.tsv")
    st.selectbox("Task", ["auto", *TASK_NAMES], key=TASK,
                 format_func=lambda t: "detect it" if t == "auto" else f"{t} {TASK_NAMES[t]}")
    try:
        paths = chosen_paths()
        if not paths:
            st.info("Upload a file or give a path to see what is in it.")
            return
        task = None if st.session_state[TASK] == "auto" else st.session_state[TASK]
        found = inspect_cached(tuple(paths), task, tuple(Path(p).stat().st_mtime for p in paths))
    except UserError as err:
        st.error(f"{err.message}\n\n{err.fix}", icon=":material/warning:")
        return
    st.session_state[state.DATA_PATHS] = paths
    if st.button("Use this data in the advisor", type="primary", key="data.send",
                 help="Fills the form's task shape, labels, rows, language and text length from the first file."):
        try:
            send_to_advisor(paths)
        except UserError as err:
            st.error(f"{err.message}\n\n{err.fix}", icon=":material/warning:")
    render_inspection(found)
