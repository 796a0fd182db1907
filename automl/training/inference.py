"""A model over many examples without gradients: predictions, raw outputs, dev metrics, the bf16 check.

Examples run sorted by length (little padding) and come back in their own order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch

from advisor.dataset import Example
from automl.metrics import evaluate
from automl.models.base import TaskModel
from automl.training.device import to_device
from automl.training.precision import autocast

Batch = tuple[list[int], dict[str, torch.Tensor], torch.Tensor, float | None]


def inference_batches(model: TaskModel, examples: Sequence[Example], batch_size: int, bf16: bool,
                      with_targets: bool, lengths: Sequence[int] | None = None) -> Iterator[Batch]:
    """(indices, batch, logits, loss) over `examples` sorted by length; eval mode, no gradients."""
    if not examples:
        return
    device = next(model.parameters()).device
    if lengths is None:
        lengths = [model.length(e) for e in examples]
    order = sorted(range(len(examples)), key=lengths.__getitem__)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                indices = order[start:start + batch_size]
                batch = to_device(model.collate([examples[i] for i in indices], with_targets=with_targets), device)
                with autocast(device, bf16):
                    out = model(**batch)
                loss = None if out.loss is None else float(out.loss)
                yield indices, batch, out.logits, loss
    finally:
        model.train(was_training)


def predict(model: TaskModel, examples: Sequence[Example], batch_size: int = 64, *, bf16: bool = False) -> list[Any]:
    """Predictions in the data's own terms, in the order of `examples` (batched by length, no gradients)."""
    out: list[Any] = [None] * len(examples)
    for indices, batch, logits, _ in inference_batches(model, examples, batch_size, bf16, with_targets=False):
        for i, prediction in zip(indices, model.decode(logits, batch), strict=True):
            out[i] = prediction
    return out


def predict_logits(model: TaskModel, examples: Sequence[Example], batch_size: int = 64, *, bf16: bool = False
                   ) -> torch.Tensor:
    """The model's raw outputs (batch-first, fp32 on the CPU), in the order of `examples`. Sequence outputs
    of different lengths are not stacked: classification and scores only."""
    rows: list[torch.Tensor] = [torch.empty(0)] * len(examples)
    for indices, _, logits, _ in inference_batches(model, examples, batch_size, bf16, with_targets=False):
        for i, row in zip(indices, logits.float().cpu(), strict=True):
            rows[i] = row
    return torch.stack(rows) if rows else torch.empty(0)


def ranks_classes(model: TaskModel) -> bool:
    """Whether the task reports a ranking score (AUC) from class probabilities: ABS-4, whose metric note
    in presets/tasks.toml names AUC for rare clicks."""
    return model.labels.kind.has_features and not model.labels.regression


def class_probabilities(model: TaskModel, examples: Sequence[Example], batch_size: int = 64) -> list[list[float]]:
    """Each example's softmax over the classes, in the order of `examples`."""
    return predict_logits(model, examples, batch_size).softmax(-1).tolist()


def dev_metrics(model: TaskModel, dev: Sequence[Example], batch_size: int, bf16: bool,
                lengths: Sequence[int]) -> dict[str, float]:
    """Every metric of the task on `dev`, plus the mean dev loss as "loss"."""
    preds: list[Any] = [None] * len(dev)
    ranked = ranks_classes(model)
    probs: list[Any] = [None] * len(dev)
    loss_sum = 0.0
    for indices, batch, logits, loss in inference_batches(model, dev, batch_size, bf16, True, lengths):
        rows = logits.float().softmax(-1).tolist() if ranked else [None] * len(indices)
        for i, prediction, row in zip(indices, model.decode(logits, batch), rows, strict=True):
            preds[i], probs[i] = prediction, row
        loss_sum += (loss or 0.0) * len(indices)
    scores = evaluate(model.labels.task, model.labels, model.targets(list(dev)), preds, probs if ranked else None)
    scores["loss"] = loss_sum / len(dev)
    return scores


def bf16_check(model: TaskModel, dev: Sequence[Example], batch_size: int) -> dict[str, float]:
    """The loss of one dev batch under bf16 autocast and in fp32: cheap proof that bf16 keeps the score."""
    sample = list(dev[:batch_size])
    losses = {}
    for name, bf16 in (("fp32_loss", False), ("bf16_loss", True)):
        total = 0.0
        for indices, _, _, loss in inference_batches(model, sample, batch_size, bf16, with_targets=True):
            total += (loss or 0.0) * len(indices)
        losses[name] = total / len(sample)
    return losses
