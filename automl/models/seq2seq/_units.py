"""Units for a from-scratch seq2seq, built from the training text: each Chinese character, each run of
letters or digits (a word, a pinyin syllable), each other symbol. Sources and targets share one table, so
a copied unit needs no learning twice; ids 0-3 are padding, start, end and unknown.

Whole words rather than characters for alphabetic text: a target in characters is ~4x longer (a pinyin
syllable is 2-6 letters), and on the constructed clause->pinyin set a small net trained for 400 steps still
stuttered "bu bu bu" in characters. Spaces are not units: `join` puts one between two units that are
not Chinese characters, as the zh tokenizer of sacrebleu (automl/generation_metrics.py) reads text anyway.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
SPECIALS = ("[PAD]", "[BOS]", "[EOS]", "[UNK]")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNIT = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|\S")


def split_units(text: str) -> list[str]:
    return _UNIT.findall(text)


def join_units(units: Iterable[str]) -> str:
    out = ""
    previous_cjk = True
    for unit in units:
        cjk = bool(re.fullmatch(f"[{_CJK}]", unit))
        out += unit if (not out or cjk or previous_cjk) else " " + unit
        previous_cjk = cjk
    return out


@dataclass
class Units:
    """The units seen in training, most frequent first (at most `max_size`)."""

    units: list[str]

    @classmethod
    def build(cls, texts: Iterable[str], max_size: int = 30000) -> Units:
        counts = Counter(unit for text in texts for unit in split_units(text))
        return cls([unit for unit, _ in counts.most_common(max_size)])

    def __post_init__(self) -> None:
        self.index = {unit: i + len(SPECIALS) for i, unit in enumerate(self.units)}

    def __len__(self) -> int:
        return len(SPECIALS) + len(self.units)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(unit, UNK_ID) for unit in split_units(text)]

    def decode(self, ids: Iterable[int]) -> str:
        out = []
        for i in ids:
            if i == EOS_ID:
                break
            if i >= len(SPECIALS):
                out.append(self.units[i - len(SPECIALS)])
        return join_units(out)
