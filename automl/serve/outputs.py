"""What a prediction says in JSON: a label with every class's probability, the labels that apply with
theirs, a score, or the tags of each token with the entity spans they make.

`automl predict` and `automl serve` answer through `answer_batch`, so a file and a request get the same
answer for the same text. The label comes from the model's own `decode` (a tagger's best well-formed path,
a scratch regressor's de-normalised score); the probabilities from the same logits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from advisor.dataset import Example
from automl.models.base import TaskModel
from automl.models.ensemble import probabilities

Forward = Callable[[dict[str, torch.Tensor]], torch.Tensor]  # a collated batch -> logits (e.g. onnxruntime)


def answer_batch(model: TaskModel, examples: Sequence[Example], forward: Forward | None = None
                 ) -> list[dict[str, Any]]:
    """One JSON-ready answer per example, from a single forward pass over them (no gradients).

    Classification: {"label", "probabilities": {name: p}}; multi-label (ABS-3): {"labels", "probabilities"};
    a score: {"score"}; reading comprehension (ABS-9): {"answer", "start", "end", "score"}, `end` exclusive, in
    characters of the context; tagging (ABS-6): {"tokens", "tags", "spans": [{"type", "start", "end", "text"}]},
    `end` exclusive, in tokens. `forward` replaces the model's own forward (an ONNX session's logits).
    """
    if not examples:
        return []
    batch = model.collate(list(examples), with_targets=False)
    with torch.inference_mode():
        logits = forward(batch) if forward is not None else model(**batch).logits
        decoded = model.decode(logits, batch)
    labels = model.labels
    if labels.kind.is_language_model:  # ABS-8: each sentence's score
        return [{"log_prob": s.log_prob, "units": s.units, "perplexity": s.perplexity} for s in decoded]
    if labels.kind.is_span:  # ABS-9: the answer span, its characters in the context and start + end logit
        return [{"answer": a.text, "start": a.start, "end": a.end,
                 "score": round(a.score, 6) if math.isfinite(a.score) else None} for a in decoded]
    if labels.kind.is_generation:  # ABS-7: the generated text
        return [{"text": str(text)} for text in decoded]
    if labels.kind.is_tagging:
        return [tag_answer(e.tokens, tags) for e, tags in zip(examples, decoded, strict=True)]
    if labels.regression:
        return [{"score": float(score)} for score in decoded]
    p = probabilities(labels, logits).tolist()
    if labels.kind.is_multilabel:
        return [{"labels": list(chosen), "probabilities": _named(labels.names, row)}
                for chosen, row in zip(decoded, p, strict=True)]
    return [{"label": label, "probabilities": _named(labels.names, row)} for label, row in zip(decoded, p, strict=True)]


def answers(model: TaskModel, examples: Sequence[Example], batch_size: int = 32, forward: Forward | None = None
            ) -> list[dict[str, Any]]:
    """`answer_batch` over any number of examples: batches of similar length (less padding), input order kept."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, but got {batch_size=}.")
    model.eval()
    order = sorted(range(len(examples)), key=lambda i: model.length(examples[i]))
    out: list[dict[str, Any]] = [{} for _ in examples]
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        for i, got in zip(chunk, answer_batch(model, [examples[i] for i in chunk], forward), strict=True):
            out[i] = got
    return out


def tag_answer(tokens: Sequence[str], tags: Sequence[str]) -> dict[str, Any]:
    """Tags with the entity spans they make (seqeval's reading of BIO, BIOES and IOB1)."""
    from seqeval.metrics.sequence_labeling import get_entities

    joiner = " " if any(len(t) > 1 for t in tokens) else ""  # words are spaced, characters are not
    spans = [{"type": kind, "start": start, "end": end + 1, "text": joiner.join(tokens[start:end + 1])}
             for kind, start, end in get_entities(list(tags))]
    return {"tokens": list(tokens), "tags": list(tags), "spans": spans}


def _named(names: Sequence[str], row: Sequence[float]) -> dict[str, float]:
    return {name: round(float(p), 6) for name, p in zip(names, row, strict=True)}
