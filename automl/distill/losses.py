"""Distillation losses (DIST-2), each a plain function of tensors so a test can check it by hand.

- `soft_cross_entropy`: Hinton's soft-label loss, the cross-entropy between the teacher's and the student's
  temperature-softened distributions, times T^2 so its gradients keep their size as T changes.
- `kd_loss`: stage TD2, `soft_weight * soft + hard_weight * hard` (hard: the student's own task loss).
- `relation_kl`: stage TD1 (MiniLMv2), KL between the teacher's and the student's self-attention relations
  (query-key and value-value scaled dot products) split into the same number of relation heads on both
  sides, so teacher and student head counts may differ.
- `hidden_mse`: TinyBERT's hidden-state loss, for a student cut from the teacher (same width): each kept
  layer's output against the output of the teacher layer it was copied from, so the layers learn to stand
  in for the ones that were dropped between them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def soft_cross_entropy(student: torch.Tensor, teacher: torch.Tensor, temperature: float,
                       mask: torch.Tensor | None = None, *, multi_label: bool = False) -> torch.Tensor:
    """T^2 * mean over rows of -sum_c softmax(teacher/T)_c * log softmax(student/T)_c.

    `student`, `teacher`: (..., classes). `mask` (...,) keeps rows (tokens) that count. `multi_label`: each
    class is its own sigmoid (ABS-3), the binary cross-entropy against sigmoid(teacher/T).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, but got {temperature=}.")
    s = student.float() / temperature
    t = teacher.float() / temperature
    if multi_label:
        per_row = F.binary_cross_entropy_with_logits(s, torch.sigmoid(t), reduction="none").sum(-1)
    else:
        per_row = -(F.softmax(t, dim=-1) * F.log_softmax(s, dim=-1)).sum(-1)
    if mask is not None:
        keep = mask.to(per_row.dtype)
        value = (per_row * keep).sum() / keep.sum().clamp(min=1.0)
    else:
        value = per_row.mean()
    return value * temperature**2


def soft_mse(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Regression (ABS-5 score): the teacher's score is the soft label."""
    return F.mse_loss(student.float(), teacher.float())


def kd_loss(soft: torch.Tensor, hard: torch.Tensor | None, soft_weight: float, hard_weight: float) -> torch.Tensor:
    """Stage TD2: the weighted sum. A batch without truth (teacher-labeled text only) has `hard` None."""
    if hard is None:
        return soft_weight * soft
    return soft_weight * soft + hard_weight * hard


def relations(x: torch.Tensor, y: torch.Tensor, heads: int, mask: torch.Tensor | None) -> torch.Tensor:
    """log softmax(x_h y_h^T / sqrt(d_h)) per relation head: (batch, seq, hidden) x2 -> (batch, heads, seq, seq).

    The hidden size is split into `heads` parts of d_h = hidden / heads; padded keys (mask 0) get no weight."""
    batch, seq, hidden = x.shape
    if hidden % heads:
        raise ValueError(f"hidden size must divide into relation heads, but got {hidden=} and {heads=}.")
    d = hidden // heads
    xh = x.float().view(batch, seq, heads, d).transpose(1, 2)
    yh = y.float().view(batch, seq, heads, d).transpose(1, 2)
    scores = xh @ yh.transpose(-1, -2) / math.sqrt(d)
    if mask is not None:
        scores = scores.masked_fill(~mask.bool()[:, None, None, :], torch.finfo(scores.dtype).min)
    return F.log_softmax(scores, dim=-1)


def relation_kl(student: dict[str, torch.Tensor], teacher: dict[str, torch.Tensor], heads: int,
                mask: torch.Tensor | None = None, pairs: tuple[tuple[str, str], ...] = (("q", "k"), ("v", "v")),
                ) -> torch.Tensor:
    """Stage TD1: sum over `pairs` of KL(teacher relation || student relation), averaged over relation heads
    and real query positions. `student` / `teacher` map "q", "k", "v" to the last layer's (batch, seq, hidden)
    projections; the two hidden sizes may differ, the relation maps (seq x seq) do not."""
    total = torch.zeros((), dtype=torch.float32, device=next(iter(student.values())).device)
    for a, b in pairs:
        log_s = relations(student[a], student[b], heads, mask)
        log_t = relations(teacher[a], teacher[b], heads, mask)
        kl = (log_t.exp() * (log_t - log_s)).sum(-1)  # (batch, heads, seq)
        if mask is not None:
            keep = mask.to(kl.dtype)[:, None, :]
            total = total + (kl * keep).sum() / (keep.sum() * kl.shape[1]).clamp(min=1.0)
        else:
            total = total + kl.mean()
    return total


def hidden_mse(student: list[torch.Tensor], teacher: list[torch.Tensor], mask: torch.Tensor | None = None,
               ) -> torch.Tensor:
    """Mean over layer pairs of the squared error per hidden unit, averaged over real tokens.

    `student[i]` and `teacher[i]`: (batch, seq, hidden) outputs of paired layers; `mask` (batch, seq) marks
    real tokens (padding does not count)."""
    if len(student) != len(teacher) or not student:
        raise ValueError(f"need one teacher layer per student layer, but got {len(student)} and {len(teacher)}.")
    total = torch.zeros((), dtype=torch.float32, device=student[0].device)
    for s, t in zip(student, teacher, strict=True):
        per_token = (s.float() - t.float()).pow(2).mean(-1)  # (batch, seq)
        if mask is not None:
            keep = mask.to(per_token.dtype)
            total = total + (per_token * keep).sum() / keep.sum().clamp(min=1.0)
        else:
            total = total + per_token.mean()
    return total / len(student)
