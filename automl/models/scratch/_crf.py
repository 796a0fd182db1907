"""A linear-chain CRF: the forward algorithm for the log-likelihood, Viterbi for decoding.

Both are vectorised over the batch and the tags and loop only over time. Training scores every
path; decoding forbids the transitions the tag scheme rules out (BIO: `I-X` only after `B-X` or
`I-X`; BIOES adds `E-`/`S-` rules), so a decoded sequence is always well formed.
"""

from __future__ import annotations

import torch
from torch import nn

# A forbidden transition's score: far below any sum of learned scores, and finite so that
# 0 * penalty stays 0 and logsumexp stays stable.
PENALTY = -1e4


def _split(tag: str) -> tuple[str, str]:
    if len(tag) > 2 and tag[1] in "-_" and tag[0].upper() in "BIESLU":
        return tag[0].upper(), tag[2:]
    return ("O", "") if tag.upper() == "O" else ("", tag)


def allowed_transitions(tags: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Boolean masks (start, transitions[from, to], end) for BIO or BIOES tags.

    Tags that follow neither scheme (no prefixes) are left unconstrained."""
    parts = [_split(t) for t in tags]
    prefixes = {p for p, _ in parts}
    n = len(tags)
    start = torch.ones(n, dtype=torch.bool)
    end = torch.ones(n, dtype=torch.bool)
    trans = torch.ones(n, n, dtype=torch.bool)
    if "" in prefixes or not prefixes & {"B", "I"}:
        return start, trans, end
    bioes = bool(prefixes & {"E", "S", "L", "U"})
    for j, (pj, tj) in enumerate(parts):
        if pj in ("I", "E", "L"):
            start[j] = False
        if bioes and pj in ("B", "I"):
            end[j] = False
        for i, (pi, ti) in enumerate(parts):
            if pj in ("I", "E", "L"):
                trans[i, j] = pi in ("B", "I") and ti == tj
            elif bioes:  # B, S, U, O may only follow the end of a chunk
                trans[i, j] = pi in ("O", "E", "S", "L", "U")
    return start, trans, end


def repair_bio(tags: list[str]) -> list[str]:
    """IOB1 or truncated sequences to valid BIO: an `I-X` that does not continue an X becomes `B-X`."""
    out = []
    prev = ("O", "")
    for tag in tags:
        p, t = _split(tag)
        if p == "I" and not (prev[0] in ("B", "I") and prev[1] == t):
            tag = ("B" if tag[0] == "I" else "b") + tag[1:]
            p = "B"
        out.append(tag)
        prev = (p, t)
    return out


def viterbi(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """Best tag ids (batch, seq) under emissions (batch, seq, tags); padding positions hold 0.

    `mask` (batch, seq) marks real positions, a prefix of each row with at least one True."""
    batch, seq, _ = emissions.shape
    score = start + emissions[:, 0]
    history = []
    for t in range(1, seq):
        best, idx = (score.unsqueeze(2) + transitions).max(dim=1)
        score = torch.where(mask[:, t, None], best + emissions[:, t], score)
        history.append(idx)
    best_last = (score + end).argmax(dim=1)
    last = mask.long().sum(1) - 1
    out = torch.zeros(batch, seq, dtype=torch.long, device=emissions.device)
    cur = best_last
    for t in range(seq - 1, -1, -1):
        cur = torch.where(last == t, best_last, cur)
        inside = t <= last
        out[:, t] = torch.where(inside, cur, 0)
        if t > 0:
            cur = torch.where(inside, history[t - 1].gather(1, cur[:, None]).squeeze(1), cur)
    return out


class CRF(nn.Module):
    """Transition scores `transitions[from, to]` plus start and end scores."""

    start_penalty: torch.Tensor
    trans_penalty: torch.Tensor
    end_penalty: torch.Tensor

    def __init__(self, tags: list[str]) -> None:
        super().__init__()
        n = len(tags)
        self.transitions = nn.Parameter(torch.zeros(n, n))
        self.start = nn.Parameter(torch.zeros(n))
        self.end = nn.Parameter(torch.zeros(n))
        ok_start, ok_trans, ok_end = allowed_transitions(tags)
        self.register_buffer("start_penalty", (~ok_start).float() * PENALTY, persistent=False)
        self.register_buffer("trans_penalty", (~ok_trans).float() * PENALTY, persistent=False)
        self.register_buffer("end_penalty", (~ok_end).float() * PENALTY, persistent=False)

    def log_likelihood(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log p(tags | emissions) per sequence, (batch,)."""
        return self._score(emissions, tags, mask) - self.log_partition(emissions, mask)

    def _score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.to(emissions.dtype)
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
        trans = self.transitions[tags[:, :-1], tags[:, 1:]]
        last = mask.long().sum(1) - 1
        last_tags = tags.gather(1, last[:, None]).squeeze(1)
        return self.start[tags[:, 0]] + (emit * m).sum(1) + (trans * m[:, 1:]).sum(1) + self.end[last_tags]

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log of the sum over all tag paths of exp(score), by the forward algorithm, (batch,)."""
        alpha = self.start + emissions[:, 0]
        trans = self.transitions.unsqueeze(0)
        for t in range(1, emissions.size(1)):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t, None], nxt, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return viterbi(
            emissions.float(),
            mask,
            self.transitions + self.trans_penalty,
            self.start + self.start_penalty,
            self.end + self.end_penalty,
        )
