"""Request bodies of every task shape, and the JSON answers: tags with their spans."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from advisor.dataset import Example
from automl.models import load_model
from automl.serve.outputs import answers, tag_answer
from automl.serve.requests import BadRequest, parse_request

NER = Path(__file__).parents[2] / "data" / "peoples_daily_50.bio"


def test_pairs_for_pair_tasks() -> None:
    got = parse_request(json.dumps({"pairs": [["a b", "c"], ["d", "e f"]]}).encode(), "ABS-2")
    assert got == [Example(text="a b", text_b="c"), Example(text="d", text_b="e f")]
    with pytest.raises(BadRequest, match=r"pairs\[0\] must be a list of two strings") as bad:
        parse_request(b'{"pairs": [["only one"]]}', "ABS-5")
    assert bad.value.status == 422
    with pytest.raises(BadRequest, match="missing field 'pairs'"):
        parse_request(b'{"texts": ["a"]}', "ABS-2")


def test_tagging_takes_texts_or_tokens() -> None:
    spaced, chars = parse_request('{"texts": ["John lives here", "海钓比赛"]}'.encode(), "ABS-6")
    assert spaced.tokens == ("John", "lives", "here") and chars.tokens == ("海", "钓", "比", "赛")
    (given,) = parse_request(b'{"tokens": [["New", "York"]]}', "ABS-6")
    assert given.tokens == ("New", "York")
    with pytest.raises(BadRequest, match="non-empty strings"):
        parse_request(b'{"tokens": [["New", ""]]}', "ABS-6")


def test_features_are_checked_against_the_model() -> None:
    (row,) = parse_request(b'{"texts": ["ad"], "features": [[1, 2.5]]}', "ABS-4", n_features=2)
    assert row.features == (1.0, 2.5)
    with pytest.raises(BadRequest, match="list of 2 numbers"):
        parse_request(b'{"texts": ["ad"], "features": [[1, true]]}', "ABS-4", n_features=2)


def test_tag_answer_spans() -> None:
    got = tag_answer(("John", "lives", "in", "New", "York"), ("B-PER", "O", "O", "B-LOC", "I-LOC"))
    assert got["spans"] == [{"type": "PER", "start": 0, "end": 1, "text": "John"},
                            {"type": "LOC", "start": 3, "end": 5, "text": "New York"}]
    chars = tag_answer(tuple("在北京"), ("O", "B-LOC", "I-LOC"))
    assert chars["spans"] == [{"type": "LOC", "start": 1, "end": 3, "text": "北京"}]


def test_a_tagger_answers_a_tag_per_token(train_and_save: Callable[..., Path], tmp_path: Path) -> None:
    model = load_model(train_and_save("bow", NER, tmp_path / "tagger", steps=5))
    rows = [Example(text="江泽民在北京", tokens=tuple("江泽民在北京")), Example(text="好", tokens=("好",))]
    got = answers(model, rows, batch_size=1)
    assert [len(a["tags"]) for a in got] == [6, 1]
    assert all(set(a["tags"]) <= set(model.labels.names) for a in got)
    assert got == answers(model, rows, batch_size=2)  # batching does not change an answer
