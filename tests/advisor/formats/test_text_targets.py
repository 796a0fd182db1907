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
