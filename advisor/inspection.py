"""What is in these data files, and what is wrong with them: the engine of `advisor inspect FILE [FILE...]`.

`inspect_files(paths, task=None)` reads each file with `advisor.formats.read_dataset` and reports, per file:
the task abstraction it was read as, rows, labels and examples per label (entities per type for sequence
labeling), text lengths and a max_length to train with, exact duplicate rows, texts with conflicting labels
and labels under the guide's DATA-6 floor; across the files: texts shared between each pair (train/dev/test
leakage) and files that disagree on the task. advisor/render_inspection.py prints it with rich. Pure Python.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from advisor.dataset import Dataset, Example
from advisor.formats import TASK_NAMES, read_dataset
from presets.catalog import MAX_POSITIONS, TaskType
from presets.catalog import task as task_type

# DATA-6: classification and sequence labeling need at least 200 examples per label ...
MIN_PER_LABEL = 200
# ... and 50 classes need at least 10,000 examples.
MANY_CLASSES, MANY_CLASSES_ROWS = 50, 10_000
# max_length: p95 of the lengths, rounded up to a multiple of 16 (kernels and padding like multiples of
# 8/16), at most the position limit of the BERT-family encoders of presets/models.toml (512, ERNIE included).
LENGTH_STEP, LENGTH_CAP = 16, MAX_POSITIONS
SHOWN = 3  # examples kept per finding


@dataclass
class LengthStats:
    """Lengths in characters (for pairs the two texts summed). Percentiles are nearest-rank."""

    min: int
    mean: float
    p50: int
    p90: int
    p95: int
    p99: int
    max: int


@dataclass
class Repeat:
    """A row found more than once (a duplicate), or a text found with different labels (a conflict)."""

    text: str
    text_b: str | None
    count: int  # rows holding it
    lines: list[int]  # the first few of them, 1-based (0 where the format has no lines, e.g. SQuAD JSON)
    labels: dict[str, int] = field(default_factory=dict)  # conflicts: each label and its rows


@dataclass
class FileReport:
    path: str
    format: str
    task: str  # ABS id
    task_name: str
    notes: list[str]  # how the reader decided (from Dataset.notes)
    rows: int
    label_count: int  # distinct labels (ABS-6: entity types, or tags when they carry no type)
    examples_per_label: dict[str, int]  # most frequent first; ABS-3 counts rows holding each label
    tag_counts: dict[str, int]  # ABS-6: tokens per tag
    length_of: str  # what was measured: "text", "text_a + text_b", ...
    lengths: LengthStats
    target_lengths: LengthStats | None  # ABS-7 only
    suggested_max_length: int
    duplicate_rows: int  # rows that repeat an earlier row exactly
    duplicate_examples: list[Repeat]
    conflicting_texts: int | None  # texts found with different labels; None where that is normal (ABS-7/8/9)
    conflicting_rows: int | None
    conflict_examples: list[Repeat]
    rare_labels: dict[str, int]  # labels with fewer than MIN_PER_LABEL examples (DATA-6)
    broken_entities: int  # ABS-6: I-/E- tags that continue no entity of their type
    warnings: list[str]


@dataclass
class Overlap:
    """Texts found in two files: a train/dev/test leak when the files are splits of one data set."""

    file_a: str
    file_b: str
    shared_texts: int  # distinct texts (text, or text_a + text_b) found in both
    share_of_smaller: float  # shared_texts / distinct texts of the smaller file
    examples: list[str]


@dataclass
class Inspection:
    files: list[FileReport]
    overlaps: list[Overlap]  # one per pair of files, in the order given
    warnings: list[str]  # across files: leakage, task disagreement

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts, lists, str, int, float and None: ready for json.dumps."""
        return asdict(self)


