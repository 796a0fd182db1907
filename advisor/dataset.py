"""The in-memory form of a data file in one of the guide's task formats.

Shared by `advisor inspect` (which reads and describes it) and `automl` (which trains on it), so
a file is parsed by one reader only. Pure Python: no numpy, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from presets.catalog import TaskId

# Readable names of the catalog's task ids (presets/catalog.py; numbered as the ABS rules of presets/rules.toml).
SINGLE_TEXT_CLASSIFICATION = TaskId.ABS_1
PAIR_CLASSIFICATION = TaskId.ABS_2
MULTI_LABEL = TaskId.ABS_3
MIXED_FEATURES = TaskId.ABS_4
TEXT_MATCHING = TaskId.ABS_5
SEQUENCE_LABELING = TaskId.ABS_6
TEXT_GENERATION = TaskId.ABS_7
LANGUAGE_MODEL = TaskId.ABS_8
READING_COMPREHENSION = TaskId.ABS_9
MULTI_TASK = TaskId.ABS_10


@dataclass(frozen=True)
class Example:
    """One row. Which fields are filled depends on the task:

    ABS-1: text, label.  ABS-2 / ABS-5: text, text_b, label (ABS-5: "0"/"1" or a score like "0.83").
    ABS-3: text, labels (the names of the labels that apply).  ABS-4: text, features, label.
    ABS-6: tokens, tags (same length; text is "".join or " ".join of tokens).
    ABS-7: text, target.  ABS-8: text.  ABS-9: text (context), text_b (question), answer, answer_start (the
    first gold answer: trained on), answers (every gold answer's text: scored against, the best counting).
    """

    text: str
    text_b: str | None = None
    label: str | None = None
    labels: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    target: str | None = None
    features: tuple[float, ...] = ()
    answer: str | None = None
    answer_start: int | None = None
    answers: tuple[str, ...] = ()
    line: int = 0  # 1-based line in the source file, for messages


@dataclass
class Dataset:
    """A parsed data file: its task abstraction, its rows, and how it was read."""

    path: str
    task: str  # an ABS id
    format: str  # "tsv", "conll", "csv", "jsonl", "squad", ...
    examples: list[Example]
    label_names: list[str] = field(default_factory=list)  # every label, in a stable order
    header: list[str] | None = None  # the header line, when the file had one
    notes: list[str] = field(default_factory=list)  # how ambiguous choices were made

    def __len__(self) -> int:
        return len(self.examples)
