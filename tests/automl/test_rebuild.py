"""`automl report OUT --storage URL` (automl/rebuild.py): which study, and what it needs to rebuild."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from automl.cli import app

runner = CliRunner()


def test_rebuild_says_which_study_and_what_is_missing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    for name in ("a", "b"):
        optuna.create_study(storage=url, study_name=name).optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    result = runner.invoke(app, ["report", str(tmp_path / "out"), "--storage", url])
    assert result.exit_code == 2 and "2 studies (a, b)" in result.output and "--study" in result.output
    result = runner.invoke(app, ["report", str(tmp_path / "out"), "--storage", url, "--study", "c"])
    assert result.exit_code == 2 and "no study named 'c'" in result.output
    result = runner.invoke(app, ["report", str(tmp_path / "out"), "--storage", url, "--study", "a"])
    assert result.exit_code == 2 and "no record of its run" in result.output  # not made by automl run
    result = runner.invoke(app, ["report", str(tmp_path / "out"), "--storage", "postgresql://nobody@127.0.0.1:1/x"])
    assert result.exit_code == 2 and "cannot open storage" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("url", ["not-a-url", "mysql://u@127.0.0.1:1/x"])
def test_unusable_storage_is_one_message(url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path), "--storage", url])
    assert result.exit_code == 2 and "cannot open storage" in result.output and "Traceback" not in result.output
