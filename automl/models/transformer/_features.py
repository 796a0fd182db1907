"""Text plus numeric features (ABS-4) on a transformer: the features, standardized with the training data's
mean and standard deviation, are concatenated to the text vector before the classifier head.

The encoder's own sequence-classification head is resized to `TEXT_VECTOR` outputs, a linear map of the
pooled text (BERT: the pooler's [CLS] vector after dropout), so the fusion works alike for every
architecture the Auto classes build and the encoder folder saves and loads as any other. `FeatureHead`
then reads [text vector; standardized features] through one hidden layer to the classes. Its weights and
the statistics go beside the encoder (`FEATURE_HEAD_FILE`, the model's JSON).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from advisor.dataset import Example
from advisor.errors import UserError

TEXT_VECTOR = 128  # as wide as the from-scratch nets' hidden layer (presets/models.toml: hidden = 128)
FEATURE_HEAD_FILE = "feature_head.safetensors"


def feature_stats(examples: Sequence[Example]) -> dict[str, list[float]]:
    """Per-feature mean and standard deviation over the training examples (a constant feature: std 1)."""
    rows = [list(e.features) for e in examples]
    width = len(rows[0]) if rows else 0
    if width == 0 or any(len(r) != width for r in rows):
        widths = sorted({len(r) for r in rows})
        raise ValueError(f"every example needs the same number of features (1 or more), but got {widths}.")
    cols = [[r[j] for r in rows] for j in range(width)]
    means = [sum(c) / len(c) for c in cols]
    stds = [math.sqrt(sum((x - m) ** 2 for x in c) / len(c)) for c, m in zip(cols, means, strict=True)]
    return {"feature_mean": means, "feature_std": [s if s > 1e-8 else 1.0 for s in stds]}


def text_head_overrides() -> dict[str, Any]:
    """The encoder config's head: `TEXT_VECTOR` outputs, no loss of its own (the labels stay out of it)."""
    return {"num_labels": TEXT_VECTOR, "problem_type": None,
            "id2label": {i: f"text_{i}" for i in range(TEXT_VECTOR)},
            "label2id": {f"text_{i}": i for i in range(TEXT_VECTOR)}}


class FeatureHead(nn.Module):
    """[text vector; (features - mean) / std] -> hidden (ReLU, dropout) -> class logits."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, stats: dict[str, list[float]], classes: int, text_dim: int = TEXT_VECTOR,
                 hidden: int = TEXT_VECTOR, dropout: float = 0.1) -> None:
        super().__init__()
        self.stats = {k: list(v) for k, v in stats.items()}
        self.register_buffer("mean", torch.tensor(stats["feature_mean"], dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(stats["feature_std"], dtype=torch.float32), persistent=False)
        width = len(stats["feature_mean"])
        self.layers = nn.Sequential(nn.Linear(text_dim + width, hidden), nn.ReLU(), nn.Dropout(dropout),
                                    nn.Linear(hidden, classes))

    @property
    def width(self) -> int:
        return int(self.mean.numel())

    def forward(self, text: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        scaled = (features.float() - self.mean) / self.std
        return self.layers(torch.cat([text, scaled.to(text.dtype)], dim=-1))

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(Path(directory) / FEATURE_HEAD_FILE), metadata={"format": "pt"})

    def load_weights(self, directory: Path) -> None:
        from safetensors.torch import load_file

        self.load_state_dict(load_file(str(Path(directory) / FEATURE_HEAD_FILE)))


def features_tensor(examples: Sequence[Example], width: int) -> torch.Tensor:
    """The raw features of a batch (the head standardizes them); a row of another width is refused."""
    for e in examples:
        if len(e.features) != width:
            raise UserError(f"the model reads {width} numeric features beside each text, but line {e.line} "
                            f"has {len(e.features)}", fix=f"give every row its {width} numeric feature columns")
    return torch.tensor([list(e.features) for e in examples], dtype=torch.float32)
