"""The trial optimizer, its schedule and the clipped parameters, on real scratch models."""

from __future__ import annotations

import pytest
import torch

from automl.labels import label_space
from automl.models import build_model, resolve_model
from automl.training import trial_optimizer
from automl.training.optimizer import clipped_parameters, warmup_linear


def test_warmup_then_linear_decay() -> None:
    factor = warmup_linear(100, 0.1)
    assert factor(0) < factor(5) < factor(9) <= 1.0
    assert factor(10) == pytest.approx(1.0) and factor(55) == pytest.approx(0.5) and factor(100) == 0.0


def test_trial_optimizer_without_the_models_own_turns_sparse_tables_dense(data) -> None:  # noqa: ANN001
    train, dev = data
    model = build_model(resolve_model("bow"), label_space("ABS-1", train, dev), train, 64, "zh")
    model.configure_optimizer(1e-3, 0.0)
    assert model.bag.sparse
    optimizer = trial_optimizer(model, 1e-3, 0.0, own=False)
    assert type(optimizer) is torch.optim.AdamW and not model.bag.sparse


def test_clipped_parameters_leave_sparse_tables_out(data) -> None:  # noqa: ANN001
    train, dev = data
    model = build_model(resolve_model("bow"), label_space("ABS-1", train, dev), train, 64, "zh")
    assert any(p is model.bag.weight for p in clipped_parameters(model))
    model.configure_optimizer(1e-3, 0.0)  # sparse embedding rows: clip_grad_norm_ would reject them
    clipped = clipped_parameters(model)
    assert not any(p is model.bag.weight for p in clipped)
    assert len(clipped) == len({id(p) for p in clipped}) == sum(1 for _ in model.parameters()) - 1
