"""The answer schema as a form: one widget per question of `advisor.questions.QUESTIONS`, each checked by
`check_one` as the terminal checks a typed answer, the whole by `parse_answers`; `?` is the widget's help.

The answers live in Session State under STORE as the raw strings a person would type ("" = unanswered),
so they survive page switches (Streamlit drops the state of widgets a page does not draw) and can be
filled from an uploaded file or from a data file.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from advisor.answers import FIELDS, Answers, choices, parse_answers
from advisor.errors import UserError
from advisor.questions import QUESTIONS, Question, check_one, explanation

STORE = "advisor.answers"
WIDGET = "advisor.form."
# Filled from data by `advisor recommend --data`, never asked in the terminal: shown last, optional.
EXTRA = (Question("text_chars", "Typical (95th percentile) text length in characters?", optional=True),)
FORM = QUESTIONS + EXTRA
COLUMNS = 3


def default_raw(name: str) -> str:
    """The schema's default as a string ("" for required fields and for fields that default to none)."""
    info = FIELDS[name]
    return "" if info.is_required() or info.default is None else str(info.default)


def raw_answers() -> dict[str, str]:
    if STORE not in st.session_state:
        st.session_state[STORE] = {q.field: default_raw(q.field) for q in FORM}
    store: dict[str, str] = st.session_state[STORE]
    return store


def _forget_widgets() -> None:
    for q in FORM:
        st.session_state.pop(WIDGET + q.field, None)


def fill(values: dict[str, Any], keep: bool = False) -> None:
    """Put answers into the form: `keep` merges them into the current answers (data fills what it tells),
    otherwise they replace them (an answers file is the whole set; the rest goes back to defaults)."""
    store = dict(raw_answers()) if keep else {q.field: default_raw(q.field) for q in FORM}
    store.update({k: "" if v is None else str(v) for k, v in values.items() if k in store})
    st.session_state[STORE] = store
    _forget_widgets()


def _widget(q: Question, store: dict[str, str]) -> str:
    key = WIDGET + q.field
    if key not in st.session_state:
        st.session_state[key] = store[q.field]
    allowed = choices(q.field)
    if allowed:
        options = list(allowed) if default_raw(q.field) else ["", *allowed]
        if st.session_state[key] not in options:  # a value the schema will reject: keep it to show why
            options.append(st.session_state[key])
        unset = "(choose)" if FIELDS[q.field].is_required() else "(none)"
        return str(st.selectbox(q.prompt, options, key=key, help=explanation(q.field),
                                format_func=lambda v: v or unset))
    return str(st.text_input(q.prompt, key=key, help=explanation(q.field),
                             placeholder="(none)" if q.optional or not default_raw(q.field) else None))


def render_form() -> Answers | None:
    """Draw the form; return the validated answers, or None after showing what is wrong."""
    store = raw_answers()
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    shown: dict[str, Any] = {}
    cols = st.columns(COLUMNS)
    for q in FORM:
        if not q.ask_if(shown):  # as the terminal: a question that does not apply is not asked
            continue
        with cols[len(shown) % COLUMNS]:
            raw = _widget(q, store).strip()
            store[q.field] = raw
            if raw:
                try:
                    values[q.field] = check_one(q.field, raw)
                except UserError as err:
                    problems[q.field] = f"{err.message} {err.fix}"
                    st.error(problems[q.field], icon=":material/warning:")
            shown[q.field] = values.get(q.field, FIELDS[q.field].default)
    kept = {q.field: store[q.field] for q in FORM
            if q.field not in shown and store[q.field] and store[q.field] != default_raw(q.field)}
    for name, raw in kept.items():  # given by a file or by data for a question not asked here: kept, as the CLI does
        try:
            values[name] = check_one(name, raw)
        except UserError as err:
            problems[name] = f"{name}: {err.message}"
            st.error(problems[name], icon=":material/warning:")
    if kept:
        st.caption("Also given (not asked for these answers): " + ", ".join(f"`{k} = {v}`" for k, v in kept.items()))
    if problems:
        return None
    try:
        return parse_answers(values, origin="the form")
    except UserError as err:
        st.error(f"{err.message}\n\n{err.fix}", icon=":material/warning:")
        return None
