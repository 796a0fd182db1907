"""A transformer's logits to predictions in the data's own terms, and the task's loss (in fp32, so bf16
autocast changes only the matmuls)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from automl.models.base import LabelSpace
from automl.models.tag_scheme import viterbi

Penalties = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # start, transitions, end


def decode(labels: LabelSpace, logits: torch.Tensor, batch: dict[str, torch.Tensor],
           penalties: Penalties | None) -> list[Any]:
    """A label name (ABS-1/2/5 binary), a tuple of names (ABS-3), a float (score), tags per word (ABS-6)."""
    logits = logits.detach().float().cpu()
    names = labels.names
    if labels.kind.is_tagging:
        assert penalties is not None  # set for ABS-6 models
        return decode_tags(names, logits, batch, penalties)
    if labels.kind.is_multilabel:
        chosen = (torch.sigmoid(logits) > 0.5).tolist()
        return [tuple(n for n, on in zip(names, row, strict=True) if on) for row in chosen]
    if labels.regression:
        return [float(x) for x in logits.tolist()]
    return [names[i] for i in logits.argmax(-1).tolist()]


def decode_tags(names: list[str], logits: torch.Tensor, batch: dict[str, torch.Tensor],
                penalties: Penalties) -> list[tuple[str, ...]]:
    """Each word's tag, read at its first sub-token: the best well-formed BIO (or BIOES) path (Viterbi over the
    log-probabilities, `tag_scheme`), not each position's argmax, which leaves `I-X` tags that follow no
    X. Words past the truncation window have no sub-token and are tagged O."""
    starts = batch["word_starts"].cpu()
    counts = batch["num_words"].cpu()
    in_window = starts >= 0  # a prefix of each row: only truncation leaves a word without a sub-token
    in_window[:, 0] = True  # viterbi wants one real position a row; rows without words are cut below
    scores = logits.log_softmax(-1).gather(1, starts.clamp(min=0)[:, :, None].expand(-1, -1, logits.shape[-1]))
    start, transitions, end = penalties
    paths = viterbi(scores, in_window, transitions, start, end).tolist()
    out = []
    for row, n in enumerate(counts.tolist()):
        kept = int((starts[row, :n] >= 0).sum())
        out.append(tuple(names[i] for i in paths[row][:kept]) + ("O",) * (n - kept))
    return out


def task_loss(labels: LabelSpace, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """BCE for ABS-3, MSE for scores, cross-entropy otherwise (tagging ignores the -100 positions)."""
    if labels.kind.is_multilabel:
        return F.binary_cross_entropy_with_logits(logits, targets.float())
    if labels.regression:
        return F.mse_loss(logits, targets.float())
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
