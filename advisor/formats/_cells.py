"""One record's cells as an example's fields: the value of a role, with a message naming the line."""

from __future__ import annotations

import json
from typing import Any

from advisor.dataset import Example
from advisor.formats._base import ReadContext, is_number

Record = tuple[int, dict[str, Any]]  # (line, {key: value})
Made = tuple[list[Example], list[str]]  # the examples and their label names in a stable order


def col(key: str) -> str:
    """A column's name for messages: 'label', or 'column 2' when the file has no header."""
    return f"column {int(key) + 1}" if key.isdigit() else repr(key)


def value(ctx: ReadContext, line: int, record: dict[str, Any], key: str, what: str) -> str:
    v = record.get(key)
    if type(v) is str:
        s = v.strip()
        if s:
            return s
    if v is None or isinstance(v, str):
        raise ctx.error(line, f"the {what} ({col(key)}) is empty or missing",
                        f"give every row a {what}, or remove the row")
    if isinstance(v, list | dict):
        raise ctx.error(line, f"the {what} ({col(key)}) is a JSON {'list' if isinstance(v, list) else 'object'}, "
                        "expected one value",
                        "give one value, or pass the task that reads lists (ABS-3 labels, ABS-6 tags)")
    return json.dumps(v, ensure_ascii=False)  # a JSON number or boolean: 1, 0.5, true


def need(roles: dict[str, str], ctx: ReadContext, *names: str) -> str:
    for n in names:
        if n in roles:
            return roles[n]
    raise ctx.incompatible(f"no {' or '.join(names)} column", f"name the columns for {ctx.wanted} "
                           "(see the guide, section 2.1), or leave out the task to let the reader detect it")


def numeric_value(v: Any) -> bool:
    return (isinstance(v, int | float) and not isinstance(v, bool)) or (isinstance(v, str) and is_number(v))


def label_order(labels: set[str]) -> list[str]:
    if all(is_number(x) for x in labels):
        return sorted(labels, key=float)
    return sorted(labels)