def inspect_files(paths: Sequence[str | Path], task: str | None = None) -> Inspection:
    """Read every file (raising UserError on bad input) and describe it; compare the files pairwise."""
    datasets = [read_dataset(p, task) for p in paths]
    reports = [inspect_dataset(ds) for ds in datasets]
    overlaps: list[Overlap] = []
    warnings: list[str] = []
    by_task: dict[str, list[str]] = defaultdict(list)
    for r in reports:
        by_task[r.task].append(r.path)
    if len(by_task) > 1:
        found = "; ".join(f"{t} ({TASK_NAMES.get(t, '')}): {', '.join(ps)}" for t, ps in by_task.items())
        warnings.append(f"the files disagree on the task: {found}. Splits of one data set must share one format; "
                        "pass the task to read them alike")
    twice = sorted({p for p in map(str, paths) if list(map(str, paths)).count(p) > 1})
    if twice:
        warnings.append(f"given more than once: {', '.join(twice)}")
    keys = [_input_keys(ds.examples) for ds in datasets]
    for i in range(len(datasets)):
        for j in range(i + 1, len(datasets)):
            ov = _overlap(reports[i].path, reports[j].path, keys[i], keys[j], datasets[j].examples)
            overlaps.append(ov)
            if ov.shared_texts:
                warnings.append(f"{ov.file_a} and {ov.file_b} share {ov.shared_texts} texts "
                                f"({ov.share_of_smaller:.1%} of the smaller file): if they are train/dev/test "
                                "splits, the scores on the second are inflated; remove them from one file")
    return Inspection(reports, overlaps, warnings)


@dataclass
class SplitCheck:
    """Duplicates inside each split and texts shared between splits, for the splits a run trains and
    scores on (automl run: given files or seeded holdouts of train)."""

    duplicate_rows: dict[str, int]  # split -> rows that repeat an earlier row of it exactly
    overlaps: list[Overlap]  # one per pair of splits, in the order given
    warnings: list[str]


def check_splits(splits: dict[str, Sequence[Example]]) -> SplitCheck:
    """What `advisor inspect` warns about across train/dev/test files, for splits already read."""
    duplicates: dict[str, int] = {}
    warnings: list[str] = []
    for name, ex in splits.items():
        duplicates[name] = sum(r.count - 1 for r in _duplicates(list(ex)))
        if duplicates[name]:
            warnings.append(f"{name}: {duplicates[name]} duplicate rows ({duplicates[name] / len(ex):.1%}): drop them, "
                            "or copies land in both train and test and inflate the score")
    names = list(splits)
    keys = {name: _input_keys(list(ex)) for name, ex in splits.items()}
    overlaps = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ov = _overlap(a, b, keys[a], keys[b], list(splits[b]))
            overlaps.append(ov)
            if ov.shared_texts:
                warnings.append(f"{a} and {b} share {ov.shared_texts} texts ({ov.share_of_smaller:.1%} of the smaller): "
                                f"the {b} score is inflated; remove them from one of the two")
    return SplitCheck(duplicates, overlaps, warnings)


