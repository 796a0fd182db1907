"""A sentence's score under a language model, and perplexity pooled over sentences."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SentenceScore:
    """`log_prob`: natural log of P(sentence, then its end); `units`: how many predictions that took
    (characters plus the end)."""

    log_prob: float
    units: int

    @property
    def perplexity(self) -> float:
        return math.exp(-self.log_prob / max(1, self.units))

    def __str__(self) -> str:  # what `automl predict` prints in its TSV column
        return f"log_prob {self.log_prob:.4f} perplexity {self.perplexity:.4f}"


def perplexity(scores: Sequence[SentenceScore]) -> dict[str, float]:
    """exp of the mean negative log-probability per unit over all sentences (each character weighs the
    same, not each sentence), with the bits per character beside it."""
    units = sum(s.units for s in scores)
    if units == 0:
        raise ValueError("cannot compute perplexity of no predicted units")
    nll = -sum(s.log_prob for s in scores) / units
    return {"perplexity": math.exp(nll), "bits_per_char": nll / math.log(2)}
