"""Data distillation (DIST-4): the teacher labels augmented and unlabeled text; a BOW or CNN student learns
from the original data plus that teacher-labeled data. Hard labels by default; with soft labels the student
also matches the teacher's softened outputs (the same `DistillStudent` as model distillation).

The teacher-labeled data is written out as the guide's part.0 (original training data) and part.1
(augmented and unlabeled text with the teacher's labels), so it can be inspected.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch

from advisor.dataset import Example
from automl.distill.augment import AugmentConfig, augment
from automl.distill.model_distill import Ranges, suggest
from automl.distill.neighbours import neighbour_source
from automl.distill.search import Plan, Stage
from automl.distill.student import build_student
from automl.distill.teacher import teacher_labels, teacher_outputs
from automl.distill.wrapper import DistillStudent
from automl.models.base import TaskModel
from automl.training.config import TrialConfig


def read_unlabeled(path: Path, task: str) -> list[Example]:
    """One text per line; tagging data: one sentence per line, whitespace-separated tokens (characters when
    the line has no spaces)."""
    examples = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        if task == "ABS-6":
            tokens = tuple(text.split()) if " " in text else tuple(text)
            examples.append(Example(text=text, tokens=tokens, tags=("O",) * len(tokens), line=number))
        else:
            examples.append(Example(text=text.split("\t")[0], line=number))
    return examples


@dataclass
class TeacherData:
    labeled: list[Example]  # augmented + unlabeled, with the teacher's labels
    augmented: int
    unlabeled: int
    pos_used: bool
    notes: list[str]


def teacher_data(teacher: TaskModel, train: Sequence[Example], unlabeled: Sequence[Example], config: AugmentConfig,
                 batch_size: int = 256) -> TeacherData:
    augmented = augment(train, teacher.labels.task, config, neighbour_source(teacher))
    pool = augmented.examples + list(unlabeled)
    labeled = teacher_labels(teacher, pool, batch_size=batch_size) if pool else []
    return TeacherData(labeled, len(augmented.examples), len(unlabeled), augmented.pos_used, augmented.notes)


def write_parts(directory: Path, task: str, original: Sequence[Example], labeled: Sequence[Example]) -> list[Path]:
    """part.0 = the original training data, part.1 = the teacher-labeled data: TSV `text<TAB>label`
    (ABS-1), CoNLL (ABS-6), JSON lines otherwise."""
    directory.mkdir(parents=True, exist_ok=True)
    suffix = {"ABS-1": ".tsv", "ABS-6": ".conll"}.get(task, ".jsonl")
    paths = []
    for i, rows in enumerate((original, labeled)):
        path = directory / f"part.{i}{suffix}"
        path.write_text(_render(task, rows), encoding="utf-8")
        paths.append(path)
    return paths


def _render(task: str, rows: Sequence[Example]) -> str:
    if task == "ABS-1":
        return "".join(f"{' '.join(e.text.split())}\t{e.label}\n" for e in rows)
    if task == "ABS-6":
        return "".join("".join(f"{t}\t{g}\n" for t, g in zip(e.tokens, e.tags, strict=True)) + "\n" for e in rows)
    out = []
    for e in rows:
        item: dict[str, Any] = {"text": e.text}
        if e.text_b is not None:
            item["text_b"] = e.text_b
        item["labels" if task == "ABS-3" else "label"] = list(e.labels) if task == "ABS-3" else e.label
        out.append(json.dumps(item, ensure_ascii=False) + "\n")
    return "".join(out)


@dataclass
class DataDistillJob:
    teacher: TaskModel
    student_spec: str  # a scratch family (bow, cnn) or any model name build_student takes
    train: list[Example]
    extra: list[Example]  # teacher-labeled
    vocab_examples: list[Example]  # what the student's vocabulary is built from: train + unlabeled text
    dev: list[Example]
    language: str
    batch_size: int
    seed: int
    soft_labels: bool = False
    cache: dict[str, torch.Tensor] | None = None
    patience: int | None = 8

    def new_student(self) -> TaskModel:
        return build_student(self.student_spec, self.teacher, self.teacher.labels, self.vocab_examples, self.language)

    def config(self, lr: float, epochs: float) -> TrialConfig:
        return TrialConfig(learning_rate=lr, batch_size=self.batch_size, epochs=epochs, seed=self.seed,
                           patience=self.patience)

    def prepare_soft(self, batch_size: int = 256) -> None:
        if self.soft_labels and self.cache is None:
            self.cache = teacher_outputs(self.teacher, self.train + self.extra, batch_size)

    def distill_plan(self, trial: optuna.Trial, ranges: Ranges) -> Plan:
        p = suggest(trial, ranges, distill=self.soft_labels)
        torch.manual_seed(self.seed + trial.number)
        student = self.new_student()
        data = self.train + self.extra
        model: TaskModel = student
        if self.soft_labels:
            self.prepare_soft()
            model = DistillStudent(student, cache=self.cache, temperature=p["temperature"],
                                   soft_weight=p["soft_weight"])
        return Plan(student=student, stages=[Stage("data", model, self.config(p["learning_rate"], p["epochs"]), data)])

    def baseline_plan(self, trial: optuna.Trial, ranges: Ranges) -> Plan:
        p = suggest(trial, ranges, distill=False)
        torch.manual_seed(self.seed + trial.number)
        student = self.new_student()
        return Plan(student=student, stages=[Stage("fine-tune", student, self.config(p["learning_rate"], p["epochs"]),
                                                   self.train)])
