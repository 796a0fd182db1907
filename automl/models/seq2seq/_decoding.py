"""Greedy and beam search over any encoder-decoder that gives next-token log-probabilities.

`Stepper` is the whole contract: `encode(src) -> state` once, then `next_log_probs(state, prefixes)` for
the rows of a (batch x beams) prefix matrix. Beam search with one beam is greedy search exactly (the top-1 of
the summed scores is the top-1 of the step), which the tests check.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch


class Stepper(Protocol):
    def encode(self, src: torch.Tensor) -> Any: ...

    def repeat(self, state: Any, times: int) -> Any:
        """The encoder state of each source `times` times in a row (one copy a beam)."""

    def next_log_probs(self, state: Any, prefixes: torch.Tensor) -> torch.Tensor:
        """(rows, vocab) log-probabilities of the token after each prefix (rows, length)."""


def greedy_search(stepper: Stepper, src: torch.Tensor, bos: int, eos: int, max_new_tokens: int) -> list[list[int]]:
    """The most likely token at each step, until every row has ended or `max_new_tokens`."""
    return beam_search(stepper, src, bos, eos, max_new_tokens, beam_size=1)


def beam_search(stepper: Stepper, src: torch.Tensor, bos: int, eos: int, max_new_tokens: int, beam_size: int = 4,
                length_penalty: float = 1.0) -> list[list[int]]:
    """The best of `beam_size` hypotheses per source by total log-probability / length**`length_penalty`
    (GNMT's normalisation, so longer answers are not punished for every extra token); end token excluded."""
    if beam_size < 1 or max_new_tokens < 1:
        raise ValueError(f"beam_size and max_new_tokens must be at least 1, but got {beam_size=}, {max_new_tokens=}.")
    batch, k = src.size(0), beam_size
    state = stepper.repeat(stepper.encode(src), k)
    prefixes = torch.full((batch * k, 1), bos, dtype=torch.long, device=src.device)
    scores = torch.full((batch, k), float("-inf"), device=src.device)
    scores[:, 0] = 0.0  # one live hypothesis per source at the start, not k copies of it
    done = torch.zeros(batch * k, dtype=torch.bool, device=src.device)
    lengths = torch.zeros(batch * k, device=src.device)
    for _ in range(max_new_tokens):
        logp = stepper.next_log_probs(state, prefixes).float()
        vocab = logp.size(-1)
        # an ended hypothesis only continues with end tokens, at no cost: it keeps its score
        ended = torch.full_like(logp, float("-inf"))
        ended[:, eos] = 0.0
        logp = torch.where(done[:, None], ended, logp)
        total = (scores.view(-1, 1) + logp).view(batch, k * vocab)
        scores, flat = total.topk(k, dim=-1)
        origin = (flat // vocab) + torch.arange(batch, device=src.device)[:, None] * k
        token = (flat % vocab).view(-1)
        origin = origin.view(-1)
        lengths = lengths[origin] + (~done[origin]).float()
        done = done[origin] | token.eq(eos)
        prefixes = torch.cat([prefixes[origin], token[:, None]], dim=1)
        if bool(done.all()):
            break
    normalised = scores / lengths.view(batch, k).clamp(min=1.0) ** length_penalty
    best = normalised.argmax(-1) + torch.arange(batch, device=src.device) * k
    out = []
    for row in prefixes[best, 1:].tolist():
        out.append(row[:row.index(eos)] if eos in row else row)
    return out
