"""Vocabularies built from the training examples only: characters for Chinese, words otherwise."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

PAD = "[PAD]"
UNK = "[UNK]"
BOS = "\x02"  # sentence-boundary markers inside bigrams; control characters never kept as units
EOS = "\x03"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df]")
_WORD = re.compile(r"\w+|[^\w\s]")
# Above this share of CJK among non-space characters a text is tokenised by character: whitespace
# tokenisation would make whole clauses single "words".
CJK_RATIO = 0.3


def cjk_ratio(texts: Iterable[str]) -> float:
    cjk = total = 0
    for text in texts:
        stripped = "".join(text.split())
        total += len(stripped)
        cjk += len(_CJK.findall(stripped))
    return cjk / total if total else 0.0


@dataclass
class Tokenizer:
    """How a text becomes units: `char` (Chinese default), `jieba` (Chinese words) or `word` (regex)."""

    mode: str = "word"
    lowercase: bool = True

    def __call__(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        if self.mode == "char":
            return [c for c in text if not c.isspace()]
        if self.mode == "jieba":
            import jieba

            return [w for w in jieba.lcut(text) if w.strip()]
        if self.mode == "word":
            return _WORD.findall(text)
        raise ValueError(f"Tokenizer mode must be 'char', 'jieba' or 'word', but got {self.mode=}.")

    def unit(self, token: str) -> str:
        """One given token (ABS-6) as a vocabulary unit."""
        return token.lower() if self.lowercase else token

    @property
    def joiner(self) -> str:
        return "" if self.mode == "char" else " "

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "lowercase": self.lowercase}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tokenizer:
        return cls(mode=str(data["mode"]), lowercase=bool(data["lowercase"]))


def bigrams(units: Sequence[str], joiner: str) -> list[str]:
    """Adjacent pairs with boundary markers: n units give n + 1 bigrams, so unit i has the left
    bigram i and the right bigram i + 1."""
    return ngrams(units, joiner, 2)


def ngrams(units: Sequence[str], joiner: str, n: int) -> list[str]:
    """Runs of n units, the text framed by one boundary marker on each side."""
    padded = [BOS, *units, EOS]
    return [joiner.join(padded[i : i + n]) for i in range(len(padded) - n + 1)]


class Vocab:
    """Index 0 is [PAD], 1 is [UNK]."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self.itos = [PAD, UNK, *[t for t in tokens if t not in (PAD, UNK)]]
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def build(cls, counts: Counter[str], min_freq: int, max_size: int) -> Vocab:
        """The most frequent `max_size` tokens seen at least `min_freq` times (ties by first sight)."""
        kept = [t for t, n in counts.most_common(max_size) if n >= min_freq]
        return cls(kept)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        get = self.stoi.get
        return [get(t, 1) for t in tokens]
