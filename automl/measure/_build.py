"""A tier's network with random weights, built from its shape the way automl builds the trained one.

From-scratch nets go through automl's own `build_scratch` (vocabulary from the rows given); transformers
are a `TransformerModel` around `AutoModelFor...from_config`: the shipped config.json and tokenizer when
the tier is installed (MiniLM-L6), else a BERT config of the preset's shape (ERNIE 3.0 and the Chinese
BERT/RoBERTa models are BERT-shaped encoders) and a synthetic tokenizer of the preset's vocabulary size.
Nothing is downloaded, and no pretrained weight is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from advisor.dataset import Example
from automl.measure._inputs import synthetic_tokenizer
from automl.models.base import LabelSpace, TaskModel
from automl.run import p95_length as max_length_for  # automl run's rule: p95 in the model's units, x16
from presets.catalog import MAX_POSITIONS
from presets.catalog import SCRATCH_FAMILIES as SCRATCH

LENGTH_ROWS = 2000  # automl run takes max_length from the first 2,000 training rows (run.probe_models)


def build_random(tier: Any, labels: LabelSpace, examples: list[Example], language: str, seed: int = 0) -> TaskModel:
    """`tier` is a presets.catalog.ModelTier (name, family and shape fields, local_path())."""
    torch.manual_seed(seed)
    if tier.family in SCRATCH:
        from automl.models.scratch import build_scratch

        sample = examples[:LENGTH_ROWS]
        probe = build_scratch(tier.family, labels, sample, language, MAX_POSITIONS)
        return build_scratch(tier.family, labels, examples, language, max_length_for(probe, sample))
    if tier.family != "transformer":
        raise ValueError(f"cannot build family {tier.family!r}; known: transformer, {', '.join(SCRATCH)}.")
    network, tokenizer = _transformer_parts(tier, labels, language)
    from automl.models.transformer import TransformerModel

    kind: type[TransformerModel] = TransformerModel
    if labels.kind.is_span:  # ABS-9: the start/end head and its windows (automl/models/span_qa)
        from automl.models.span_qa import SpanQATransformer

        kind = SpanQATransformer
    model = kind(network, tokenizer, labels, MAX_POSITIONS, language=language, source=tier.name)
    model.max_length = min(model.max_length, max_length_for(model, examples[:LENGTH_ROWS]))
    return model


def shipped_words(tier: Any, limit: int = 20_000) -> list[str] | None:
    """Whole lowercase words of an installed tier's own vocabulary (None for other tiers): synthetic text
    made of them splits into word pieces the way real text does, instead of into letters."""
    local: Path | None = tier.local_path() if tier.family == "transformer" else None
    vocab = local / "vocab.txt" if local is not None else None
    if vocab is None or not vocab.is_file():
        return None
    words = [w for w in vocab.read_text(encoding="utf-8").split() if w.isascii() and w.isalpha() and len(w) > 1]
    return words[:limit] or None


def _transformer_parts(tier: Any, labels: LabelSpace, language: str) -> tuple[Any, Any]:
    from transformers import AutoConfig, AutoTokenizer, BertConfig

    from automl.models.transformer import auto_class, head_shape, quiet_transformers

    local: Path | None = tier.local_path()
    num_labels, problem_type = head_shape(labels)
    with quiet_transformers():
        if local is not None and (local / "config.json").is_file():
            config = AutoConfig.from_pretrained(str(local), local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(str(local), local_files_only=True)
        else:
            config = BertConfig(vocab_size=tier.vocab, hidden_size=tier.hidden, num_hidden_layers=tier.layers,
                                num_attention_heads=tier.heads, intermediate_size=tier.intermediate,
                                max_position_embeddings=MAX_POSITIONS)
            tokenizer = synthetic_tokenizer(tier.vocab, language)
        config.num_labels = num_labels
        config.problem_type = problem_type
        network = auto_class(labels).from_config(config, attn_implementation="sdpa")
    return network.float(), tokenizer
