"""advisor/formats/relations.py: the ABS-10 format read as entities and relations, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.errors import UserError
from advisor.formats import read_dataset
from advisor.formats.relations import Entity, looks_like_relations, read_relations
from presets.catalog import task

DATA = Path(__file__).resolve().parents[2] / "data" / "formats"


def write(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_the_shipped_sample_reads_as_entities_and_relations() -> None:
    got = read_relations(DATA / "relations.jsonl")
    first = got.records[0]
    assert first.entities == (Entity(7, 9, "LOC"), Entity(10, 12, "LOC"))
    assert first.triples() == {((7, 9, "LOC"), (10, 12, "LOC"), "adjacent_to")}
    assert looks_like_relations(DATA / "relations.jsonl")


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_the_catalog_example_reads_here_and_is_refused_as_one_task(tmp_path: Path, suffix: str) -> None:
    record = json.loads(task("ABS-10").format)
    path = tmp_path / f"rel{suffix}"
    path.write_text(json.dumps([record] if suffix == ".json" else record, ensure_ascii=False), encoding="utf-8")
    assert looks_like_relations(path)
    assert read_relations(path).records[0].relations[0].type == "adjacent_to"
    with pytest.raises(UserError, match="ABS-10"):  # never ABS-3 with a dict for a label
        read_dataset(path)


def test_end_instead_of_text_and_a_repeated_pair(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", {"text": "张伟在北京大学工作。",
                                        "entities": [{"type": "PER", "start": 0, "end": 2}, {"type": "ORG", "start": 3, "text": "北京大学"}],
                                        "relations": [{"head": 0, "tail": 1, "type": "works_for"},
                                                      {"head": 0, "tail": 1, "type": "studies_at"}]})
    got = read_relations(path)
    assert [r.type for r in got.records[0].relations] == ["works_for"]
    assert "first type is kept" in got.notes[0]


@pytest.mark.parametrize(("entities", "relations", "message"), [
    ([{"text": "北京", "type": "LOC", "start": 2}], [], "it is at 3"),
    ([{"text": "张伟在", "type": "PER", "start": 0}, {"text": "在北京", "type": "LOC", "start": 2}], [], "overlap"),
    ([{"text": "张伟", "type": "PER", "start": 0}], [{"head": 0, "tail": 1, "type": "x"}], "two different indexes"),
    ([{"text": "张伟", "type": "B-PER", "start": 0}], [], "not a name"),
    ([{"text": "张伟", "type": "PER", "start": 40}], [], "outside the text"),
])
def test_bad_records_name_the_line_and_the_fix(tmp_path: Path, entities: list[object], relations: list[object],
                                               message: str) -> None:
    good = {"text": "张伟在北京大学工作。", "entities": [], "relations": []}
    path = write(tmp_path / "r.jsonl", good, {"text": "张伟在北京大学工作。", "entities": entities, "relations": relations})
    with pytest.raises(UserError, match=message) as caught:
        read_relations(path)
    assert "line 2" in str(caught.value)


def test_other_formats_are_not_relations(tmp_path: Path) -> None:
    assert not looks_like_relations(write(tmp_path / "a.jsonl", {"text": "好", "labels": ["a", "b"]}))
    (tmp_path / "b.tsv").write_text("好\tpos\n", encoding="utf-8")
    assert not looks_like_relations(tmp_path / "b.tsv")
    assert not looks_like_relations(tmp_path / "missing.jsonl")


def test_a_tsv_given_as_abs10_says_what_the_format_is(tmp_path: Path) -> None:
    (tmp_path / "a.tsv").write_text("好\tpos\n", encoding="utf-8")
    with pytest.raises(UserError, match="line 1: not a JSON record") as caught:
        read_relations(tmp_path / "a.tsv")
    assert '"relations"' in str(caught.value.fix)
