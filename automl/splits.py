"""Train/dev/test for a run: read with the advisor's readers, split when a file is missing, checked."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from advisor.dataset import Dataset, Example
from advisor.errors import UserError
from advisor.from_data import language_of
from automl.results import DataChecks
from presets.catalog import task as task_type
from presets.catalog import tasks

HOLDOUT = 0.1  # dev and test each take 10% of train when not given: the guide's usual 80/10/10


@dataclass
class Splits:
    task: str
    train: list[Example]
    dev: list[Example]
    test: list[Example]
    language: str
    files: dict[str, str]
    notes: list[str] = field(default_factory=list)
    checks: DataChecks | None = None  # duplicates and overlap between the splits (`check_data`)


def check_data(splits: Splits) -> DataChecks:
    """`advisor inspect`'s duplicate and train/dev/test overlap checks, on the splits as the run uses them."""
    from advisor.inspection import check_splits

    return DataChecks.of(check_splits({"train": splits.train, "dev": splits.dev, "test": splits.test}))


def detect_language(examples: list[Example], sample: int = 500) -> str:
    """zh when CJK characters are a large share of the letters, else en (the tiers we ship)."""
    return language_of([(e.text or "") + (e.text_b or "") for e in examples[:sample]])  # the advisor's reading


def _holdout(examples: list[Example], n: int, seed: int, what: str) -> tuple[list[Example], list[Example]]:
    shuffled = list(examples)
    random.Random(f"{seed}-{what}").shuffle(shuffled)
    return shuffled[n:], shuffled[:n]


def check_supported(task: str) -> None:
    kind = task_type(task)
    if not kind.trainable:
        supported = ", ".join(f"{t.id} {t.name}" for t in tasks().values() if t.trainable)
        raise UserError(f"automl cannot train {task} ({kind.name}) yet: {kind.unsupported_hint}",
                        f"Supported: {supported}; `advisor recommend` explains how to decompose other tasks "
                        "into these.")


def _check_answers(task: str, data: Dataset) -> None:
    """ABS-9: a file with unanswerable questions is refused by its own name, before any split."""
    if task_type(task).is_span:
        from automl.labels import refuse_unanswerable

        refuse_unanswerable(data.path, data.examples)


def load_splits(train: Path, dev: Path | None, test: Path | None, task: str | None, seed: int) -> Splits:
    from advisor.formats import read_dataset

    train_set = read_dataset(str(train), task=task)
    task = train_set.task
    check_supported(task)
    _check_answers(task, train_set)
    notes = list(train_set.notes)
    files = {"train": str(train)}
    rows = list(train_set.examples)
    held = max(1, round(len(rows) * HOLDOUT))  # of the whole train file, for dev and test alike

    def other(path: Path | None, name: str) -> Dataset | None:
        if path is None:
            return None
        ds = read_dataset(str(path), task=task)
        if not ds.examples:
            raise UserError(f"{path}: the {name} set is empty.", f"Give a {name} file with rows, or leave --{name} out for a seeded split.")
        files[name] = str(path)
        _check_answers(task, ds)
        return ds

    dev_set, test_set = other(dev, "dev"), other(test, "test")
    if test_set is None:
        rows, test_rows = _holdout(rows, held, seed, "test")
        notes.append(f"no test file: a seeded {HOLDOUT:.0%} of train ({len(test_rows):,} rows, seed {seed}) is the test set")
    else:
        test_rows = test_set.examples
    if dev_set is None:
        rows, dev_rows = _holdout(rows, held, seed, "dev")
        notes.append(f"no dev file: a seeded {HOLDOUT:.0%} of train ({len(dev_rows):,} rows, seed {seed}) is the dev set")
    else:
        dev_rows = dev_set.examples
    if len(rows) < 2:
        raise UserError(f"{train}: only {len(rows)} training row(s) left.", "Give at least a few hundred labeled rows.")
    splits = Splits(task=task, train=rows, dev=dev_rows, test=test_rows, language=detect_language(rows), files=files, notes=notes)
    splits.checks = check_data(splits)
    return splits
