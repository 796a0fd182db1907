"""advisor.formats.detect: each file goes to its reader; unreadable files are a UserError naming the line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from advisor.errors import UserError
from advisor.formats import READERS, read_dataset

DATA = Path(__file__).resolve().parents[2] / "data"
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


def test_text_starting_with_a_bracket_is_not_json(tmp_path: Path) -> None:
    p = tmp_path / "brackets.txt"
    p.write_text("[广告] 新品上市\t1\n{活动} 满减\t0\n", encoding="utf-8")
    assert [e.text for e in read_dataset(p).examples] == ["[广告] 新品上市", "{活动} 满减"]


def test_readers_are_tried_most_specific_first_and_tsv_takes_the_rest() -> None:
    assert [r.name for r in READERS] == ["json", "lines", "conll", "csv", "tsv"]
    json_reader, lines, conll, csv, tsv = READERS
    tagged = ["海 B-LOC", "钓 O", "", "厦 B-LOC", "门 I-LOC"]
    assert conll.sniff("\n".join(tagged), tagged, ".txt", None)
    assert not conll.sniff("\n".join(tagged), tagged, ".csv", None)  # a .csv is never CoNLL
    assert lines.sniff("<s> a b <e>\n", ["<s> a b <e>"], ".txt", None)
    assert json_reader.sniff('{"text": "a"}\n', ['{"text": "a"}'], ".txt", None)
    assert not json_reader.sniff("{活动}\t0\n", ["{活动}\t0"], ".txt", None)  # a tab on the first line: a table
    assert csv.sniff("a,b\nc,d\n", ["a,b", "c,d"], ".txt", None)
    assert not csv.sniff("a,b\tc\n", ["a,b\tc"], ".txt", None)
    assert tsv.sniff("anything", ["anything"], ".weird", None)
