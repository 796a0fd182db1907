"""Adam that also takes sparse gradients ("lazy" Adam, as SparseAdam does), so big embedding tables
update only the rows a batch used. Measured here on People's Daily NER: sparse embedding updates
halve the epoch time of a char+bigram BiLSTM-CRF (field notes)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


class LazyAdam(torch.optim.Optimizer):
    """AdamW for dense gradients; for sparse ones, Adam moments and updates on the touched rows only
    (no weight decay there). A plain `torch.optim.Optimizer`, so LR schedulers work with it."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        if lr <= 0:
            raise ValueError(f"Learning rate must be positive, but got {lr=}.")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                step = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                c1 = 1 - b1**step
                c2 = 1 - b2**step
                grad = p.grad
                if grad.is_sparse:
                    grad = grad.coalesce()
                    rows = grad.indices()[0]
                    values = grad.values()
                    m_rows = m.index_select(0, rows).mul_(b1).add_(values, alpha=1 - b1)
                    v_rows = v.index_select(0, rows).mul_(b2).addcmul_(values, values, value=1 - b2)
                    m.index_copy_(0, rows, m_rows)
                    v.index_copy_(0, rows, v_rows)
                    update = (m_rows / c1).div_((v_rows / c2).sqrt_().add_(eps))
                    p.index_add_(0, rows, update, alpha=-lr)
                else:
                    if wd:
                        p.mul_(1 - lr * wd)
                    m.mul_(b1).add_(grad, alpha=1 - b1)
                    v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
                    p.addcdiv_(m, (v / c2).sqrt_().add_(eps), value=-lr / c1)
        return loss
