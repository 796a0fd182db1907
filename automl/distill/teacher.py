"""The frozen teacher: its outputs computed once per example and cached, keyed by the example's content.

Classification: one logit row per example (classes,), a score () for regression. Tagging (ABS-6): one row
per word of the example (words, tags), taken at each word's first sub-token (transformers) or at the word
itself (scratch taggers), so a student with another tokenizer still lines up word by word. Words a model
truncated get no row; the student's loss masks them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace

import torch

from advisor.dataset import Example
from automl.models.base import TaskModel
from automl.training.inference import inference_batches, predict


def example_key(example: Example) -> str:
    """A content hash of what the model reads (not the label): the same text is the same key."""
    payload = json.dumps([example.text, example.text_b, list(example.tokens), list(example.features)],
                         ensure_ascii=False)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()


def freeze(teacher: TaskModel) -> TaskModel:
    """Eval mode (no dropout) and no gradients: only the student learns."""
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def unit_logits(model: TaskModel, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    """Per example: the logits row (classification) or the word-by-word rows (ABS-6)."""
    logits = logits.detach().float()
    if not model.labels.kind.is_tagging:
        return list(logits.cpu())
    out = []
    if "word_starts" in batch:  # transformer: each word's first sub-token; -1 = cut off by truncation
        starts, counts = batch["word_starts"], batch["num_words"]
        for row in range(logits.shape[0]):
            positions = starts[row, : int(counts[row])]
            positions = positions[positions >= 0]
            out.append(logits[row, positions].cpu())
    else:  # scratch tagger: position i is word i
        lengths = batch["lengths"]
        for row in range(logits.shape[0]):
            out.append(logits[row, : int(lengths[row])].cpu())
    return out


def student_unit_logits(model: TaskModel, logits: torch.Tensor, batch: dict[str, torch.Tensor],
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """ABS-6, differentiable: (batch, words, tags) logits at each word and the (batch, words) mask of real
    words, the same alignment `unit_logits` caches for the teacher."""
    if "word_starts" in batch:
        starts = batch["word_starts"]
        mask = starts >= 0
        index = starts.clamp(min=0).unsqueeze(-1).expand(-1, -1, logits.shape[-1])
        return logits.gather(1, index), mask
    lengths = batch["lengths"]
    mask = torch.arange(logits.shape[1], device=logits.device)[None, :] < lengths[:, None]
    return logits, mask


def teacher_outputs(teacher: TaskModel, examples: Sequence[Example], batch_size: int = 64,
                    cache: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The teacher's logits for every example not yet in `cache`, computed once (fp32, no gradients)."""
    cache = {} if cache is None else cache
    todo: dict[str, Example] = {}
    for e in examples:
        key = example_key(e)
        if key not in cache:
            todo.setdefault(key, e)
    keys = list(todo)
    batches = inference_batches(teacher, [todo[k] for k in keys], batch_size, bf16=False, with_targets=False)
    for indices, batch, logits, _ in batches:
        for i, rows in zip(indices, unit_logits(teacher, logits, batch), strict=True):
            cache[keys[i]] = rows.clone()
    return cache


def teacher_labels(teacher: TaskModel, examples: Sequence[Example], batch_size: int = 64) -> list[Example]:
    """The examples with the teacher's predictions as their labels (hard labels, DIST-4)."""
    predictions = predict(teacher, examples, batch_size=batch_size)
    kind = teacher.labels.kind
    out = []
    for e, p in zip(examples, predictions, strict=True):
        if kind.is_tagging:
            out.append(replace(e, tags=tuple(p)))
        elif kind.is_multilabel:
            out.append(replace(e, labels=tuple(p)))
        else:
            out.append(replace(e, label=str(p)))
    return out
