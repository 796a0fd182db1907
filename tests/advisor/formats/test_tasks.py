"""advisor.formats.tasks: a user's --task as a task id; a forced task the file cannot hold is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.errors import UserError
from advisor.formats import normalize_task, read_dataset

DATA = Path(__file__).resolve().parents[2] / "data"
FORMATS = DATA / "formats"
BAD = DATA / "bad"


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
