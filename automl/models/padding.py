"""Right-padding of id rows into one batch tensor, shared by the families that encode their own units."""

from __future__ import annotations

import torch


def pad_ids(rows: list[list[int]], pad_id: int = 0, min_len: int = 1) -> torch.Tensor:
    """Rows of ids as a (batch, width) long tensor, padded on the right with `pad_id`; `min_len` keeps the width
    at least that (an all-empty batch, or a convolution's kernel)."""
    width = max([min_len, *(len(r) for r in rows)])
    return torch.tensor([r + [pad_id] * (width - len(r)) for r in rows], dtype=torch.long)