def inspect_dataset(ds: Dataset) -> FileReport:
    """The per-file part of the inspection, for a Dataset already read."""
    ex = ds.examples
    kind = task_type(ds.task)
    warnings: list[str] = []
    broken = 0
    tag_counts: dict[str, int] = {}
    if kind.is_tagging:
        per_label, broken, tags = _entities(ex)
        tag_counts = dict(tags.most_common())
    elif kind.is_multilabel:
        per_label = Counter(lab for e in ex for lab in e.labels)
        for name in ds.label_names:  # a 0/1-vector label that is never set still counts, with 0
            per_label.setdefault(name, 0)
    elif kind.may_be_score and not _discrete(ex):
        per_label = Counter()  # similarity scores: a regression, no classes
    else:
        per_label = Counter(e.label for e in ex if e.label is not None)
    examples_per_label = dict(sorted(per_label.items(), key=lambda kv: (-kv[1], kv[0])))

    length_of, lengths = input_lengths(ds.task, ex)
    stats = _stats(lengths)
    target = _stats([len(e.target or "") for e in ex]) if kind.output == "free_text" else None
    max_length = min(LENGTH_CAP, max(LENGTH_STEP, math.ceil(stats.p95 / LENGTH_STEP) * LENGTH_STEP))

    dups = _duplicates(ex)
    dup_rows = sum(r.count - 1 for r in dups)
    # Texts, sentences and answer spans: several targets per input are normal, not a conflict.
    conflicts: list[Repeat] | None = _conflicts(kind, ex) if kind.has_labels else None
    rare = {k: v for k, v in examples_per_label.items() if v < MIN_PER_LABEL}

    warnings.extend(n for n in ds.notes if n.startswith("skipped"))  # rows the reader dropped
    if dup_rows:
        warnings.append(f"{dup_rows} duplicate rows ({dup_rows / len(ex):.1%}): drop them before splitting, "
                        "or copies land in both train and test and inflate the score")
    if conflicts:
        rows = sum(c.count for c in conflicts)
        warnings.append(f"{len(conflicts)} texts appear with different labels ({rows} rows): fix or drop them; "
                        "label quality matters more than quantity (QUAL-4)")
    if rare:
        typed = kind.is_tagging and _typed(ex)
        what, unit = ("entity types", "entities") if typed else ("labels", "examples")
        listed = ", ".join(f"{k} ({v})" for k, v in sorted(rare.items(), key=lambda kv: kv[1])[:8])
        more = f", and {len(rare) - 8} more" if len(rare) > 8 else ""
        warnings.append(f"{len(rare)} of {len(examples_per_label)} {what} have fewer than {MIN_PER_LABEL} "
                        f"{unit} (DATA-6, for training data): {listed}{more}")
    if len(examples_per_label) >= MANY_CLASSES and len(ex) < MANY_CLASSES_ROWS:
        warnings.append(f"{len(examples_per_label)} classes but {len(ex)} rows: DATA-6 asks for at least "
                        f"{MANY_CLASSES_ROWS:,} examples with {MANY_CLASSES} classes")
    if broken:
        warnings.append(f"{broken} I-/E- tags continue no entity of their type (an I- after O, or after another "
                        "type): read as the start of a new entity; check the tagging")
    long_rows = sum(n > LENGTH_CAP for n in lengths)
    if long_rows:
        warnings.append(f"{long_rows} rows ({long_rows / len(ex):.1%}) are longer than {LENGTH_CAP} characters "
                        f"(longest {stats.max}): a {LENGTH_CAP}-token encoder cuts them")

    return FileReport(
        path=ds.path, format=ds.format, task=ds.task, task_name=TASK_NAMES.get(ds.task, ""), notes=list(ds.notes),
        rows=len(ex), label_count=len(examples_per_label), examples_per_label=examples_per_label,
        tag_counts=tag_counts, length_of=length_of, lengths=stats, target_lengths=target,
        suggested_max_length=max_length, duplicate_rows=dup_rows, duplicate_examples=dups[:SHOWN],
        conflicting_texts=None if conflicts is None else len(conflicts),
        conflicting_rows=None if conflicts is None else sum(c.count for c in conflicts),
        conflict_examples=(conflicts or [])[:SHOWN], rare_labels=rare, broken_entities=broken, warnings=warnings,
    )


# ------------------------------------------------------------------------------------------ measures


def _discrete(ex: list[Example]) -> bool:
    """Whether matching labels are classes (0/1) rather than scores."""
    return all((e.label or "").strip() in ("0", "1") for e in ex)


def input_lengths(task: str, ex: list[Example]) -> tuple[str, list[int]]:
    """What the length statistics measure for this task (its name) and each example's length in characters."""
    kind = task_type(task)
    if kind.is_pair:
        return "text_a + text_b", [len(e.text) + len(e.text_b or "") for e in ex]
    if kind.input == "passage_and_question":
        return "context + question", [len(e.text) + len(e.text_b or "") for e in ex]
    if kind.output == "free_text":
        return "source", [len(e.text) for e in ex]
    return "text", [len(e.text) for e in ex]


