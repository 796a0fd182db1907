"""The Optuna adapter for distillation trials, as automl/sweep.py is for fine-tuning ones.

A trial = a fresh student + one `run_trial` per stage (TD1, then TD2; or plain fine-tuning for the
baseline). The last stage's dev scores go to `trial.report` / `should_prune`; a trial that diverges is
pruned. Every finished trial's student is scored on test right away (for the accuracy-vs-QPS frontier),
and the best one by dev is kept in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna

from advisor.dataset import Example
from automl.models.base import TaskModel
from automl.sweep import hyperband
from automl.training.config import DivergedError, TrialConfig
from automl.training.loop import run_trial


@dataclass
class Stage:
    """One `run_trial` of a trial: the model it trains (a `DistillStudent` or the bare student)."""

    name: str
    model: TaskModel
    config: TrialConfig
    train: list[Example]


@dataclass
class Plan:
    """What a trial trains: the student and its stages in order; `close` runs after them (hooks)."""

    student: TaskModel
    stages: list[Stage]
    close: Callable[[], None] | None = None


@dataclass
class SweepOutcome:
    kind: str  # "student" | "baseline"
    best: TaskModel | None
    best_params: dict[str, Any]
    best_dev: dict[str, float]
    trials: list[dict[str, Any]] = field(default_factory=list)


def new_study(seed: int) -> optuna.Study:
    """TPE and automl run's pruner (a 3-trial sweep under plain Hyperband had its last two students cut
    after TD1 by comparison with the first alone)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                               pruner=hyperband(max_resource=3000))


def run_sweep(kind: str, build: Callable[[optuna.Trial], Plan], dev: list[Example], n_trials: int, seed: int,
              deadline: float | None, score_test: Callable[[TaskModel], dict[str, float]],
              enqueue: list[dict[str, Any]] | None = None,
              on_message: Callable[[str], None] | None = None) -> SweepOutcome:
    """`n_trials` trials of `build` (or fewer when `deadline`, a time.time(), passes)."""
    study = new_study(seed)
    for params in enqueue or []:
        study.enqueue_trial(params)
    outcome = SweepOutcome(kind=kind, best=None, best_params={}, best_dev={})
    best_score = -float("inf")

    def objective(trial: optuna.Trial) -> float:
        nonlocal best_score
        plan = build(trial)
        started = time.perf_counter()
        record: dict[str, Any] = {"kind": kind, "number": trial.number, "params": dict(trial.params)}
        outcome.trials.append(record)
        result = None
        try:
            for i, stage in enumerate(plan.stages):
                last = i == len(plan.stages) - 1
                stage.config.time_budget_s = None if deadline is None else max(1.0, deadline - time.time())
                n = len(stage.train)

                def report(score: float, step: int, stage: Stage = stage, n: int = n) -> None:
                    resource = max(1, round(100 * step * stage.config.batch_size / max(n, 1)))
                    if on_message:
                        on_message(f"{kind} trial {trial.number} {stage.name} step {step}: dev {score:.4f}")
                    trial.report(score, resource)
                    if trial.should_prune():
                        raise optuna.TrialPruned(f"pruned at step {step}: dev {score:.4f}")

                result = run_trial(stage.config, stage.model, stage.train, dev, report if last else None)
                record.setdefault("stages", []).append(
                    {"stage": stage.name, "dev": round(result.score, 4), "steps": result.steps,
                     "epochs": round(result.epochs_done, 2), "seconds": round(result.seconds, 1),
                     "stopped": result.stopped, "samples_per_s": round(result.train_samples_per_s, 1)})
        except optuna.TrialPruned as exc:
            record.update(state="PRUNED", reason=str(exc), seconds=round(time.perf_counter() - started, 1))
            raise
        except DivergedError as exc:
            record.update(state="PRUNED", reason=f"diverged: {exc}", seconds=round(time.perf_counter() - started, 1))
            raise optuna.TrialPruned(str(exc)) from None
        finally:
            if plan.close is not None:
                plan.close()
        assert result is not None
        record.update(state="COMPLETE", dev=result.metrics, seconds=round(time.perf_counter() - started, 1),
                      test=score_test(plan.student))
        if result.score > best_score:
            best_score = result.score
            outcome.best, outcome.best_params, outcome.best_dev = plan.student, dict(trial.params), result.metrics
        if on_message:
            on_message(f"{kind} trial {trial.number}: dev {result.score:.4f}, test {record['test']}")
        return float(result.score)

    timeout = None if deadline is None else max(1.0, deadline - time.time())
    study.optimize(objective, n_trials=n_trials, timeout=timeout, catch=())
    return outcome
