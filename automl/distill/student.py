"""Students: the teacher cut to fewer layers (DIST-3), a smaller pretrained tier, or a from-scratch net.

Cutting keeps the width, so every kept weight is a pretrained (here: fine-tuned) one; changing the width
would throw the pretrained weights away (DIST-3). Kept layers are spread evenly and always include the top
one, whose output the task head was trained on: 6 -> 3 keeps layers 1, 3, 5; 6 -> 2 keeps 2, 5.
`layers:0,5` names the kept layers instead. The student remembers them (`cut_from`) so that TD1 can match
each kept layer's output to the teacher layer it was copied from.

`,ffn:W` (`layers:3,ffn:1024`) also narrows each kept layer's feed-forward block to its W most important
neurons (structured pruning): a neuron's importance is its mean |activation| on training text times the
norm of its output weights, so every weight left is still a pretrained one and the hidden size, which TD1
matches, is untouched. The feed-forward block is 2/3 of a BERT layer's matmuls, so the speed can be cut
finer than whole layers: at equal precision a 3-of-6 cut is capped just under 2x by the embeddings and
the decoding every model pays.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from advisor.dataset import Example
from advisor.errors import UserError
from automl.models import build_model, resolve_model
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


def ffn_importance(model: TaskModel, examples: Sequence[Example], sample: int = 256, batch_size: int = 32
                   ) -> list[torch.Tensor]:
    """Per encoder layer, each feed-forward neuron's mean |activation| over the real tokens of up to
    `sample` training examples (spread over the data), times the L2 norm of its output weights."""
    layers: list[Any] = list(encoder_layers(model))  # BERT-shaped layers: .intermediate.dense, .output.dense
    step = max(1, len(examples) // sample)
    chosen = list(examples[::step])[:sample]
    sums = [torch.zeros(layer.intermediate.dense.out_features) for layer in layers]
    device = layers[0].intermediate.dense.weight.device
    mask: list[torch.Tensor] = []

    def hook(position: int) -> Any:
        def add(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            # full length in every layer: a classifier's top layer skips its first-token shortcut while hooked
            sums[position] += (output.float().abs() * mask[0][..., None]).sum((0, 1)).cpu()
        return add

    handles = [layer.intermediate.register_forward_hook(hook(i)) for i, layer in enumerate(layers)]
    was_training = model.training
    model.eval()
    tokens = 0
    try:
        with torch.inference_mode():
            for start in range(0, len(chosen), batch_size):
                batch = model.collate(chosen[start:start + batch_size], with_targets=False)
                batch = {k: v.to(device) for k, v in batch.items()}
                mask[:] = [batch["attention_mask"].float()]
                tokens += int(mask[0].sum())
                model(**batch)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return [total / max(tokens, 1) * layer.output.dense.weight.detach().float().norm(dim=0).cpu()
            for total, layer in zip(sums, layers, strict=True)]


def prune_ffn(model: TaskModel, width: int, examples: Sequence[Example]) -> TaskModel:
    """Narrow every encoder layer's feed-forward block, in place, to its `width` most important neurons
    (`ffn_importance`), kept in their original order."""
    layers: list[Any] = list(encoder_layers(model))
    if not all(hasattr(layer, "intermediate") and hasattr(layer, "output") for layer in layers):
        model_type = getattr(getattr(getattr(model, "network", None), "config", None), "model_type", model.family)
        raise UserError(f"cannot narrow the feed-forward blocks of a {model_type} model",
                        fix="drop ,ffn:W, or cut a BERT-shaped transformer (BERT, RoBERTa, ERNIE, MiniLM)")
    full = layers[0].intermediate.dense.out_features
    if not 1 <= width <= full:
        raise UserError(f"ffn:{width} does not fit a feed-forward block of {full} neurons",
                        fix=f"name a width from 1 to {full}, e.g. ffn:{full * 2 // 3}")
    if width == full:
        return model
    from transformers.pytorch_utils import prune_linear_layer  # what BERT's own head pruning uses

    for layer, score in zip(layers, ffn_importance(model, examples), strict=True):
        keep: Any = score.topk(width).indices.sort().values  # int64: the LongTensor the helper is typed for
        layer.intermediate.dense = prune_linear_layer(layer.intermediate.dense, keep, dim=0)
        layer.output.dense = prune_linear_layer(layer.output.dense, keep, dim=1)
    network: Any = getattr(model, "network")  # noqa: B009 (a TransformerModel attribute, typed Any)
    network.config.intermediate_size = width  # save_pretrained / from_pretrained build the narrow shapes
    return model


def split_ffn(student: str) -> tuple[str, int | None]:
    """"layers:3,ffn:1024" -> ("layers:3", 1024); a spec without ",ffn:W" comes back unchanged with None."""
    if found := re.fullmatch(r"(.+?)\s*,\s*ffn\s*[:=]\s*(\d+)", student.strip(), flags=re.IGNORECASE):
        return found.group(1), int(found.group(2))
    if re.search(r"\bffn\b", student, flags=re.IGNORECASE):
        raise UserError(f"cannot read the feed-forward width in student {student!r}",
                        fix="put it last, after the layers: layers:3,ffn:1024")
    return student, None


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
    spec, ffn = split_ffn(spec)
    layers = parse_layers(spec)
    if layers is not None:
        student = cut_layers(teacher, layers)
        return student if ffn is None else prune_ffn(student, ffn, train)
    if ffn is not None:
        raise UserError(f"ffn:{ffn} narrows a student cut from the teacher, not {spec!r}",
                        fix=f"use layers:N,ffn:{ffn}, or drop ,ffn:{ffn}")
    model_spec = resolve_model(spec)
    return build_model(model_spec, labels, train, teacher.max_length, language, **hparams)
