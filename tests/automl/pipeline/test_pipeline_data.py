"""automl/pipeline/data.py and scores.py: the two sub-tasks made from ABS-10 records, and the three F1s."""

from __future__ import annotations

import json
from pathlib import Path

from advisor.formats.relations import Entity, Relation, RelationRecord
from automl.pipeline.data import (
    NO_RELATION,
    PairRule,
    bio_tags,
    candidates,
    char_tokens,
    conll_text,
    learn_rule,
    marked,
    pair_examples,
)
from automl.pipeline.scores import pipeline_scores

TEXT = "国务院总理李鹏会见美国总统克林顿。"
ENTS = (Entity(0, 3, "ORG"), Entity(5, 7, "PER"), Entity(9, 11, "LOC"), Entity(13, 16, "PER"))
GOLD = RelationRecord(TEXT, ENTS, (Relation(1, 0, "leader_of"), Relation(3, 2, "leader_of")), 1)


def test_rule_marks_and_candidates() -> None:
    rule = learn_rule([GOLD])
    assert rule == PairRule((("PER", "LOC"), ("PER", "ORG")), 2)
    assert candidates(ENTS, rule) == [(1, 0), (1, 2), (3, 2)]  # 李鹏>美国 is 2 apart too; 克林顿>国务院 is 10
    assert marked(TEXT, ENTS[1], ENTS[0]) == "⟪ORG 国务院⟫总理⟦PER 李鹏⟧会见美国总统克林顿。"


def test_pairs_sample_negatives_in_train_only() -> None:
    rule = PairRule((("PER", "LOC"), ("PER", "ORG")), 20)
    records = [GOLD] * 3
    every = pair_examples(records, rule)
    assert sum(e.label == NO_RELATION for e in every) == 3 * 2 and sum(e.label == "leader_of" for e in every) == 6
    sampled = pair_examples([RelationRecord(TEXT, ENTS, (Relation(1, 0, "leader_of"),))], rule, sample_seed=1)
    assert [e.label for e in sampled].count("leader_of") == 1 and len(sampled) == 4  # all 3 negatives fit under 4x


def test_bio_and_conll_keep_one_token_a_character() -> None:
    rec = RelationRecord("Li Peng met", (Entity(0, 7, "PER"),))
    assert char_tokens(rec.text)[2] == "␣"
    assert bio_tags(rec)[:3] == ("B-PER", "I-PER", "I-PER") and bio_tags(rec, {"LOC"}) == ("O",) * 11
    assert conll_text([rec]).splitlines()[2] == "␣ I-PER"


def test_end_to_end_needs_both_entities_and_the_type_right() -> None:
    wrong_span = (ENTS[0], Entity(5, 6, "PER"), ENTS[2], ENTS[3])  # 李 only: that relation is wrong end to end
    predicted = RelationRecord(TEXT, wrong_span, (Relation(1, 0, "leader_of"), Relation(3, 2, "leader_of")))
    given_gold = RelationRecord(TEXT, ENTS, (Relation(1, 0, "leader_of"), Relation(3, 2, "official_of")))
    s = pipeline_scores([GOLD], [given_gold], [predicted])
    assert s["entity_f1"] == 0.75 and s["relation_gold_entities_f1"] == 0.5 and s["end_to_end_f1"] == 0.5


def test_records_without_dev_and_test_are_split_seeded(tmp_path: Path) -> None:
    from automl.pipeline.run import split_records
    from automl.run import RunOptions

    lines = [json.dumps({"text": f"第{i}次，国务院总理李鹏会见客人。", "entities": [
        {"text": "国务院", "type": "ORG", "start": 3 + len(str(i))}, {"text": "李鹏", "type": "PER", "start": 8 + len(str(i))}],
        "relations": [{"head": 1, "tail": 0, "type": "leader_of"}]}, ensure_ascii=False) for i in range(40)]
    (tmp_path / "r.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    parts, notes = split_records(RunOptions(data=tmp_path / "r.jsonl", seed=3))
    assert {k: len(v) for k, v in parts.items()} == {"test": 4, "dev": 4, "train": 32}
    assert len({r.text for v in parts.values() for r in v}) == 40  # disjoint
    assert any("no dev file" in n for n in notes) and any("no test file" in n for n in notes)
    again, _ = split_records(RunOptions(data=tmp_path / "r.jsonl", seed=3))
    assert [r.text for r in again["test"]] == [r.text for r in parts["test"]]
