"""JSON files: SQuAD (`{"data": [...]}`), a list of records, or JSON lines (one object a line)."""

from __future__ import annotations

import json

from advisor.dataset import Dataset
from advisor.formats._base import ReadContext, split_lines
from advisor.formats.records import read_records
from advisor.formats.squad import read_squad

_JSON_EXTENSIONS = (".json", ".jsonl", ".ndjson")
_FIX_LINE = 'each line must be one complete JSON object, e.g. {"text": "...", "label": "pos"}'


class JsonRecords:
    name = "json"

    def sniff(self, text: str, head: list[str], ext: str, wanted: str | None) -> bool:
        return ext in _JSON_EXTENSIONS or (ext not in (".tsv", ".csv") and _json_like(text, head))

    def read(self, text: str, ext: str, ctx: ReadContext) -> Dataset:
        lines = split_lines(text)
        if ext not in (".jsonl", ".ndjson"):
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as e:
                if ext == ".json" or not _first_line_is_object(lines):
                    raise ctx.error(e.lineno, f"broken JSON at column {e.colno}: {e.msg}",
                                    "fix the JSON (a validator such as `python -m json.tool FILE` shows the spot), "
                                    "or write one JSON object a line as .jsonl") from None
            else:
                return _whole(obj, ctx)
        records = []
        for i, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                raise ctx.error(i, f"broken JSON at column {e.colno}: {e.msg}", _FIX_LINE) from None
            if not isinstance(obj, dict):
                raise ctx.error(i, f"a JSON {type(obj).__name__}, not an object", _FIX_LINE)
            records.append((i, obj))
        return read_records(records, "jsonl", ctx)


def _whole(obj: object, ctx: ReadContext) -> Dataset:
    """A file that parses as one JSON value: SQuAD, a list of records, or a single record."""
    if isinstance(obj, dict) and "data" in obj:
        return read_squad(obj, ctx)
    if isinstance(obj, list):
        if not all(isinstance(r, dict) for r in obj):
            raise ctx.error(None, "a JSON list whose items are not all objects",
                            'write a list of records, e.g. [{"text": "...", "label": "pos"}]')
        return read_records([(0, r) for r in obj], "json", ctx)
    if isinstance(obj, dict):
        return read_records([(1, obj)], "jsonl", ctx)
    raise ctx.error(None, f"JSON holding a {type(obj).__name__}, not records",
                    'use SQuAD JSON ({"data": [...]}), a list of records, or one JSON object a line')


def _json_like(text: str, lines: list[str]) -> bool:
    """A file of another extension that holds JSON: starts with { (no tab on its first line), or is a JSON list."""
    first = text.lstrip()[:1]
    if first == "{":
        return "\t" not in next(ln for ln in lines if ln.strip())
    if first == "[":
        try:
            return isinstance(json.loads(text), list)
        except json.JSONDecodeError:
            return False
    return False


def _first_line_is_object(lines: list[str]) -> bool:
    first = next((ln for ln in lines if ln.strip()), "")
    try:
        return isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        return False
