"""Character units for a from-scratch seq2seq, built from the training text (sources and targets share one
table, so a copied character needs no learning twice). Characters suit Chinese, and for a small corpus in
any language they leave no unknown word; ids 0-3 are padding, start, end and unknown."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
SPECIALS = ("[PAD]", "[BOS]", "[EOS]", "[UNK]")


@dataclass
class CharUnits:
    """The characters seen at least `min_count` times in training, most frequent first."""

    chars: list[str]

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1, max_size: int = 20000) -> CharUnits:
        counts = Counter(ch for text in texts for ch in text)
        kept = [ch for ch, n in counts.most_common(max_size) if n >= min_count]
        return cls(kept)

    def __post_init__(self) -> None:
        self.index = {ch: i + len(SPECIALS) for i, ch in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(SPECIALS) + len(self.chars)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(ch, UNK_ID) for ch in text]

    def decode(self, ids: Iterable[int]) -> str:
        out = []
        for i in ids:
            if i == EOS_ID:
                break
            if i >= len(SPECIALS):
                out.append(self.chars[i - len(SPECIALS)])
        return "".join(out)
