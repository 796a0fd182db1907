"""Model distillation (DIST-2): a frozen teacher, a student that learns from its outputs.

Per trial: a fresh student (the teacher cut to fewer layers, a smaller tier, or a scratch net), then
- TD1 (optional, transformer to transformer with one tokenizer): `td1_epochs` of MiniLMv2 relation KL;
- TD2: soft-label CE against the teacher's temperature-softened logits + hard-label CE, weighted.
Optuna searches learning rate, temperature, soft weight and epochs within presets/search_spaces.toml's
[distill] block. The baseline is the same student trained on the truth alone with the fine-tuning ranges.
`ModelDistillation.prepare` labels any --unlabeled or augmented text with the teacher and caches its outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import optuna
import torch

from advisor.dataset import Example
from automl.distill.augment import AugmentConfig, augment
from automl.distill.neighbours import neighbour_source
from automl.distill.search import (
    Distillation,
    Plan,
    Ranges,
    Setup,
    Stage,
    distill_ranges,
    finetune_ranges,
    suggest,
)
from automl.distill.student import build_student
from automl.distill.teacher import teacher_labels, teacher_outputs
from automl.distill.wrapper import DistillStudent
from automl.models.base import TaskModel
from automl.training.config import TrialConfig

if TYPE_CHECKING:
    from automl.distill.run import DistillOptions

NEVER = 10**9  # an eval interval no run reaches: only the final eval, so the final weights are kept


@dataclass
class ModelDistillation(Distillation):
    method: ClassVar[Literal["model", "data"]] = "model"

    teacher: TaskModel
    student_spec: str
    train: list[Example]
    dev: list[Example]
    language: str
    cache: dict[str, torch.Tensor]
    batch_size: int
    seed: int
    ranges: Ranges
    baseline_ranges: Ranges
    td1_epochs: float = 0.0
    relation_heads: int | None = None
    hidden_weight: float = 1.0  # TD1's hidden-state MSE for a cut student (0: relations only)
    student_hparams: dict[str, Any] | None = None
    patience: int | None = 8
    baseline_train: list[Example] | None = None  # the truth only (no teacher-labeled text); default train
    metric: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def soft(self) -> bool:
        return True

    @classmethod
    def prepare(cls, setup: Setup, options: DistillOptions) -> ModelDistillation:
        """The training data (the truth, plus teacher-labeled --unlabeled and, with --augment, augmented
        text), the teacher's outputs cached on it, and the student's and baseline's ranges."""
        teacher, train, notes, facts = setup.teacher, list(setup.train), setup.notes, {}
        if setup.unlabeled:
            train += teacher_labels(teacher, setup.unlabeled)
            notes.append(f"{len(setup.unlabeled):,} unlabeled texts labeled by the teacher joined the training data")
        if options.model_augment:
            made = augment(setup.train, teacher.labels.task, AugmentConfig(seed=setup.seed, **options.augment),
                           neighbour_source(teacher))
            train += teacher_labels(teacher, made.examples)
            notes += made.notes
            notes.append(f"{len(made.examples):,} augmented texts labeled by the teacher joined the training "
                         "data (soft labels from the cache, hard labels = the teacher's predictions)")
            facts["augmented"] = len(made.examples)
        elif options.augment.get("neighbour_rate"):
            notes.append("--neighbour-rate unused: model distillation augments its data only with --augment")
        cache = teacher_outputs(teacher, train)
        facts["teacher_outputs_cached"] = len(cache)
        probe = build_student(setup.student_spec, teacher, teacher.labels, train, setup.language)
        batch = setup.batch_size or (32 if probe.family == "transformer" else 64)
        return cls(teacher, setup.student_spec, train, setup.dev, setup.language, cache, batch, setup.seed,
                   ranges=distill_ranges(setup.block, probe.family, setup.epochs),
                   baseline_ranges=finetune_ranges(setup.families, probe, setup.epochs),
                   td1_epochs=options.td1_epochs, relation_heads=options.relation_heads,
                   hidden_weight=options.hidden_weight, patience=setup.patience, baseline_train=list(setup.train),
                   metric=setup.metric, facts=facts)

    def new_student(self) -> TaskModel:
        return build_student(self.student_spec, self.teacher, self.teacher.labels, self.train, self.language,
                             **(self.student_hparams or {}))

    def config(self, lr: float, epochs: float, **extra: Any) -> TrialConfig:
        extra.setdefault("patience", self.patience)
        return TrialConfig(learning_rate=lr, batch_size=self.batch_size, epochs=epochs, seed=self.seed,
                           metric=self.metric, **extra)

    def distill_plan(self, trial: optuna.Trial) -> Plan:
        p = suggest(trial, self.ranges, distill=True)
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

    def baseline_plan(self, trial: optuna.Trial) -> Plan:
        p = suggest(trial, self.baseline_ranges, distill=False)
        torch.manual_seed(self.seed + trial.number)
        student = self.new_student()
        data = self.train if self.baseline_train is None else self.baseline_train
        return Plan(student=student, stages=[Stage("fine-tune", student, self.config(p["learning_rate"], p["epochs"]),
                                                   data)])
