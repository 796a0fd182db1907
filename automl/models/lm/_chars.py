"""The character table of ABS-8's language model, built from the training sentences. Characters suit Chinese
and leave no unknown word in a small corpus of any language; ids 0-3 are padding, start, end and unknown."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
SPECIALS = ("[PAD]", "[BOS]", "[EOS]", "[UNK]")


@dataclass
class CharTable:
    """The characters seen in training, most frequent first (at most `max_size`)."""

    chars: list[str]

    @classmethod
    def build(cls, texts: Iterable[str], max_size: int = 20000) -> CharTable:
        return cls([ch for ch, _ in Counter(ch for text in texts for ch in text).most_common(max_size)])

    def __post_init__(self) -> None:
        self.index = {ch: i + len(SPECIALS) for i, ch in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(SPECIALS) + len(self.chars)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(ch, UNK_ID) for ch in text]
