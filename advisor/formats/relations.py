"""The ABS-10 entity-relation format (presets/tasks.toml), read as what it is: two tasks, not one label.

One JSON object a line (or a JSON list of them):
`{"text": "...", "entities": [{"text": "厦门", "type": "LOC", "start": 7}, ...],
  "relations": [{"head": 0, "tail": 1, "type": "adjacent_to"}]}`
`start` is the entity's first character in `text` (`end`, exclusive, may be given instead of or beside
the entity's `text`); `head` and `tail` index the record's `entities`. `read_dataset` refuses this format
(it is no single task, records.py); `read_relations` reads it for the SPLIT-2 pipeline of `automl run`
(automl/pipeline). Pure Python.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import UserError

FORMAT_HINT = ('one JSON object a line: {"text": "...", "entities": [{"text": "厦门", "type": "LOC", "start": 7}], '
               '"relations": [{"head": 0, "tail": 1, "type": "adjacent_to"}]} (presets/tasks.toml, ABS-10)')


@dataclass(frozen=True)
class Entity:
    start: int
    end: int  # exclusive, in characters of the text
    type: str

    def key(self) -> tuple[int, int, str]:
        return (self.start, self.end, self.type)


@dataclass(frozen=True)
class Relation:
    head: int  # index into the record's entities
    tail: int
    type: str


@dataclass(frozen=True)
class RelationRecord:
    text: str
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()
    line: int = 0

    def triples(self) -> set[tuple[tuple[int, int, str], tuple[int, int, str], str]]:
        """Each relation as (head entity, tail entity, type): what end-to-end relation F1 compares."""
        return {(self.entities[r.head].key(), self.entities[r.tail].key(), r.type) for r in self.relations}


@dataclass
class RelationSet:
    path: str
    records: list[RelationRecord]
    notes: list[str] = field(default_factory=list)


def _records(text: str, name: str) -> list[tuple[int, Any]]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            raise UserError(f"{name}, line {e.lineno}: broken JSON at column {e.colno}: {e.msg}", FORMAT_HINT) from None
        if not isinstance(items, list):
            raise UserError(f"{name}: not a list of records", FORMAT_HINT)
        return [(i + 1, item) for i, item in enumerate(items)]
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            try:
                out.append((number, json.loads(raw)))
            except json.JSONDecodeError as e:
                raise UserError(f"{name}, line {number}: not a JSON record ({e.msg} at column {e.colno}), as the ABS-10 "
                                "format wants", FORMAT_HINT) from None
    return out


def is_relation_record(item: Any) -> bool:
    return isinstance(item, dict) and {"entities", "relations"} <= {str(k).strip().lower() for k in item}


def looks_like_relations(path: str | Path) -> bool:
    """Whether the file's first record is in the ABS-10 format (text, entities, relations)."""
    p = Path(path)
    if not p.is_file():
        return False
    try:
        head = p.read_text(encoding="utf-8-sig", errors="replace")[:65536].lstrip()
    except OSError:
        return False
    if head.startswith("["):
        head = head[1:].lstrip()
        try:
            first, _ = json.JSONDecoder().raw_decode(head)
        except json.JSONDecodeError:
            return False
    else:
        line = head.split("\n", 1)[0]
        try:
            first = json.loads(line)
        except json.JSONDecodeError:
            return False
    return is_relation_record(first)


def _entity(item: Any, text: str, where: str) -> Entity:
    if not isinstance(item, dict):
        raise UserError(f"{where}: an entity must be an object", FORMAT_HINT)
    kind, start, surface, end = item.get("type"), item.get("start"), item.get("text"), item.get("end")
    if not isinstance(kind, str) or not kind.strip() or "-" in kind or " " in kind:
        raise UserError(f"{where}: entity type {kind!r} is not a name",
                        'give every entity a "type" without spaces or dashes, e.g. "LOC"')
    if not isinstance(start, int) or isinstance(start, bool):
        raise UserError(f"{where}: entity {surface or kind!r} has no integer \"start\"",
                        'give the first character\'s offset in the text, e.g. "start": 7')
    if end is None and isinstance(surface, str):
        end = start + len(surface)
    if not isinstance(end, int) or not 0 <= start < end <= len(text):
        raise UserError(f"{where}: entity {surface or kind!r} at {start}..{end} lies outside the text "
                        f"({len(text)} characters)", 'give "start" (and "text" or an exclusive "end") within the text')
    if isinstance(surface, str) and text[start:end] != surface:
        found = text.find(surface)
        hint = f" (it is at {found})" if found >= 0 else ""
        raise UserError(f"{where}: entity {surface!r} is not at {start} in the text: it reads "
                        f"{text[start:end]!r} there{hint}", '"start" counts characters from 0 (not bytes, not words)')
    return Entity(start, end, kind.strip())


def _record(number: int, item: Any, name: str) -> RelationRecord:
    where = f"{name}, line {number}"
    if not is_relation_record(item):
        raise UserError(f"{where}: not an entity-relation record (keys: {', '.join(item) if isinstance(item, dict) else type(item).__name__})",
                        FORMAT_HINT)
    item = {str(k).strip().lower(): v for k, v in item.items()}
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise UserError(f"{where}: no text", 'give every record its "text"')
    raw_entities, raw_relations = item.get("entities") or [], item.get("relations") or []
    if not isinstance(raw_entities, list) or not isinstance(raw_relations, list):
        raise UserError(f"{where}: \"entities\" and \"relations\" must be lists", FORMAT_HINT)
    entities = tuple(_entity(e, text, f"{where}, entity {i}") for i, e in enumerate(raw_entities))
    spans = sorted((e.start, e.end) for e in entities)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        if start < end:
            raise UserError(f"{where}: two entities overlap at character {start}",
                            "a character belongs to one entity at most (they are tagged BIO)")
    relations: list[Relation] = []
    for i, r in enumerate(raw_relations):
        head, tail, kind = (r.get("head"), r.get("tail"), r.get("type")) if isinstance(r, dict) else (None, None, None)
        if not all(isinstance(x, int) and 0 <= x < len(entities) for x in (head, tail)) or head == tail:
            raise UserError(f"{where}, relation {i}: head {head!r} and tail {tail!r} must be two different indexes "
                            f"into the {len(entities)} entities", '"head": 0 names the first entity of the record')
        if not isinstance(kind, str) or not kind.strip():
            raise UserError(f"{where}, relation {i}: no relation type", 'give every relation a "type"')
        if all((x.head, x.tail) != (head, tail) for x in relations):  # a repeated pair: the first type kept
            relations.append(Relation(int(head), int(tail), kind.strip()))  # type: ignore[arg-type]
    return RelationRecord(text, entities, tuple(relations), number)


def read_relations(path: str | Path) -> RelationSet:
    """Every record of an ABS-10 file, checked: offsets inside the text and matching the entity text,
    no overlapping entities, relations between two of the record's entities. A UserError names the line."""
    from advisor.formats.detect import read_text

    name = str(path)
    items = _records(read_text(Path(path), name), name)
    if not items:
        raise UserError(f"{name}: no records", FORMAT_HINT)
    records = [_record(number, item, name) for number, item in items]
    notes = []
    doubled = sum(len(rec.relations) for rec in records)
    doubled = sum(len({str(k).lower(): v for k, v in item.items()}.get("relations") or []) for _, item in items) - doubled
    if doubled:
        notes.append(f"{doubled} relations repeat a (head, tail) pair of their record: the first type is kept")
    return RelationSet(name, records, notes)
