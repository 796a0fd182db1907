"""What a head predicts, read from the training data, checked against dev and test.

`label_space("ABS-1", train, dev, test)` takes every label from the training data (the first data set) and
refuses a dev or test label the model could never predict, naming the label, the file and the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from advisor.dataset import Dataset, Example
from advisor.errors import UserError
from automl.models.base import LabelSpace
from presets.catalog import task as task_type
from presets.catalog import trainable_tasks

_TAG_PREFIXES = {"B": 0, "I": 1, "E": 2, "L": 2, "S": 3, "U": 3}  # BIO, BIOES, BILOU


def label_space(task: str, *datasets: Dataset | Sequence[Example]) -> LabelSpace:
    """The label space of `task` from the first data set (train); the others (dev, test) are checked.

    ABS-1/2/4: the classes. ABS-3: every label that occurs. ABS-5: ["0", "1"]-like labels are a binary
    class, other numbers a regression score, anything else classes. ABS-6: the tags, with the B-/I- twin of
    every entity type seen in train added (a dev "I-LOC" is no surprise when train has "B-LOC").
    """
    kind = task_type(task)
    if not kind.trainable:
        raise UserError(f"automl cannot train task {task} ({kind.name}): it trains {', '.join(trainable_tasks())}",
                        fix=kind.unsupported_hint or "decompose the problem into one of those tasks (see `advisor recommend`)")
    if not datasets:
        raise ValueError("label_space needs at least the training data")
    train, *others = datasets
    train_path = _path(train, "the training data")
    train_examples = _examples(train)
    if not train_examples:
        raise UserError(f"{train_path} has no examples", fix="give a training file with labeled rows")

    if kind.is_language_model:  # no labels: each sentence is its own target
        return LabelSpace(task, [])
    if kind.is_span:  # ABS-9: no classes; every question needs an answer, in its context for training
        for i, data in enumerate((train, *others)):
            refuse_unanswerable(_path(data, ["the training data", "the dev data", "the test data"][min(i, 2)]),
                                 _examples(data))
        for example in train_examples:
            if example.answer_start is None:
                raise UserError(f"question {example.text_b!r} (line {example.line}) of {train_path} has no answer "
                                "found in its context", fix='give every training question an answer: "answers": '
                                '[{"text": "...", "answer_start": N}] with the text at N in the context')
        return LabelSpace(task, [])
    if kind.is_generation:  # no classes: every row needs its target text
        for path, examples in [(train_path, train_examples)] + [
                (_path(o, ["the dev data", "the test data"][min(i, 1)]), _examples(o)) for i, o in enumerate(others)]:
            for example in examples:
                if not (example.target or "").strip():
                    raise UserError(f"line {example.line} of {path} has no target text",
                                    fix="give every row a source and a target: src<TAB>tgt")
        return LabelSpace(task, [])
    if kind.is_tagging:
        space = LabelSpace(task, _tag_names(_labels_of(task, train_examples, train_path)))
    elif kind.is_multilabel:
        space = LabelSpace(task, _natural_sorted(_labels_of(task, train_examples, train_path)))
    else:
        found = _labels_of(task, train_examples, train_path)
        if kind.may_be_score and _is_regression(found):
            space = LabelSpace(task, [], regression=True)
        else:
            space = LabelSpace(task, _natural_sorted(found))
        if not space.regression and len(space.names) < 2:
            raise UserError(f"{train_path} has only one label ({', '.join(space.names)}): nothing to learn",
                            fix="add examples of the other classes to the training data")

    known = set(space.names)
    for i, other in enumerate(others):
        path = _path(other, ["the dev data", "the test data"][min(i, 1)])
        for example in _examples(other):
            for label in _example_labels(task, example, path):
                if space.regression:
                    if _as_float(label) is None:
                        raise UserError(f"label {label!r} in {path} (line {example.line}) is not a number, "
                                        f"but the scores in {train_path} are",
                                        fix="give every row of a score task a number")
                elif label not in known:
                    raise UserError(
                        f"label {label!r} in {path} (line {example.line}) does not occur in the training data "
                        f"{train_path}: the model can never predict it",
                        fix=f"add examples labeled {label!r} to the training data, or drop those rows from {path}",
                    )
    return space


def refuse_unanswerable(path: str, examples: Sequence[Example]) -> None:
    """SQuAD 2.0's unanswerable questions (is_impossible, empty answers): the span head always answers, so
    they could neither train it nor be scored fairly. One message for all of them."""
    unanswered = [e for e in examples if not e.answer]
    if unanswered:
        raise UserError(f"{len(unanswered)} of {len(examples)} questions in {path} have no answer, e.g. "
                        f"{unanswered[0].text_b!r} (SQuAD 2.0 unanswerable questions: is_impossible or empty "
                        "answers); automl trains and scores extractive reading comprehension, where every "
                        "question's answer is a span of its context",
                        fix=f"drop the unanswerable questions from {path}, or give each its answer")


def _labels_of(task: str, examples: Iterable[Example], path: str) -> set[str]:
    found: set[str] = set()
    for example in examples:
        found.update(_example_labels(task, example, path))
    return found


def _example_labels(task: str, example: Example, path: str) -> Iterable[str]:
    kind = task_type(task)
    if kind.is_tagging:
        if len(example.tags) != len(example.tokens):
            raise UserError(f"line {example.line} of {path} has {len(example.tokens)} tokens but "
                            f"{len(example.tags)} tags", fix="give exactly one tag per token")
        return example.tags
    if kind.is_multilabel:
        return example.labels
    if example.label is None or example.label == "":
        raise UserError(f"line {example.line} of {path} has no label", fix="label every row, or drop it")
    return (example.label,)


def _is_regression(found: set[str]) -> bool:
    values = [_as_float(label) for label in found]
    if any(v is None for v in values):
        return False  # words: classes
    return not (len(found) <= 2 and set(values) <= {0.0, 1.0})


def _as_float(label: str) -> float | None:
    try:
        return float(label)
    except ValueError:
        return None


def _tag_names(tags: set[str]) -> list[str]:
    """"O" first, then by entity type, B before I (E, S for BIOES): a stable order for the head."""
    complete = set(tags)
    for tag in tags:
        prefix, _, kind = tag.partition("-")
        if kind and prefix in ("B", "I"):
            complete.update({f"B-{kind}", f"I-{kind}"})
    complete.add("O")

    def key(tag: str) -> tuple[int, str, int]:
        if tag == "O":
            return (0, "", 0)
        prefix, _, kind = tag.partition("-")
        if kind and prefix in _TAG_PREFIXES:
            return (1, kind, _TAG_PREFIXES[prefix])
        return (1, tag, 9)

    return sorted(complete, key=key)


def _natural_sorted(names: Iterable[str]) -> list[str]:
    """"2" before "10"; "neg" before "pos", "0" before "1": the second of two classes is the positive one."""

    def key(name: str) -> list[tuple[int, int | str]]:
        return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part]

    return sorted(names, key=key)


def _examples(data: Dataset | Sequence[Example]) -> Sequence[Example]:
    return data.examples if isinstance(data, Dataset) else data


def _path(data: Dataset | Sequence[Example], default: str) -> str:
    return data.path if isinstance(data, Dataset) else default
