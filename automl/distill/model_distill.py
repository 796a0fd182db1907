"""Model distillation (DIST-2): a frozen teacher, a student that learns from its outputs.

Per trial: a fresh student (the teacher cut to fewer layers, a smaller tier, or a scratch net), then
- TD1 (optional, transformer to transformer with one tokenizer): `td1_epochs` of MiniLMv2 relation KL;
- TD2: soft-label CE against the teacher's temperature-softened logits + hard-label CE, weighted.
Optuna searches learning rate, temperature, soft weight and epochs within presets/search_spaces.toml's
[distill] block. The baseline is the same student trained on the truth alone with the fine-tuning ranges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
import torch

from advisor.dataset import Example
from automl.distill.search import Plan, Stage, SweepOutcome, run_sweep
from automl.distill.student import build_student
from automl.distill.wrapper import DistillStudent
from automl.models.base import TaskModel
from automl.training.config import TrialConfig

NEVER = 10**9  # an eval interval no run reaches: only the final eval, so the final weights are kept


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


@dataclass
class ModelDistillJob:
    teacher: TaskModel
    student_spec: str
    train: list[Example]
    dev: list[Example]
    language: str
    cache: dict[str, torch.Tensor]
    batch_size: int
    seed: int
    td1_epochs: float = 0.0
    relation_heads: int | None = None
    hidden_weight: float = 1.0  # TD1's hidden-state MSE for a cut student (0: relations only)
    student_hparams: dict[str, Any] | None = None
    patience: int | None = 8
    baseline_train: list[Example] | None = None  # the truth only (no teacher-labeled text); default train

    def new_student(self) -> TaskModel:
        return build_student(self.student_spec, self.teacher, self.teacher.labels, self.train, self.language,
                             **(self.student_hparams or {}))

    def config(self, lr: float, epochs: float, **extra: Any) -> TrialConfig:
        extra.setdefault("patience", self.patience)
        return TrialConfig(learning_rate=lr, batch_size=self.batch_size, epochs=epochs, seed=self.seed, **extra)

    def distill_plan(self, trial: optuna.Trial, ranges: Ranges) -> Plan:
        p = suggest(trial, ranges, distill=True)
        torch.manual_seed(self.seed + trial.number)
        student = self.new_student()
        stages = []
        close: Callable[[], None] | None = None
        if self.td1_epochs > 0:
            td1 = DistillStudent(student, self.teacher, stage="relations", relation_heads=self.relation_heads,
                                 hidden_weight=self.hidden_weight)
            close = td1.close
            # no early stopping and one eval at the end: TD1 does not train the head, its dev score may dip
            stages.append(Stage("TD1", td1, self.config(p["learning_rate"], self.td1_epochs, patience=None,
                                                        eval_steps=NEVER), self.train))
        td2 = DistillStudent(student, cache=self.cache, temperature=p["temperature"], soft_weight=p["soft_weight"])
        stages.append(Stage("TD2", td2, self.config(p["learning_rate"], p["epochs"]), self.train))
        return Plan(student=student, stages=stages, close=close)

    def baseline_plan(self, trial: optuna.Trial, ranges: Ranges) -> Plan:
        p = suggest(trial, ranges, distill=False)
        torch.manual_seed(self.seed + trial.number)
        student = self.new_student()
        data = self.train if self.baseline_train is None else self.baseline_train
        return Plan(student=student, stages=[Stage("fine-tune", student, self.config(p["learning_rate"], p["epochs"]),
                                                   data)])


def distill_models(job: ModelDistillJob, ranges: Ranges, baseline_ranges: Ranges | None, trials: int,
                   deadline_student: float | None, deadline_baseline: float | None,
                   score_test: Callable[[TaskModel], dict[str, float]],
                   on_message: Callable[[str], None] | None = None) -> tuple[SweepOutcome, SweepOutcome | None]:
    """The student sweep, then the baseline sweep (same student architecture, truth only)."""
    student = run_sweep("student", lambda t: job.distill_plan(t, ranges), job.dev, trials, job.seed,
                        deadline_student, score_test, enqueue=[defaults(ranges, True)] if defaults(ranges, True)
                        else None, on_message=on_message)
    baseline = None
    if baseline_ranges is not None:
        baseline = run_sweep("baseline", lambda t: job.baseline_plan(t, baseline_ranges), job.dev, trials,
                             job.seed, deadline_baseline, score_test,
                             enqueue=[defaults(baseline_ranges, False)] if defaults(baseline_ranges, False) else None,
                             on_message=on_message)
    return student, baseline
