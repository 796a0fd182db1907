"""The distillation sweeps, on automl's one Optuna adapter (automl/objective.py) as `automl run`'s are.

A trial = a fresh student + one `run_trial` per stage (TD1, then TD2; or plain fine-tuning for the
baseline). The last stage's dev scores go to the adapter's `Pacer` (report, should_prune); a diverging
or out-of-memory trial is pruned with its reason by the adapter. Every finished trial's student is scored
on test right away (for the accuracy-vs-QPS frontier), and the best one by dev is kept in memory.

`Distillation` is what both methods (model_distill.ModelDistillation, data_distill.DataDistillation) give
a sweep: a plan per trial for the student and for the baseline, each with its search ranges.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import optuna

from advisor.dataset import Example
from automl.models.base import TaskModel
from automl.objective import Pacer, direction, hyperband, improves, objective
from automl.results import StageRecord, TrialRecord
from automl.training.config import TrialConfig
from automl.training.loop import run_trial

Kind = Literal["student", "baseline"]


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
class Ranges:
    """One search dimension per field: (low, high); equal ends fix the value."""

    lr: tuple[float, float]
    lr_default: float
    epochs: tuple[int, int]
    epochs_default: int
    temperature: tuple[float, float] = (1.0, 1.0)
    temperature_default: float = 1.0
    soft_weight: tuple[float, float] = (0.0, 0.0)
    soft_weight_default: float = 0.0


def distill_ranges(block: dict[str, Any], student_family: str, epochs: int | None) -> Ranges:
    """The [distill] block's ranges; scratch students take the scratch learning rates."""
    prefix = "scratch_" if student_family != "transformer" else ""
    fixed = (epochs, epochs) if epochs else (int(block["epochs_low"]), int(block["epochs_high"]))
    return Ranges(lr=(block[f"{prefix}lr_low"], block[f"{prefix}lr_high"]), lr_default=block[f"{prefix}lr_default"],
                  epochs=fixed, epochs_default=epochs or int(block["epochs_default"]),
                  temperature=(block["temperature_low"], block["temperature_high"]),
                  temperature_default=block["temperature_default"],
                  soft_weight=(block["soft_weight_low"], block["soft_weight_high"]),
                  soft_weight_default=block["soft_weight_default"])


def finetune_ranges(families: dict[str, Any], student: TaskModel, epochs: int | None) -> Ranges:
    """The baseline's ranges: what `automl run` searches for this family (tiny transformers, scratch)."""
    space = families["transformer"]["tiny"] if student.family == "transformer" else families["scratch"]["scratch"]
    n = epochs or int(space["epochs"])
    return Ranges(lr=(space["lr_low"], space["lr_high"]), lr_default=space["lr_default"], epochs=(n, n),
                  epochs_default=n)


@dataclass
class Setup:
    """What both methods start from: the teacher, the student's spec, the data and the command's settings."""

    teacher: TaskModel
    student_spec: str
    train: list[Example]
    dev: list[Example]
    language: str
    unlabeled: list[Example]  # --unlabeled, not yet labeled
    seed: int
    epochs: int | None  # fixed, or searched within the presets' ranges
    batch_size: int | None
    patience: int
    metric: str | None
    block: dict[str, Any]  # presets/search_spaces.toml [distill]
    families: dict[str, Any]  # presets/search_spaces.toml [families]
    notes: list[str]  # what the method did, for the report


def suggest(trial: optuna.Trial, ranges: Ranges, distill: bool) -> dict[str, Any]:
    def pick_float(name: str, span: tuple[float, float], log: bool = False) -> float:
        return span[0] if span[0] == span[1] else trial.suggest_float(name, span[0], span[1], log=log)

    out: dict[str, Any] = {"learning_rate": pick_float("learning_rate", ranges.lr, log=True)}
    lo, hi = ranges.epochs
    out["epochs"] = lo if lo == hi else trial.suggest_int("epochs", lo, hi)
    if distill:
        out["temperature"] = pick_float("temperature", ranges.temperature)
        out["soft_weight"] = pick_float("soft_weight", ranges.soft_weight)
    return out


