"""Sweeps: start `automl run` with the advisor's settings, and watch any Optuna study live: a table of
trials and Optuna's plots, re-read from the storage while a sweep runs."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from advisor.answers import dump_answers
from advisor.errors import UserError
from advisor.plans import recommend
from dashboard import state, studies, sweep_process
from dashboard.settings import REFRESH_SECONDS

TITLE = "Sweeps"
URL = "sweeps"
STORAGE = "sweeps.storage"
OTHER = "other storage URL…"
LIVE = "sweeps.live"
STARTED = "sweeps.started"


def _error(err: UserError) -> None:
    st.error(f"{err.message}\n\n{err.fix}", icon=":material/warning:")


def start_form() -> None:
    """The advisor's answers go to `--answers`: automl takes its ladder and metric from them."""
    answers = state.last_answers()
    paths = state.data_paths()
    if answers is None:
        st.info("Answer the Advisor's questions first: the sweep takes its models and metric from them.")
    else:
        ladder = ", ".join(t.name for t in recommend(answers).model_tiers)
        st.caption(f"Recommended ladder: {ladder} (automl keeps those whose weights are on this machine).")
    data = st.text_input("Training file", value=paths[0] if paths else "", key="sweeps.data")
    cols = st.columns(2)
    dev = cols[0].text_input("Dev file (optional)", value=paths[1] if len(paths) > 1 else "", key="sweeps.dev")
    test = cols[1].text_input("Test file (optional)", value=paths[2] if len(paths) > 2 else "", key="sweeps.test")
    default_out = state.output_root() / (Path(data).stem if data else "sweep")
    given = st.text_input("Output folder of the run (--out; the same folder resumes)", key="sweeps.out",
                          placeholder=str(default_out), help="Empty: a folder named after the training file.")
    out = Path(given).expanduser() if given.strip() else default_out
    knobs = st.columns(4)
    trials = int(knobs[0].number_input("Trials (study total)", min_value=1, value=12, key="sweeps.trials"))
    budget = float(knobs[1].number_input("Budget (minutes)", min_value=0.1, value=20.0, key="sweeps.budget"))
    epochs = int(knobs[2].number_input("Epochs (0: per model family)", min_value=0, value=0, key="sweeps.epochs"))
    models = knobs[3].text_input("Models (empty: the ladder)", key="sweeps.models", placeholder="bow,minilm-l6")
    if not st.button("Start the sweep", type="primary", key="sweeps.start", disabled=not data):
        return
    try:
        if not Path(data).expanduser().is_file():
            raise UserError(f"{data}: no such file on this machine.", "Give the training file's path, or upload it on the Data page.")
        out.mkdir(parents=True, exist_ok=True)
        answers_file = None
        if answers is not None:
            answers_file = out / "answers.toml"
            dump_answers(answers, answers_file)
        command = sweep_process.sweep_command(
            str(Path(data).expanduser().resolve()), out.resolve(), dev=dev or None, test=test or None,
            answers=answers_file, models=[m.strip() for m in models.split(",") if m.strip()] or None,
            trials=trials, budget_minutes=budget, epochs=epochs or None)
        sweep = sweep_process.start(command, out.resolve())
    except UserError as err:
        _error(err)
        return
    st.session_state[STORAGE] = st.session_state[STARTED] = studies.sqlite_url(out.resolve() / "study.db")
    st.session_state[LIVE] = True
    st.success(f"Started `automl run` (pid {sweep.pid}); it keeps running if you close this page.")


def sweep_status(out: Path) -> bool:
    """The dashboard-started sweep writing to `out`, if any: state and the log's tail. True while it runs."""
    sweep = sweep_process.find(out)
    if sweep is None:
        return False
    running = sweep_process.is_running(sweep)
    code = sweep_process.exit_code(sweep)
    since = time.strftime("%H:%M:%S", time.localtime(sweep.started))
    if running:
        st.info(f"Sweep running since {since} (pid {sweep.pid}).")
        if st.button("Stop the sweep", key="sweeps.stop"):
            sweep_process.stop(sweep)
    elif code not in (None, 0):
        st.error(f"The sweep started at {since} ended with exit code {code}: see its log.", icon=":material/warning:")
    else:
        st.success(f"The sweep started at {since} has ended" + (" (exit code 0)." if code == 0 else "."))
    with st.expander(f"Log: {out / sweep_process.LOG}", expanded=running):
        st.code(sweep_process.tail(out) or "(empty)", language=None)
    return running


def study_view(storage: str, name: str, total: int | None) -> bool:
    """Trials and plots of one study; True while trials are running in it."""
    study = studies.load(storage, name)
    prog = studies.progress(study)
    goal = max(total or 0, prog.total)
    if goal:
        st.progress(min(1.0, prog.finished / goal), text=f"{prog.finished} of {goal} trials finished"
                    + (f", {prog.running} running" if prog.running else "")
                    + (f", {prog.failed} failed (not counted)" if prog.failed else ""))
    rows = studies.table(study)
    if not rows:
        st.info("No trials yet.")
        return prog.running > 0
    st.dataframe(rows, hide_index=True, width="stretch")
    cells = [cell for _ in range(2) for cell in st.columns(2)]  # the four plots in a 2 x 2 grid
    for cell, which in zip(cells, studies.PLOTS, strict=True):
        with cell:
            try:
                figure = studies.plot(study, which)
                figure.update_layout(height=380, margin={"t": 50, "b": 40, "l": 50, "r": 10})
                st.plotly_chart(figure, key=f"plot.{which}")
            except UserError as err:
                st.markdown(f"**{which.capitalize()}**")
                st.info(f"{err.message} {err.fix}")
    return prog.running > 0


def render() -> None:
    st.title(TITLE)
    root = state.output_root()
    found = studies.find_storages(root)
    with st.expander("Start a sweep (`automl run`)", expanded=not found):
        start_form()
    found = studies.find_storages(root)
    started = st.session_state.get(STARTED)  # its study.db appears once automl has probed batch sizes
    if started and started not in found:
        found.append(started)
    options = [*found, OTHER]
    if st.session_state.get(STORAGE) not in options:
        st.session_state[STORAGE] = found[0] if found else OTHER
    choice = st.selectbox("Study storage", options, key=STORAGE,
                          help=f"The SQLite studies under {root}, or any Optuna storage URL.")
    storage = st.text_input("Storage URL", key="sweeps.url", placeholder="sqlite:////path/study.db") \
        if choice == OTHER else choice
    if not storage:
        st.info(f"No study under {root} yet: start a sweep above, or give a storage URL.")
        return
    out = studies.run_folder(storage)
    sweep = sweep_process.find(out) if out is not None else None
    if LIVE not in st.session_state:
        st.session_state[LIVE] = bool(sweep and sweep_process.is_running(sweep))
    st.toggle(f"Refresh every {REFRESH_SECONDS} s", key=LIVE)

    @st.fragment(run_every=REFRESH_SECONDS if st.session_state.get(LIVE) else None)
    def live() -> None:
        running = sweep_status(out) if out is not None else False
        try:
            names = studies.study_names(storage)
        except UserError as err:
            if running:
                st.info("The sweep is starting: its study appears once the batch-size search is done.")
            else:
                _error(err)
            return
        if not names:
            st.info("This storage holds no study yet.")
            return
        name = st.selectbox("Study", names, key="sweeps.study")
        try:
            study_view(storage, name, sweep.trials if sweep is not None and running else None)
        except UserError as err:
            _error(err)

    live()
