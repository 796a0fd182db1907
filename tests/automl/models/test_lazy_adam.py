"""LazyAdam: torch's AdamW on dense gradients; on a sparse gradient, Adam on the touched rows only."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from automl.models.lazy_adam import LazyAdam, fused_ok


def _pair(sparse: bool) -> tuple[nn.Embedding, nn.Linear]:
    torch.manual_seed(0)
    return nn.Embedding(10, 4, sparse=sparse), nn.Linear(4, 2)


def _step(embedding: nn.Embedding, head: nn.Linear, optimizer: torch.optim.Optimizer, ids: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    head(embedding(ids)).pow(2).sum().backward()
    optimizer.step()


def test_dense_parameters_follow_adamw_exactly() -> None:
    emb_a, head_a = _pair(sparse=False)
    emb_b, head_b = _pair(sparse=False)
    ours = LazyAdam([*emb_a.parameters(), *head_a.parameters()], lr=0.1, weight_decay=0.01)
    reference = torch.optim.AdamW([*emb_b.parameters(), *head_b.parameters()], lr=0.1, weight_decay=0.01)
    assert ours.defaults["fused"]  # all floating CPU tensors: one fused kernel
    ids = torch.tensor([[1, 2, 2]])
    for _ in range(3):
        _step(emb_a, head_a, ours, ids)
        _step(emb_b, head_b, reference, ids)
    torch.testing.assert_close(head_a.weight, head_b.weight)
    torch.testing.assert_close(emb_a.weight, emb_b.weight)


def test_sparse_rows_get_adam_on_touched_rows_only() -> None:
    emb, head = _pair(sparse=True)
    start = emb.weight.detach().clone()
    optimizer = LazyAdam([{"params": [emb.weight], "weight_decay": 0.5}, {"params": list(head.parameters())}], lr=0.1)
    ids = torch.tensor([[1, 2, 2]])
    _step(emb, head, optimizer, ids)
    moved = (emb.weight.detach() != start).any(dim=1)
    assert moved.tolist() == [i in (1, 2) for i in range(10)]  # untouched rows: no update, no decay
    # Adam's first step moves each touched element by lr (m / sqrt(v) = sign of the gradient)
    torch.testing.assert_close((emb.weight.detach() - start)[1:3].abs(), torch.full((2, 4), 0.1), atol=1e-6,
                               rtol=0)
    assert emb.weight.grad is not None and emb.weight.grad.is_sparse  # the gradient is left as it was


def test_fused_ok_needs_one_supported_device_and_floating_tensors() -> None:
    assert fused_ok([torch.zeros(2), torch.zeros(3)])
    assert not fused_ok([])
    assert not fused_ok([torch.zeros(2, dtype=torch.long)])
    with pytest.raises(ValueError, match="learning rate"):
        LazyAdam([torch.zeros(2, requires_grad=True)], lr=-1.0)
