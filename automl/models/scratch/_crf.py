"""A linear-chain CRF: the forward algorithm for the log-likelihood, Viterbi (`tag_scheme`) for decoding.

The forward algorithm is vectorised over the batch and the tags and loops only over time. Training scores
every path; decoding forbids the transitions the tag scheme rules out (BIO: `I-X` only after `B-X` or
`I-X`; BIOES adds `E-`/`S-` rules), so a decoded sequence is always well formed.
"""

from __future__ import annotations

import torch
from torch import nn

from automl.models.tag_scheme import constraint_penalties, viterbi


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
        for name, penalty in zip(("start_penalty", "trans_penalty", "end_penalty"), constraint_penalties(tags),
                                 strict=True):
            self.register_buffer(name, penalty, persistent=False)

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
