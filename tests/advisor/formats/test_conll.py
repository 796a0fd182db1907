"""advisor.formats.conll: one token and its tag a line, blank lines between sentences."""

from __future__ import annotations

from pathlib import Path

from advisor.formats import read_dataset

DATA = Path(__file__).resolve().parents[2] / "data"
FORMATS = DATA / "formats"
BAD = DATA / "bad"


def test_peoples_daily_char_bio() -> None:
    ds = read_dataset(DATA / "peoples_daily_50.bio")
    assert (ds.task, ds.format, len(ds)) == ("ABS-6", "conll", 50)
    assert ds.label_names == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    assert all(len(e.tokens) == len(e.tags) == len(e.text) for e in ds.examples)  # one char per token
    second = ds.examples[1]
    assert second.text == "中共中央总书记、国家主席江泽民"
    assert second.tags[-3:] == ("B-PER", "I-PER", "I-PER")  # 江/nr 泽民/nr merged into one person
    assert second.line == 30


def test_optimus_ner_word_tab_tag_with_tab_only_separators() -> None:
    ds = read_dataset(DATA / "optimus_ner_50.conll")
    assert (ds.task, len(ds)) == ("ABS-6", 50)
    assert ds.examples[0].tokens[14:17] == ("Empire", "State", "Building")
    assert ds.examples[0].tags[14:17] == ("B-facility", "I-facility", "I-facility")
    assert ds.examples[0].text.startswith("@paulwalk It 's")  # word tokens joined with spaces


def test_conll_multicolumn_takes_the_last_column_and_skips_docstart() -> None:
    ds = read_dataset(FORMATS / "conll2003.txt")
    assert ds.examples[0].tokens == ("EU", "rejects", "German", "call", ".")
    assert ds.examples[0].tags == ("B-ORG", "O", "B-MISC", "O", "O")
    assert ds.examples[1].tags == ("B-PER", "I-PER")
    assert any("4 columns" in n for n in ds.notes)
