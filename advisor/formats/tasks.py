"""A user's `--task` value ("ABS-6", "abs6", "6", "ner") as a task id of the catalog."""

from __future__ import annotations

import re

from advisor.errors import UserError
from presets.catalog import TaskId, tasks

# The few words messages and the inspection use for each task (presets/tasks.toml `short_name`).
TASK_NAMES: dict[str, str] = {str(t.id): t.short_name for t in tasks().values()}

# Plain-word names a user may pass instead of an ABS id.
_TASK_WORDS: dict[str, TaskId] = {
    "classification": TaskId.ABS_1, "cls": TaskId.ABS_1,
    "pair": TaskId.ABS_2, "nli": TaskId.ABS_2,
    "multilabel": TaskId.ABS_3, "multi-label": TaskId.ABS_3,
    "features": TaskId.ABS_4, "mixed": TaskId.ABS_4,
    "matching": TaskId.ABS_5, "similarity": TaskId.ABS_5,
    "ner": TaskId.ABS_6, "tagging": TaskId.ABS_6, "sequence-labeling": TaskId.ABS_6,
    "generation": TaskId.ABS_7, "seq2seq": TaskId.ABS_7,
    "lm": TaskId.ABS_8, "language-model": TaskId.ABS_8,
    "mrc": TaskId.ABS_9, "qa": TaskId.ABS_9, "squad": TaskId.ABS_9,
}


def normalize_task(task: str | None) -> TaskId | None:
    """An ABS id for a user's `--task` value ("ABS-6", "abs6", "6", "ner"), or None when none was given."""
    if task is None or not task.strip():
        return None
    t = task.strip().lower().replace("_", "-")
    m = re.fullmatch(r"(?:abs-?)?(\d{1,2})", t)
    if m and f"ABS-{int(m.group(1))}" in TASK_NAMES:
        tid = TaskId(f"ABS-{int(m.group(1))}")
    elif t in _TASK_WORDS:
        tid = _TASK_WORDS[t]
    else:
        raise UserError(
            f"unknown task {task!r}",
            "use an ABS id, ABS-1 ... ABS-9: " + "; ".join(f"{k} {v}" for k, v in TASK_NAMES.items()
                                                           if k != TaskId.ABS_10),
        )
    if tid == TaskId.ABS_10:
        raise UserError(
            "task ABS-10 (multi-task) has no single file format",
            "inspect each sub-task's file with its own task, e.g. the entities with ABS-6 and the relations "
            "with ABS-1 (the guide's SPLIT-2)",
        )
    return tid
