"""Training batches of similar lengths (dynamic padding wastes little when neighbours are alike)."""

from __future__ import annotations

import random
from collections.abc import Sequence


def bucketed_batches(lengths: Sequence[int], batch_size: int, rng: random.Random,
                     chunk_batches: int = 50) -> list[list[int]]:
    """Index batches of similar lengths: shuffle, sort by length within chunks of `chunk_batches` batches,
    cut into batches, shuffle the batch order. Padding shrinks while each epoch still sees new mixes."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * max(1, chunk_batches)
    batches: list[list[int]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lengths.__getitem__)
        batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches
