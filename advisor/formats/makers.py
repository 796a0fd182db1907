"""Records (rows of a table, JSON objects) with known column roles -> the examples of one task.

One maker per task abstraction; `MAKERS` maps a task id to its maker.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from advisor.dataset import Example
from advisor.formats._base import ReadContext, cut, tag_names, tagged
from advisor.formats._cells import Made, Record, col, label_order, need, numeric_value, value
from advisor.formats.roles import list_separator
from advisor.formats.squad import all_answers, first_answer
from presets.catalog import TaskId

Maker = Callable[[list[Record], dict[str, str], list[str], ReadContext], Made]


def make_single(records: list[Record], roles: dict[str, str], features: list[str], ctx: ReadContext) -> Made:
    tk, lk = need(roles, ctx, "text"), need(roles, ctx, "label", "labels")
    if features and ctx.wanted == TaskId.ABS_1:
        ctx.notes.append(f"numeric columns ignored (task ABS-1): {', '.join(map(col, features))}")
    examples = [Example(text=value(ctx, ln, r, tk, "text"), label=value(ctx, ln, r, lk, "label"), line=ln)
                for ln, r in records]
    return examples, label_order({e.label for e in examples if e.label is not None})


def make_features(records: list[Record], roles: dict[str, str], features: list[str], ctx: ReadContext) -> Made:
    tk, lk = need(roles, ctx, "text"), need(roles, ctx, "label")
    if not features:
        raise ctx.incompatible("no numeric feature columns")
    examples = []
    for ln, r in records:
        feats: list[float] = []
        for key in features:
            v = r.get(key)
            if isinstance(v, list):
                if not all(numeric_value(x) for x in v):
                    raise ctx.error(ln, f"{col(key)} holds a value that is not a number", "give numbers only")
                feats.extend(float(x) for x in v)
            elif numeric_value(v):
                feats.append(float(v))  # type: ignore[arg-type]
            else:
                raise ctx.error(ln, f"feature {col(key)} is empty or not a number ({v!r})",
                                "fill it in (e.g. 0) or drop the column")
        examples.append(Example(text=value(ctx, ln, r, tk, "text"), features=tuple(feats),
                                label=value(ctx, ln, r, lk, "label"), line=ln))
    ctx.notes.append(f"numeric feature columns: {', '.join(map(col, features))} (ABS-4)")
    return examples, label_order({e.label for e in examples if e.label is not None})


def make_pair(records: list[Record], roles: dict[str, str], features: list[str], ctx: ReadContext) -> Made:
    tk, bk, lk = need(roles, ctx, "text"), need(roles, ctx, "text_b", "question"), need(roles, ctx, "label")
    examples = [Example(text=value(ctx, ln, r, tk, "text"), text_b=value(ctx, ln, r, bk, "second text"),
                        label=value(ctx, ln, r, lk, "label"), line=ln) for ln, r in records]
    return examples, label_order({e.label for e in examples if e.label is not None})


def make_multilabel(records: list[Record], roles: dict[str, str], features: list[str], ctx: ReadContext) -> Made:
    tk, lk = need(roles, ctx, "text"), need(roles, ctx, "labels", "label")
    vectors = _zero_one_vectors([r.get(lk) for _, r in records])
    if vectors:
        return _from_vectors(records, vectors, tk, ctx)
    strings = [v.strip() for _, r in records if isinstance(v := r.get(lk), str)]
    sep = list_separator(strings) if strings else None
    if strings and all(s.startswith("[") for s in strings):
        sep = None
    examples = []
    for ln, r in records:
        labels = _label_list(ctx, ln, r.get(lk), lk, sep)  # before the text: a broken list is named first
        examples.append(Example(text=value(ctx, ln, r, tk, "text"), labels=labels, line=ln))
    if sep and not any(f"separated by {sep!r}" in n for n in ctx.notes):
        ctx.notes.append(f"label lists split on {sep!r}")
    return examples, sorted({x for e in examples for x in e.labels})


def _zero_one_vectors(raw: list[Any]) -> list[list[str]]:
    """The label cells as 0/1 vectors (JSON lists or space-separated), or [] when they are not."""
    if all(isinstance(v, list) and v and all(x in (0, 1) and not isinstance(x, bool) for x in v) for v in raw):
        return [[str(x) for x in v] for v in raw]
    if all(isinstance(v, str) for v in raw):
        split = [str(v).split() for v in raw]
        if all(s and set(s) <= {"0", "1"} for s in split) and Counter(map(len, split)).most_common(1)[0][0] >= 2:
            return split
    return []


def _from_vectors(records: list[Record], vectors: list[list[str]], tk: str, ctx: ReadContext) -> Made:
    size = Counter(len(v) for v in vectors).most_common(1)[0][0]
    examples = []
    for (ln, r), vec in zip(records, vectors, strict=True):
        if len(vec) != size:
            raise ctx.error(ln, f"the label vector has {len(vec)} values, expected {size}",
                            f"give every row {size} space-separated 0/1 values, one per label")
        examples.append(Example(text=value(ctx, ln, r, tk, "text"),
                                labels=tuple(str(i) for i, x in enumerate(vec) if x == "1"), line=ln))
    if not any("0/1 vector" in n for n in ctx.notes):
        ctx.notes.append(f"labels are 0/1 vectors of {size}: label names are the positions 0..{size - 1}")
    return examples, [str(i) for i in range(size)]


def _label_list(ctx: ReadContext, ln: int, v: Any, lk: str, sep: str | None) -> tuple[str, ...]:
    """One row's labels from a JSON list (or its text), a separated string, or a single value."""
    if isinstance(v, str) and v.strip().startswith("["):
        try:
            v = json.loads(v)
        except json.JSONDecodeError as e:
            raise ctx.error(ln, f"the label list {cut(v)!r} is broken JSON ({e.msg})",
                            'write it as ["a", "b"], or as a,b') from None
    if isinstance(v, list):
        return tuple(str(x).strip() for x in v if str(x).strip())
    if isinstance(v, str):
        return tuple(x.strip() for x in (v.split(sep) if sep else [v]) if x.strip())
    if v is None:
        raise ctx.error(ln, f"the labels ({col(lk)}) are missing", "give every row its labels (an empty list is fine)")
    if isinstance(v, int | float):
        return (str(v),)
    raise ctx.error(ln, f"the labels ({col(lk)}) are a JSON object", 'give a list of names: ["a", "b"]')


def make_tagged(records: list[Record], roles: dict[str, str], features: list[str], ctx: ReadContext) -> Made:
    gk = need(roles, ctx, "tags", "labels", "label")
    kk = roles.get("tokens") or need(roles, ctx, "text")
    examples = []
    for ln, r in records:
        tags = _seq(r.get(gk))
        tv = r.get(kk)
        tokens = _seq(tv)
        if not tags:
            raise ctx.error(ln, f"no tags ({col(gk)} is empty)", "give one tag per token, separated by spaces")
        if len(tokens) != len(tags) and isinstance(tv, str) and len(tv.strip()) == len(tags):
            tokens = list(tv.strip())  # unsegmented characters: 海钓比赛<TAB>O O B-LOC I-LOC
        if len(tokens) != len(tags):
            raise ctx.error(ln, f"{len(tokens)} tokens but {len(tags)} tags",
                            "give exactly one tag per token: `海 钓 比 赛<TAB>O O O O` (tokens and tags "
                            "separated by spaces, a tab between them)")
        examples.append(tagged(tokens, tags, ln))
    return examples, tag_names(examples)


def _seq(v: Any) -> list[str]:
    if isinstance(v, list):
        return [str(x) for x in v]
    if isinstance(v, str):
        return v.replace("\x02", " ").split()  # \x02: PaddleNLP's separator
    return []


def make_target(records: list[Record], roles: dict[str, str], features: list[str], ctx: ReadContext) -> Made:
    tk, gk = need(roles, ctx, "text"), need(roles, ctx, "target", "label")
    return [Example(text=value(ctx, ln, r, tk, "source text"), target=value(ctx, ln, r, gk, "target text"),
                    line=ln) for ln, r in records], []


def make_lm(records: list[Record], roles: dict[str, str], features: list[str], ctx: ReadContext) -> Made:
    tk = need(roles, ctx, "text")
    if len([k for k in roles if not k.startswith("feature:")]) > 1:
        ctx.notes.append("task ABS-8: only the text is read, other columns ignored")
    return [Example(text=value(ctx, ln, r, tk, "text"), line=ln) for ln, r in records], []


def make_mrc(records: list[Record], roles: dict[str, str], features: list[str], ctx: ReadContext) -> Made:
    ck, qk = need(roles, ctx, "context", "text"), need(roles, ctx, "question", "text_b")
    examples = []
    for ln, r in records:
        context = value(ctx, ln, r, ck, "context")
        golds = r.get(roles.get("answers", ""))
        if golds is not None:
            answer, start = first_answer(golds, context)
        else:  # "answer": "...", optionally "answer_start": 17
            golds = r.get(roles.get("answer", ""))
            answer, start = first_answer(golds, context)
            given = r.get(roles.get("answer_start", ""))
            if answer is not None and isinstance(given, int) and not isinstance(given, bool):
                start = given
        examples.append(Example(text=context, text_b=value(ctx, ln, r, qk, "question"), answer=answer,
                                answer_start=start, answers=all_answers(golds), line=ln))
    return examples, []


MAKERS: dict[str, Maker] = {
    TaskId.ABS_1: make_single,
    TaskId.ABS_2: make_pair,
    TaskId.ABS_5: make_pair,
    TaskId.ABS_3: make_multilabel,
    TaskId.ABS_4: make_features,
    TaskId.ABS_6: make_tagged,
    TaskId.ABS_7: make_target,
    TaskId.ABS_8: make_lm,
    TaskId.ABS_9: make_mrc,
}
