"""automl demo-data pd_relations: People's Daily entities with rule-derived relations (ABS-10)."""

from __future__ import annotations

from pathlib import Path

from advisor.formats.relations import read_relations
from automl.demo_data import parse_pd_line
from automl.demo_data.pd_relations import build_pd_relations, relation_type, sentence_record


def test_the_rule_on_real_patterns() -> None:
    def rels(line: str) -> list[tuple[str, str, str]]:
        rec = sentence_record(parse_pd_line(line))
        assert rec is not None
        ents = rec["entities"]
        assert isinstance(ents, list)
        return [(ents[r["head"]]["text"], r["type"], ents[r["tail"]]["text"]) for r in rec["relations"]]  # type: ignore[index]

    assert rels("国务院/nt  总理/n  李鹏/nr  会见/v  美国/ns  总统/n  克林顿/nr  。/w") == [
        ("李鹏", "leader_of", "国务院"), ("克林顿", "leader_of", "美国")]
    assert rels("（/w  新华社/nt  记者/n  兰/nr  红光/nr  摄/Vg  ）/w") == [("兰红光", "reporter_of", "新华社")]
    assert rels("中国/ns  副/b  总理/n  兼/v  外交部长/n  钱/nr  其琛/nr  。/w") == [("钱其琛", "official_of", "中国")]
    assert rels("北京/ns  １月/t  １日/t  电/n  记者/n  张/nr  三/nr  。/w") == []  # a dateline: no relation
    assert relation_type([("选手", "n")], "LOC") is None  # not a post in the lists


def test_the_set_reads_as_abs10_and_says_it_is_rule_derived(tmp_path: Path) -> None:
    demo = build_pd_relations(tmp_path, 13)
    records = {s: read_relations(p).records for s, p in demo.files.items()}
    assert {s: len(r) for s, r in records.items()} == demo.counts
    assert len(records["train"]) > 1000 and all(len(r.text) <= 120 for r in records["train"])
    for split in ("dev", "test"):  # relations in every split, about half the records
        with_rel = sum(bool(r.relations) for r in records[split])
        assert 0.3 < with_rel / len(records[split]) < 0.7
    readme = (tmp_path / "pd_relations" / "README.md").read_text(encoding="utf-8")
    assert "rule-derived, not annotated" in readme and "leader_of" in readme
    again = build_pd_relations(tmp_path / "again", 13)
    assert again.files["train"].read_bytes() == demo.files["train"].read_bytes()
