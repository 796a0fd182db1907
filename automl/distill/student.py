"""Students: the teacher cut to fewer layers (DIST-3), a smaller pretrained tier, or a from-scratch net.

Cutting keeps the width, so every kept weight is a pretrained (here: fine-tuned) one; changing the width
would throw the pretrained weights away (DIST-3). Kept layers are spread evenly and always include the top
one, whose output the task head was trained on: 6 -> 3 keeps layers 1, 3, 5; 6 -> 2 keeps 2, 5.
`layers:0,5` names the kept layers instead. The student remembers them (`cut_from`) so that TD1 can match
each kept layer's output to the teacher layer it was copied from.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from torch import nn

from advisor.dataset import Example
from advisor.errors import UserError
from automl.models.base import LabelSpace, TaskModel


def spread_layers(total: int, keep: int) -> list[int]:
    """`keep` of `total` layer indices, evenly spaced, the last one included."""
    if not 1 <= keep <= total:
        raise ValueError(f"keep must be between 1 and the teacher's {total} layers, but got {keep=}.")
    return [round((i + 1) * total / keep) - 1 for i in range(keep)]


def encoder_layers(model: TaskModel) -> nn.ModuleList:
    """The transformer's list of encoder layers (BERT, RoBERTa, ERNIE, MiniLM: `<base>.encoder.layer`)."""
    base = getattr(model, "network", None)
    base = getattr(base, "base_model", None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise UserError(f"cannot cut layers from a {model.family} model: no encoder.layer list",
                        fix="cut a BERT-shaped transformer, or name a smaller model or a scratch family as --student")
    return layers


def cut_layers(teacher: TaskModel, keep: int | list[int]) -> TaskModel:
    """A copy of `teacher` with only the chosen encoder layers (a count, spread evenly, or indices)."""
    layers = encoder_layers(teacher)
    indices = spread_layers(len(layers), keep) if isinstance(keep, int) else sorted(keep)
    if not indices or len(set(indices)) != len(indices) or any(not 0 <= i < len(layers) for i in indices):
        raise UserError(f"cannot keep layers {indices} of a {len(layers)}-layer teacher",
                        fix=f"name distinct layer indices from 0 to {len(layers) - 1}, e.g. layers:0,{len(layers) - 1}")
    student = copy.deepcopy(teacher)
    for p in student.parameters():
        p.requires_grad_(True)
    kept = encoder_layers(student)
    new = nn.ModuleList([kept[i] for i in indices])
    network: Any = getattr(student, "network")  # noqa: B009 (a TransformerModel attribute, typed Any)
    base = network.base_model
    base.encoder.layer = new
    for position, layer in enumerate(new):  # attention modules carry their index (caches, logging)
        attention = getattr(getattr(layer, "attention", None), "self", None)
        if attention is not None and hasattr(attention, "layer_idx"):
            attention.layer_idx = position
    network.config.num_hidden_layers = len(indices)
    student.cut_from = list(indices)  # type: ignore[assignment]  # teacher layer of each kept layer (TD1)
    student.train()
    return student


def parse_layers(student: str) -> int | list[int] | None:
    """"3", "layers:3" or "L3" -> 3; "layers:0,5" -> [0, 5] (the kept indices); anything else None (a name)."""
    text = student.strip().lower()
    if count := re.fullmatch(r"(?:layers[:=]|l)?(\d+)", text):
        return int(count.group(1))
    if indices := re.fullmatch(r"layers[:=](\d+(?:\s*,\s*\d+)+)", text):
        return [int(i) for i in indices.group(1).split(",")]
    return None


def default_student(teacher: TaskModel, method: str) -> str:
    """Model distillation of a transformer: half its layers (at least 2); otherwise a BOW (DIST-4)."""
    if method == "model" and teacher.family == "transformer":
        total = len(encoder_layers(teacher))
        return f"layers:{max(1, min(total - 1, max(2, total // 2)))}"
    return "bow"


def build_student(spec: str, teacher: TaskModel, labels: LabelSpace, train: list[Example], language: str,
                  **hparams: Any) -> TaskModel:
    """A fresh student: a layer cut of the teacher, a tier or directory, or a scratch family."""
    from automl.models import build_model, resolve_model

    layers = parse_layers(spec)
    if layers is not None:
        return cut_layers(teacher, layers)
    model_spec = resolve_model(spec)
    return build_model(model_spec, labels, train, teacher.max_length, language, **hparams)
