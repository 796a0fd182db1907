"""The one interface every network implements, pretrained or from scratch.

The training loop (automl/training/), the batch-size search, serving-QPS measurement and
distillation only ever talk to a `TaskModel`; each family owns its own preprocessing
(tokenizer or vocabulary), head and save format.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from advisor.dataset import Example
from presets.catalog import TaskType
from presets.catalog import task as task_type

MODEL_JSON = "automl_model.json"  # in every folder `TaskModel.save` writes: family, task, labels; load_model reads it


@dataclass
class LabelSpace:
    """What the head predicts.

    ABS-1/2: `names` are the classes.  ABS-3: `names` are the labels, each independent.
    ABS-5: `names` are ["0", "1"] for a binary label, or empty with `regression=True` for a score.
    ABS-6: `names` are the BIO tags ("O", "B-LOC", "I-LOC", ...).
    """

    task: str
    names: list[str] = field(default_factory=list)
    regression: bool = False

    @property
    def kind(self) -> TaskType:
        """The task abstraction in the catalog (presets/tasks.toml): `labels.kind.is_tagging`, ..."""
        return task_type(self.task)

    def to_dict(self) -> dict[str, Any]:
        return {"task": str(self.task), "names": self.names, "regression": self.regression}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelSpace:
        return cls(task=data["task"], names=list(data["names"]), regression=bool(data["regression"]))


@dataclass
class Output:
    loss: torch.Tensor | None
    logits: torch.Tensor  # (batch, classes) or (batch, seq, tags) or (batch,) for a score


class TaskModel(nn.Module, ABC):
    """A network with a task head and its own preprocessing."""

    family: str  # "transformer", "bow", "cnn", "gru", "lstm"
    labels: LabelSpace
    max_length: int

    @abstractmethod
    def length(self, example: Example) -> int:
        """Input length in model units (tokens or characters), for length bucketing."""

    @abstractmethod
    def collate(self, examples: list[Example], with_targets: bool = True) -> dict[str, torch.Tensor]:
        """Encode and pad a batch to its own longest member (dynamic padding)."""

    @abstractmethod
    def forward(self, **batch: torch.Tensor) -> Output:  # type: ignore[override]
        """Logits, and the loss when the batch carries targets."""

    @abstractmethod
    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        """Turn logits into predictions in the data's own terms:
        a label name (ABS-1/2/5 binary), a tuple of label names (ABS-3), a float (ABS-5 score),
        a tuple of tags per token of the original example (ABS-6)."""

    def serve(self, examples: list[Example]) -> list[Any]:
        """Predictions for one request batch the way a server runs it: encode, forward, decode, no
        gradients. Families with a leaner inference form override it (same predictions, less work)."""
        device = next(self.parameters()).device
        with torch.inference_mode():
            batch = self.collate(examples, with_targets=False)
            if device.type != "cpu":
                batch = {k: v.to(device) for k, v in batch.items()}
            return self.decode(self(**batch).logits, batch)

    def targets(self, examples: list[Example]) -> list[Any]:
        """The gold answers in the same terms as `decode` returns."""
        kind = self.labels.kind
        if kind.is_multilabel:
            return [tuple(e.labels) for e in examples]
        if kind.is_tagging:
            return [tuple(e.tags) for e in examples]
        if self.labels.regression:
            return [float(e.label or 0.0) for e in examples]
        return [e.label for e in examples]

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Weights as safetensors plus what `load` needs (config, vocab or tokenizer, labels)."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path) -> TaskModel:
        """Rebuild from `save`'s folder without unpickling anything (safetensors, JSON, text)."""

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def weight_decay_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Optimizer parameter groups: weight decay on weight matrices, none on biases and norm weights
    (BERT's and the HF examples' rule); frozen parameters left out."""
    decay: list[nn.Parameter] = []
    plain: list[nn.Parameter] = []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (plain if parameter.ndim < 2 or "norm" in name.lower() else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]