def percentile(sorted_values: Sequence[int], p: float) -> int:
    """Nearest-rank percentile of values sorted ascending: the smallest value with p% of values at or below it."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _stats(values: Iterable[int]) -> LengthStats:
    v = sorted(values)
    if not v:
        return LengthStats(0, 0.0, 0, 0, 0, 0, 0)
    return LengthStats(min=v[0], mean=round(sum(v) / len(v), 1), p50=percentile(v, 50), p90=percentile(v, 90),
                       p95=percentile(v, 95), p99=percentile(v, 99), max=v[-1])


def split_tag(tag: str) -> tuple[str, str] | None:
    """("B", "LOC") for B-LOC / B_LOC; None for O and for tags of no BIO scheme (POS tags, ...)."""
    if len(tag) > 2 and tag[0] in "BIESM" and tag[1] in "-_":
        return tag[0], tag[2:]
    return None


def _typed(ex: list[Example]) -> bool:
    return any(split_tag(t) for t in {t for e in ex for t in e.tags})


def _entities(ex: list[Example]) -> tuple[Counter[str], int, Counter[str]]:
    """Entities per type from BIO/BIOES tags (conlleval's reading: a stray I-X starts an entity), the stray
    continuations, and tokens per tag. Tags with no type (POS, B/M/E/S segmentation) count as labels.

    Counts tag bigrams (previous tag, tag) with C-level zip/Counter, then judges each distinct bigram once:
    a 1.5M-token corpus takes a fraction of a second."""
    tags: Counter[str] = Counter(chain.from_iterable(e.tags for e in ex))
    split = {t: split_tag(t) for t in tags}
    if not any(split.values()):
        return Counter(tags), 0, tags
    bigrams: Counter[tuple[str, str]] = Counter(
        chain.from_iterable(zip(("O", *e.tags), e.tags) for e in ex)  # noqa: B905 (lengths differ by design)
    )
    entities: Counter[str] = Counter()
    broken = 0
    for (prev, cur), n in bigrams.items():
        c = split[cur]
        if c is None:
            continue
        p = split.get(prev)
        if c[0] in "BS":
            entities[c[1]] += n
        elif p is None or p[0] not in "BIM" or p[1] != c[1]:  # I-/E-/M- that continues nothing
            entities[c[1]] += n
            broken += n
    return entities, broken, tags


def _row_key(e: Example) -> Hashable:
    return (e.text, e.text_b, e.label, e.labels, e.tokens, e.tags, e.target, e.features, e.answer, e.answer_start)


def _input_key(e: Example) -> Hashable:
    return (e.text, e.text_b, e.features, e.tokens)


def _output(kind: TaskType, e: Example) -> str:
    if kind.is_multilabel:
        return ",".join(sorted(e.labels)) or "(none)"
    if kind.is_tagging:
        return " ".join(e.tags)
    return e.label or ""


def _duplicates(ex: list[Example]) -> list[Repeat]:
    groups: dict[Hashable, list[Example]] = defaultdict(list)
    for e in ex:
        groups[_row_key(e)].append(e)
    found = [g for g in groups.values() if len(g) > 1]
    found.sort(key=lambda g: (-len(g), g[0].line))
    return [Repeat(g[0].text, g[0].text_b, len(g), [e.line for e in g[:5]]) for g in found]


def _conflicts(kind: TaskType, ex: list[Example]) -> list[Repeat]:
    groups: dict[Hashable, list[Example]] = defaultdict(list)
    for e in ex:
        groups[_input_key(e)].append(e)
    found = []
    for g in groups.values():
        if len(g) == 1:
            continue
        labels = Counter(_output(kind, e) for e in g)
        if len(labels) > 1:
            found.append(Repeat(g[0].text, g[0].text_b, len(g), [e.line for e in g[:5]], dict(labels.most_common())))
    found.sort(key=lambda r: (-r.count, r.lines[0]))
    return found


def _input_keys(ex: list[Example]) -> set[tuple[str, str | None]]:
    return {(e.text, e.text_b) for e in ex}


def _overlap(a: str, b: str, keys_a: set[tuple[str, str | None]], keys_b: set[tuple[str, str | None]],
             examples_b: list[Example]) -> Overlap:
    shared = keys_a & keys_b
    shown: list[str] = []
    for e in examples_b:  # examples in file order, for a stable report
        k = (e.text, e.text_b)
        if k in shared and _show(e) not in shown:
            shown.append(_show(e))
            if len(shown) == SHOWN:
                break
    smaller = min(len(keys_a), len(keys_b)) or 1
    return Overlap(a, b, len(shared), round(len(shared) / smaller, 4), shown)


def _show(e: Example) -> str:
    return e.text if e.text_b is None else f"{e.text} ||| {e.text_b}"