def defaults(ranges: Ranges, distill: bool) -> dict[str, Any]:
    """The first trial: the block's defaults (TIME-8: start from the default), only for searched names."""
    out: dict[str, Any] = {}
    if ranges.lr[0] != ranges.lr[1]:
        out["learning_rate"] = ranges.lr_default
    if ranges.epochs[0] != ranges.epochs[1]:
        out["epochs"] = ranges.epochs_default
    if distill:
        if ranges.temperature[0] != ranges.temperature[1]:
            out["temperature"] = ranges.temperature_default
        if ranges.soft_weight[0] != ranges.soft_weight[1]:
            out["soft_weight"] = ranges.soft_weight_default
    return out


class Distillation(ABC):
    """One distillation method: how a trial's student learns from the teacher, and how the same student
    architecture learns from the truth alone (the baseline), each within its own search ranges."""

    method: ClassVar[Literal["model", "data"]]  # report.json's `method`
    ranges: Ranges  # the student's search
    baseline_ranges: Ranges
    dev: list[Example]
    seed: int
    metric: str | None  # None: the task's default metric (run_trial's own default)
    facts: dict[str, Any]  # what the method did to the data, for report.json's `data`

    @property
    @abstractmethod
    def soft(self) -> bool:
        """Whether the student's search has a temperature and a soft-label weight."""

    @abstractmethod
    def distill_plan(self, trial: optuna.Trial) -> Plan: ...

    @abstractmethod
    def baseline_plan(self, trial: optuna.Trial) -> Plan: ...

    def plan(self, kind: Kind, trial: optuna.Trial) -> Plan:
        return self.distill_plan(trial) if kind == "student" else self.baseline_plan(trial)

    def first_params(self, kind: Kind) -> dict[str, Any]:
        return defaults(self.ranges, self.soft) if kind == "student" else defaults(self.baseline_ranges, False)


@dataclass
class SweepOutcome:
    kind: str  # "student" | "baseline"
    best: TaskModel | None
    best_params: dict[str, Any]
    best_dev: dict[str, float]
    trials: list[TrialRecord] = field(default_factory=list)


def new_study(seed: int, metric: str = "accuracy") -> optuna.Study:
    """TPE and automl run's pruner (a 3-trial sweep under plain Hyperband had its last two students cut
    after TD1 by comparison with the first alone)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(direction=direction(metric), sampler=optuna.samplers.TPESampler(seed=seed),
                               pruner=hyperband(max_resource=3000))


def _stage_record(name: str, result: Any) -> StageRecord:
    return StageRecord(stage=name, dev=round(result.score, 4), steps=result.steps, epochs=round(result.epochs_done, 2),
                       seconds=round(result.seconds, 1), stopped=result.stopped,
                       samples_per_s=round(result.train_samples_per_s, 1))


def run_sweep(kind: Kind, method: Distillation, metric: str, n_trials: int, deadline: float | None,
              score_test: Callable[[TaskModel], dict[str, float]],
              on_message: Callable[[str], None] | None = None) -> SweepOutcome:
    """`n_trials` trials of `method`'s `kind` plan (or fewer when `deadline`, a time.time(), passes)."""
    study = new_study(method.seed, metric)
    first = method.first_params(kind)
    if first:
        study.enqueue_trial(first)
    outcome = SweepOutcome(kind=kind, best=None, best_params={}, best_dev={})

    def body(trial: optuna.Trial, record: TrialRecord) -> float:
        plan = method.plan(kind, trial)
        result = None
        try:
            for i, stage in enumerate(plan.stages):
                stage.config.time_budget_s = None if deadline is None else max(1.0, deadline - time.time())
                pacer = Pacer(trial, stage.config.batch_size, len(stage.train), metric,
                              f"{kind} trial {trial.number} {stage.name}", on_message)
                result = run_trial(stage.config, stage.model, stage.train, method.dev,
                                   pacer if i == len(plan.stages) - 1 else None)
                record.stages.append(_stage_record(stage.name, result))
        finally:
            if plan.close is not None:
                plan.close()
        assert result is not None
        record.dev, record.test = dict(result.metrics), score_test(plan.student)
        if outcome.best is None or improves(result.score, outcome.best_dev[result.metric], metric):
            outcome.best, outcome.best_params, outcome.best_dev = plan.student, dict(trial.params), dict(result.metrics)
        if on_message:
            on_message(f"{kind} trial {trial.number}: dev {result.score:.4f}, test {record.test}")
        return float(result.score)

    timeout = None if deadline is None else max(1.0, deadline - time.time())
    study.optimize(objective(body, kind=kind, on_record=outcome.trials.append), n_trials=n_trials, timeout=timeout,
                   catch=())
    return outcome
