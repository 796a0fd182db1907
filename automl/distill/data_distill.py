"""Data distillation (DIST-4): the teacher labels augmented and unlabeled text; a BOW or CNN student learns
from the original data plus that teacher-labeled data. Hard labels by default; with soft labels the student
also matches the teacher's softened outputs (the same `DistillStudent` as model distillation).

The teacher-labeled data is written out as the guide's part.0 (original training data) and part.1
(augmented and unlabeled text with the teacher's labels), so it can be inspected.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import optuna
import torch

from advisor.dataset import Example
from automl.distill.augment import AugmentConfig, augment
from automl.distill.neighbours import neighbour_source
from automl.distill.search import Distillation, Plan, Ranges, Setup, Stage, distill_ranges, suggest
from automl.distill.student import build_student
from automl.distill.teacher import teacher_labels, teacher_outputs
from automl.distill.wrapper import DistillStudent
from automl.models.base import TaskModel
from automl.training.config import TrialConfig
from presets.catalog import TaskType
from presets.catalog import task as task_type

if TYPE_CHECKING:
    from automl.distill.run import DistillOptions


def read_unlabeled(path: Path, task: str) -> list[Example]:
    """One text per line; tagging data: one sentence per line, whitespace-separated tokens (characters when
    the line has no spaces)."""
    tagging = task_type(task).is_tagging
    examples = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        if tagging:
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
    (one text, one class), CoNLL (tagging), JSON lines otherwise."""
    directory.mkdir(parents=True, exist_ok=True)
    kind = task_type(task)
    suffix = ".tsv" if _one_text_one_class(kind) else ".conll" if kind.is_tagging else ".jsonl"
    paths = []
    for i, rows in enumerate((original, labeled)):
        path = directory / f"part.{i}{suffix}"
        path.write_text(_render(task, rows), encoding="utf-8")
        paths.append(path)
    return paths


def _one_text_one_class(kind: TaskType) -> bool:
    return kind.output == "one_class" and kind.input == "one_text"


def _render(task: str, rows: Sequence[Example]) -> str:
    kind = task_type(task)
    if _one_text_one_class(kind):
        return "".join(f"{' '.join(e.text.split())}\t{e.label}\n" for e in rows)
    if kind.is_tagging:
        return "".join("".join(f"{t}\t{g}\n" for t, g in zip(e.tokens, e.tags, strict=True)) + "\n" for e in rows)
    out = []
    for e in rows:
        item: dict[str, Any] = {"text": e.text}
        if e.text_b is not None:
            item["text_b"] = e.text_b
        item["labels" if kind.is_multilabel else "label"] = list(e.labels) if kind.is_multilabel else e.label
        out.append(json.dumps(item, ensure_ascii=False) + "\n")
    return "".join(out)


@dataclass
class DataDistillation(Distillation):
    method: ClassVar[Literal["model", "data"]] = "data"

    teacher: TaskModel
    student_spec: str  # a scratch family (bow, cnn) or any model name build_student takes
    train: list[Example]
    extra: list[Example]  # teacher-labeled
    vocab_examples: list[Example]  # what the student's vocabulary is built from: train + unlabeled text
    dev: list[Example]
    language: str
    batch_size: int
    seed: int
    ranges: Ranges
    baseline_ranges: Ranges
    soft_labels: bool = False
    cache: dict[str, torch.Tensor] | None = None
    patience: int | None = 8
    metric: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def soft(self) -> bool:
        return self.soft_labels

    @classmethod
    def prepare(cls, setup: Setup, options: DistillOptions, out: Path,
                say: Callable[[str], None] | None = None) -> DataDistillation:
        """Augment the training data, label it and --unlabeled with the teacher, write part.0 / part.1 in
        `out`/augmented; the student's ranges are the [distill] block's data-distillation epochs."""
        config = AugmentConfig(seed=setup.seed, **options.augment)
        made = teacher_data(setup.teacher, setup.train, setup.unlabeled, config)
        setup.notes.extend(made.notes)
        parts = write_parts(out / "augmented", setup.teacher.labels.task, setup.train, made.labeled)
        if say:
            say(f"augmented {made.augmented:,} + unlabeled {made.unlabeled:,} texts labeled by the teacher -> {parts[1]}")
        train, block = list(setup.train), setup.block
        vocab = train + list(setup.unlabeled)
        family = build_student(setup.student_spec, setup.teacher, setup.teacher.labels, vocab, setup.language).family
        ranges, base = distill_ranges(block, family, setup.epochs), distill_ranges(block, family, setup.epochs)
        if not setup.epochs:
            ranges.epochs = (int(block["data_epochs_low"]), int(block["data_epochs_high"]))
            ranges.epochs_default = int(block["data_epochs_default"])
            n = int(setup.families["scratch"]["scratch"]["epochs"])
            base.epochs, base.epochs_default = (n, n), n
        if not options.soft_labels:
            ranges.temperature, ranges.soft_weight = (1.0, 1.0), (0.0, 0.0)
        base.temperature, base.soft_weight = (1.0, 1.0), (0.0, 0.0)
        facts = {"augmented": made.augmented, "unlabeled": made.unlabeled, "pos_replacement": made.pos_used,
                 "parts": [str(p) for p in parts], "augment": asdict(config)}
        return cls(setup.teacher, setup.student_spec, train, made.labeled, vocab, setup.dev, setup.language,
                   setup.batch_size or 64, setup.seed, ranges, base, soft_labels=options.soft_labels,
                   patience=setup.patience, metric=setup.metric, facts=facts)

    def new_student(self) -> TaskModel:
        return build_student(self.student_spec, self.teacher, self.teacher.labels, self.vocab_examples, self.language)

    def config(self, lr: float, epochs: float) -> TrialConfig:
        return TrialConfig(learning_rate=lr, batch_size=self.batch_size, epochs=epochs, seed=self.seed,
                           patience=self.patience, metric=self.metric)

    def prepare_soft(self, batch_size: int = 256) -> None:
        if self.soft_labels and self.cache is None:
            self.cache = teacher_outputs(self.teacher, self.train + self.extra, batch_size)

    def distill_plan(self, trial: optuna.Trial) -> Plan:
        p = suggest(trial, self.ranges, distill=self.soft_labels)
        torch.manual_seed(self.seed + trial.number)
        student = self.new_student()
        data = self.train + self.extra
        model: TaskModel = student
        if self.soft_labels:
            self.prepare_soft()
            model = DistillStudent(student, cache=self.cache, temperature=p["temperature"],
                                   soft_weight=p["soft_weight"])
        return Plan(student=student, stages=[Stage("data", model, self.config(p["learning_rate"], p["epochs"]), data)])

    def baseline_plan(self, trial: optuna.Trial) -> Plan:
        p = suggest(trial, self.baseline_ranges, distill=False)
        torch.manual_seed(self.seed + trial.number)
        student = self.new_student()
        return Plan(student=student, stages=[Stage("fine-tune", student, self.config(p["learning_rate"], p["epochs"]),
                                                   self.train)])
