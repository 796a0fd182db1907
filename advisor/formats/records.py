"""Records with named or positional columns -> a Dataset: roles, features, the task, then its maker."""

from __future__ import annotations

from typing import Any

from advisor.dataset import Dataset, Example
from advisor.formats._base import ReadContext, is_number
from advisor.formats._cells import Record, col, numeric_value
from advisor.formats.makers import MAKERS
from advisor.formats.roles import roles as roles_of
from advisor.formats.tasks import TASK_NAMES
from presets.catalog import TaskId


def read_records(records: list[Record], fmt: str, ctx: ReadContext) -> Dataset:
    if not records:
        raise ctx.error(None, "no records", 'write one JSON object a line, e.g. {"text": "...", "label": "pos"}')
    keys: list[str] = []
    for _, r in records[:50]:
        keys.extend(k for k in r if k not in keys)
    if {"entities", "relations"} <= {k.strip().lower() for k in keys}:
        # ABS-10's format (presets/tasks.toml): read as anything else, its relation dicts became one label string
        raise ctx.error(records[0][0], "entity-relation records (text, entities, relations): the ABS-10 format, "
                        "which is two tasks, not one label",
                        "`automl run --data FILE` trains it as the SPLIT-2 pipeline (entities as sequence "
                        "labeling, ABS-6, then relations as classification, ABS-1); to inspect, one file each")
    return build(records, roles_of(keys, ctx), fmt, ctx, None)


def build(records: list[Record], roles: dict[str, str], fmt: str, ctx: ReadContext,
          header: list[str] | None) -> Dataset:
    if not {"label", "labels", "tags", "target", "context"} & roles.keys():
        last = [k for k in roles if k.startswith("feature:")][-1:]
        if last and ("text" in roles or "tokens" in roles):
            roles["label"] = roles.pop(last[0])
            ctx.notes.append(f"no column named label: the last column, {roles['label']!r}, is read as the label")
    records = _skip_empty_texts(records, roles, ctx)
    features = _feature_keys(records, roles, ctx)
    task = ctx.wanted or _natural_task(records, roles, features, ctx)
    if ctx.wanted:
        ctx.notes.append(f"task {ctx.wanted} ({TASK_NAMES[ctx.wanted]}) given by the caller, not detected")
    examples, label_names = MAKERS[task](records, roles, features, ctx)
    if task in (TaskId.ABS_2, TaskId.ABS_5):
        task = _pair_task(examples, ctx)
    return Dataset(ctx.name, task, fmt, examples, label_names=label_names, header=header, notes=ctx.notes)


def _skip_empty_texts(records: list[Record], roles: dict[str, str], ctx: ReadContext) -> list[Record]:
    """Rows whose text is empty carry nothing to learn from: skipped, and said so (real corpora have a few)."""
    key = roles.get("text") or roles.get("context")
    if key is None or "tokens" in roles:
        return records

    def empty(v: Any) -> bool:
        return v is None or (isinstance(v, str) and not v.strip())

    kept = [(ln, r) for ln, r in records if not empty(r.get(key))]
    if len(kept) < len(records):
        if not kept:
            raise ctx.error(records[0][0], f"every text ({col(key)}) is empty", "give the texts")
        lines = [ln for ln, r in records if empty(r.get(key))]
        shown = ", ".join(map(str, lines[:10])) + (", ..." if len(lines) > 10 else "")
        ctx.notes.append(f"skipped {len(lines)} rows with an empty text (lines {shown})")
    return kept


def _feature_keys(records: list[Record], roles: dict[str, str], ctx: ReadContext) -> list[str]:
    out, ignored = [], []
    for role, key in roles.items():
        if not role.startswith("feature:"):
            continue
        values = [r.get(key) for _, r in records]
        if all(numeric_value(v) or v in ("", None) for v in values) and any(numeric_value(v) for v in values):
            out.append(key)
        else:
            ignored.append(key)
    if "features" in roles:
        out.append(roles["features"])
    if ignored:
        ctx.notes.append(f"columns ignored (neither a known name nor numeric): {', '.join(ignored)}")
    return out


def _natural_task(records: list[Record], roles: dict[str, str], features: list[str], ctx: ReadContext) -> TaskId:
    if "context" in roles:
        return TaskId.ABS_9
    if "tokens" in roles or "tags" in roles:
        return TaskId.ABS_6
    if "target" in roles:
        return TaskId.ABS_7
    if "labels" in roles:
        return TaskId.ABS_3
    if "label" in roles:
        if "text_b" in roles:
            return TaskId.ABS_2  # or ABS-5: decided on the labels by _pair_task
        if any(isinstance(r.get(roles["label"]), list) for _, r in records):
            return TaskId.ABS_3
        return TaskId.ABS_4 if features else TaskId.ABS_1
    found = ", ".join(k for k in roles.values()) or "none"
    raise ctx.error(records[0][0], f"no label, tags, target or answer column (columns: {found})",
                    "name the columns: text and label (ABS-1), text_a, text_b and label (ABS-2/5), text and "
                    "labels (ABS-3), tokens and tags (ABS-6), src and tgt (ABS-7), context, question and "
                    "answers (ABS-9)")


def _pair_task(examples: list[Example], ctx: ReadContext) -> str:
    """ABS-5 when the labels are 0/1 or decimal scores, else ABS-2; a forced task wins."""
    labels = {e.label or "" for e in examples}
    numeric = all(is_number(x) for x in labels)
    scores = numeric and any(not float(x).is_integer() for x in labels)
    binary = numeric and {float(x) for x in labels} <= {0.0, 1.0}
    if ctx.wanted:
        if ctx.wanted == TaskId.ABS_5 and not numeric:
            raise ctx.incompatible(f"the labels are not 0/1 or scores ({', '.join(sorted(labels)[:5])})")
        return ctx.wanted
    if scores:
        ctx.notes.append("pair labels are decimal scores: text matching, a similarity regression (ABS-5)")
        return TaskId.ABS_5
    if binary:
        ctx.notes.append("pair labels are all 0/1: read as text matching, similar or not (ABS-5); pass the task "
                         "ABS-2 if they are two classes of a pair classification")
        return TaskId.ABS_5
    ctx.notes.append(f"pair labels are {len(labels)} classes: sentence-pair classification (ABS-2)")
    return TaskId.ABS_2
