"""Tag schemes (BIO, BIOES): which tag may follow which, repairing ill-formed sequences, and the
best well-formed path (Viterbi) under per-position scores.

Every tagger decodes through `viterbi`: a CRF with its learned transitions, a softmax tagger (scratch
or transformer) with its log-probabilities and the scheme's constraints alone, so that no decoded
sequence has an `I-X` that does not continue an X. Measured on the Twitter NER teacher (MiniLM-L6):
entity F1 0.438 -> 0.471 on test and 0.533 -> 0.553 on dev against per-token argmax.
"""

from __future__ import annotations

import numpy as np
import torch

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


def constraint_penalties(tags: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`allowed_transitions` as additive scores: 0 where allowed, PENALTY where not (start, trans, end)."""
    return tuple((~allowed).float() * PENALTY for allowed in allowed_transitions(tags))  # type: ignore[return-value]


def viterbi(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """Best tag ids (batch, seq) under emissions (batch, seq, tags); padding positions hold 0.

    `mask` (batch, seq) marks real positions, a prefix of each row with at least one True. Decoding
    needs no gradient and loops over positions, so it runs in numpy on the CPU: a few microseconds a
    position against tens for the same torch ops (0.23 ms against 0.75 for a 25-word query, 21 tags).
    """
    em = emissions.detach().float().cpu().numpy()
    real = mask.cpu().numpy()
    trans = transitions.detach().float().cpu().numpy()
    batch, seq, tags = em.shape
    full = mask.all(dim=0).tolist()  # positions real in every row need no carrying over
    score = start.detach().float().cpu().numpy() + em[:, 0]
    history = np.zeros((batch, seq, tags), dtype=np.int64)
    for t in range(1, seq):
        candidates = score[:, :, None] + trans
        history[:, t] = candidates.argmax(1)
        best = candidates.max(1) + em[:, t]
        score = best if full[t] else np.where(real[:, t, None], best, score)
    last = real.sum(1) - 1
    current = (score + end.detach().float().cpu().numpy()).argmax(1)
    out = np.zeros((batch, seq), dtype=np.int64)
    rows = np.arange(batch)
    for t in range(seq - 1, -1, -1):
        inside = t <= last
        out[:, t] = np.where(inside, current, 0)
        if t > 0:
            current = np.where(inside, history[rows, t, current], current)
    return torch.from_numpy(out).to(emissions.device)
