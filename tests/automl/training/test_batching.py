"""Length-bucketed training batches."""

from __future__ import annotations

import random

from automl.training import bucketed_batches


def test_bucketing_covers_every_example_once_with_less_padding() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(5, 120) for _ in range(1000)]
    batches = bucketed_batches(lengths, 32, random.Random(1), chunk_batches=10)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert all(len(b) <= 32 for b in batches)
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    plain = sum(max(lengths[i] for i in lengths_batch) * len(lengths_batch)
                for lengths_batch in (list(range(s, min(s + 32, 1000))) for s in range(0, 1000, 32)))
    assert padded < 0.75 * plain
    assert batches != bucketed_batches(lengths, 32, random.Random(2), chunk_batches=10)  # reshuffled
    assert batches == bucketed_batches(lengths, 32, random.Random(1), chunk_batches=10)  # seeded: repeatable
