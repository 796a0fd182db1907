"""A request body as examples, or a `BadRequest` that says what is wrong and how to send it.

    {"texts": ["a review", ...]}                         one text a row (ABS-1, 3, 4 with "features")
    {"pairs": [["text a", "text b"], ...]}               pair tasks (ABS-2, ABS-5)
    {"texts": ["海 钓 比 赛", ...]} or {"tokens": [["海", "钓"], ...]}   tagging (ABS-6): a text is split at
                                                         spaces, or into characters when it has none
    {"questions": [{"question": "...", "context": "..."}, ...]}   reading comprehension (ABS-9)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from advisor.dataset import Example
from presets.catalog import task as task_type


@dataclass(frozen=True)
class Limits:
    """What one request may carry. The defaults keep a request to ~100 ms of a small model's time and a
    body under a megabyte; a client with more sends several requests (they are batched together anyway)."""

    max_body_bytes: int = 1_000_000
    max_items: int = 256
    max_chars: int = 10_000


class BadRequest(Exception):
    """A client error: `status` (4xx) and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_request(body: bytes, task: str, limits: Limits = Limits(), n_features: int = 0) -> list[Example]:
    """The examples a POST /predict body asks about, or BadRequest (400 syntax, 413 size, 422 content).
    `n_features`: numbers a text comes with (a model trained on text plus numeric features)."""
    if len(body) > limits.max_body_bytes:
        raise BadRequest(413, f"the body has {len(body):,} bytes; the limit is {limits.max_body_bytes:,}: "
                              "send fewer texts a request")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(400, f"the body is not UTF-8 JSON ({error}): send {_shape(task, n_features)}") from None
    if not isinstance(data, dict):
        raise BadRequest(422, f"the body must be a JSON object, not {type(data).__name__}: send {_shape(task, n_features)}")
    kind = task_type(task)
    key = "pairs" if kind.is_pair else ("tokens" if kind.is_tagging and "tokens" in data else "texts")
    if kind.is_span:
        key = "questions"
    items = data.get(key)
    if items is None:
        raise BadRequest(422, f"missing field {key!r}: send {_shape(task, n_features)}")
    if not isinstance(items, list) or not items:
        raise BadRequest(422, f"{key!r} must be a non-empty list: send {_shape(task, n_features)}")
    if len(items) > limits.max_items:
        raise BadRequest(413, f"{len(items):,} items in one request; the limit is {limits.max_items:,}")
    features = _features(data.get("features"), len(items), n_features) if n_features else None
    examples = []
    for i, item in enumerate(items):
        example = _example(key, item, i, kind.is_tagging, limits)
        if features is not None:
            example = Example(text=example.text, text_b=example.text_b, features=features[i])
        examples.append(example)
    return examples


def _example(key: str, item: Any, i: int, tagging: bool, limits: Limits) -> Example:
    where = f"{key}[{i}]"
    if key == "questions":
        if not (isinstance(item, dict) and all(isinstance(item.get(k), str) and item[k].strip()
                                               for k in ("question", "context"))):
            raise BadRequest(422, f'{where} must be an object with non-empty strings "question" and "context"')
        _check_length(where, item["question"] + item["context"], limits)
        return Example(text=item["context"], text_b=item["question"])
    if key == "pairs":
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(t, str) for t in item)):
            raise BadRequest(422, f"{where} must be a list of two strings, [text_a, text_b]")
        _check_length(where, item[0] + item[1], limits)
        return Example(text=item[0], text_b=item[1])
    if key == "tokens":
        if not (isinstance(item, list) and item and all(isinstance(t, str) and t for t in item)):
            raise BadRequest(422, f"{where} must be a non-empty list of non-empty strings")
        _check_length(where, "".join(item), limits)
        return Example(text=" ".join(item), tokens=tuple(item))
    if not isinstance(item, str):
        raise BadRequest(422, f"{where} must be a string, not {type(item).__name__}")
    if not item.strip():
        raise BadRequest(422, f"{where} is empty")
    _check_length(where, item, limits)
    if tagging:
        return Example(text=item, tokens=tuple(item.split()) if " " in item.strip() else tuple(item.strip()))
    return Example(text=item)


def _features(value: Any, n: int, width: int) -> list[tuple[float, ...]]:
    if not isinstance(value, list) or len(value) != n:
        raise BadRequest(422, f"'features' must be a list with one list of {width} numbers per text ({n})")
    rows = []
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != width \
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in row):
            raise BadRequest(422, f"features[{i}] must be a list of {width} numbers")
        rows.append(tuple(float(v) for v in row))
    return rows


def _check_length(where: str, text: str, limits: Limits) -> None:
    if len(text) > limits.max_chars:
        raise BadRequest(413, f"{where} has {len(text):,} characters; the limit is {limits.max_chars:,}")


def _shape(task: str, n_features: int = 0) -> str:
    kind = task_type(task)
    if kind.is_span:
        return '{"questions": [{"question": "...", "context": "..."}, ...]}'
    if kind.is_pair:
        return '{"pairs": [["text a", "text b"], ...]}'
    if kind.is_tagging:
        return '{"texts": ["tokens separated by spaces", ...]} or {"tokens": [["a", "b"], ...]}'
    if n_features:
        return '{"texts": ["...", ...], "features": [[1.0, 2.0], ...]}'
    return '{"texts": ["...", ...]}'
