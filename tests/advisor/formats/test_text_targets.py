"""advisor.formats: generation pairs (tables), `<s> ... <e>` lines, SQuAD JSON and question-answer records."""

from __future__ import annotations

from pathlib import Path

from advisor.formats import read_dataset

DATA = Path(__file__).resolve().parents[2] / "data"
FORMATS = DATA / "formats"
BAD = DATA / "bad"


def test_generation_lm_and_reading_comprehension() -> None:
    tr = read_dataset(FORMATS / "translation.tsv")
    assert tr.examples[2].target == "Xin cảm ơn các bạn rất nhiều ."
    lm = read_dataset(FORMATS / "lm.txt")
    assert lm.examples[0].text == "but some analysts remain sour on the company"
    sq = read_dataset(FORMATS / "squad.json")
    assert [(e.answer, e.answer_start) for e in sq.examples] == [("XPE", 17), ("EVA", 31), ("北京", 0)]
    assert sq.examples[0].text_b == "爬行垫什么材质的好"
    assert not any("do not match" in n for n in sq.notes)
    mrc = read_dataset(FORMATS / "mrc.jsonl")
    assert [(e.answer, e.answer_start) for e in mrc.examples] == [("北京", 0), ("上海", 0)]


def test_every_gold_answer_is_kept_and_squad2_unanswerable_questions_have_none(tmp_path: Path) -> None:
    import json

    squad = tmp_path / "squad.json"
    squad.write_text(json.dumps({"version": "v2.0", "data": [{"paragraphs": [{"context": "北京是中国的首都。", "qas": [
        {"question": "首都？", "answers": [{"text": "北京", "answer_start": 0}, {"text": "北京是", "answer_start": 0}]},
        {"question": "东京？", "answers": [{"text": "北京", "answer_start": 0}], "is_impossible": True},
        {"question": "城市？", "answers": [], "is_impossible": True}]}]}]}, ensure_ascii=False), encoding="utf-8")
    ds = read_dataset(str(squad))
    assert [(e.answer, e.answer_start, e.answers) for e in ds.examples] == [
        ("北京", 0, ("北京", "北京是")), (None, None, ()), (None, None, ())]
    assert any("2 questions have no answer" in n and "2 is_impossible" in n for n in ds.notes)
    records = tmp_path / "mrc.jsonl"  # the Hugging Face layout: {"text": [...], "answer_start": [...]}
    records.write_text(json.dumps({"question": "首都？", "context": "北京是中国的首都。", "answers": {
        "text": ["北京", "北京是"], "answer_start": [0, 0]}}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert [(e.answer, e.answers) for e in read_dataset(str(records), task="ABS-9").examples] == [
        ("北京", ("北京", "北京是"))]
