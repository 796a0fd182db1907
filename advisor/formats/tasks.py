"""A user's `--task` value ("ABS-6", "abs6", "6", "ner") as a task id of the catalog."""

from __future__ import annotations

import re

from advisor.errors import UserError
from presets.catalog import TaskId, tasks

# The few words messages and the inspection use for each task (presets/tasks.toml `short_name`).
TASK_NAMES: dict[str, str] = {str(t.id): t.short_name for t in tasks().values()}

# Plain-word names a user may pass instead of an ABS id (presets/tasks.toml `aliases`).
_TASK_WORDS: dict[str, TaskId] = {word: t.id for t in tasks().values() for word in t.aliases}


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
