"""Batched inference keeps the input order and matches one-at-a-time results."""

from __future__ import annotations

import pytest
import torch

from automl.training import predict, predict_logits
from automl.training.inference import bf16_check, dev_metrics


def test_predict_keeps_the_input_order(fresh, data) -> None:  # noqa: ANN001
    _, dev = data
    model = fresh(32)
    together = predict(model, dev, batch_size=7)
    assert together == [predict(model, [e])[0] for e in dev]
    assert model.training  # predict gives the training mode back


def test_predict_logits_rows_follow_the_examples(fresh, data) -> None:  # noqa: ANN001
    _, dev = data
    model = fresh(32)
    logits = predict_logits(model, dev[:9], batch_size=4)
    assert logits.shape == (9, 2) and logits.dtype == torch.float32
    for i in (0, 4, 8):
        assert torch.allclose(logits[i], predict_logits(model, [dev[i]])[0], atol=1e-5)
    assert predict_logits(model, []).numel() == 0


def test_dev_metrics_and_the_bf16_check(fresh, data) -> None:  # noqa: ANN001
    _, dev = data
    model = fresh(32)
    scores = dev_metrics(model, dev, 16, False, [model.length(e) for e in dev])
    golds = model.targets(dev)
    accuracy = sum(p == g for p, g in zip(predict(model, dev), golds, strict=True)) / len(dev)
    assert scores["accuracy"] == pytest.approx(accuracy) and scores["loss"] > 0
    check = bf16_check(model, dev, 16)
    assert set(check) == {"fp32_loss", "bf16_loss"}
    assert check["bf16_loss"] == pytest.approx(check["fp32_loss"], rel=0.05)
