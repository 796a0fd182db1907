"""Small real samples for the distillation tests, read from tests/data."""

from __future__ import annotations

from pathlib import Path

from advisor.dataset import Example

DATA = Path(__file__).resolve().parents[2] / "data"


def read_conll(path: Path, limit: int) -> list[Example]:
    sentences: list[Example] = []
    tokens: list[str] = []
    tags: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if tokens:
                sentences.append(Example(text=" ".join(tokens), tokens=tuple(tokens), tags=tuple(tags)))
            tokens, tags = [], []
            continue
        word, tag = line.split()[:2]
        tokens.append(word)
        tags.append(tag)
    return sentences[:limit]


def read_tsv(path: Path, limit: int) -> list[Example]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[1] in ("0", "1"):
            rows.append(Example(text=parts[0], label=parts[1]))
    return rows[:limit]
