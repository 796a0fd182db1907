"""`TransformerModel`: a pretrained encoder with a task head behind the `TaskModel` interface."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import torch

from advisor.dataset import Example
from advisor.errors import UserError
from automl.models.base import MODEL_JSON, LabelSpace, Output, TaskModel, weight_decay_groups
from automl.models.byte_dropout import register_train_attention, use_byte_dropout
from automl.models.lazy_adam import LazyAdam
from automl.models.tag_scheme import constraint_penalties
from automl.models.transformer._decoding import decode, task_loss
from automl.models.transformer._encoding import (
    INPUT_KEYS,
    LabelIndex,
    collate_texts,
    collate_words,
    sequence_targets,
    text_length,
    word_length,
)
from automl.models.transformer._features import FeatureHead, features_tensor, text_head_overrides
from automl.models.transformer._first_token import cast_attention_input_once, top_layer_on_first_token
from automl.models.transformer._hub import auto_class, head_shape, load_tokenizer, quiet_transformers

FORMAT_VERSION = 1


class TransformerModel(TaskModel):
    family = "transformer"

    def __init__(self, network: Any, tokenizer: Any, labels: LabelSpace, max_length: int,
                 language: str = "", source: str = "", feature_stats: dict[str, list[float]] | None = None) -> None:
        super().__init__()
        self.network = network
        # ABS-4: numeric features join the text vector before the classes (_features.py)
        self.fusion = FeatureHead(feature_stats, len(labels.names)) if labels.kind.has_features and feature_stats else None
        if labels.kind.has_features and self.fusion is None:
            raise ValueError("an ABS-4 transformer needs its training features' statistics (feature_stats).")
        self.tokenizer = tokenizer
        self.labels = labels
        limit = getattr(network.config, "max_position_embeddings", None) or max_length
        if getattr(network.config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            limit -= 2  # RoBERTa's positions start after the padding index
        self.max_length = min(max_length, limit)
        self.language = language
        self.source = source
        self._index = LabelIndex(labels)
        self._tag_penalties = constraint_penalties(list(labels.names)) if labels.kind.is_tagging else None
        self._inference_attention = getattr(network.config, "_attn_implementation", None)
        use_byte_dropout(network)
        cast_attention_input_once(network)
        self.train(self.training)
        if not getattr(tokenizer, "is_fast", False):
            raise UserError(f"the tokenizer of {source or 'this model'} is not a fast (Rust) tokenizer",
                            fix="use a model folder with a tokenizer.json")

    # -- construction -----------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, source: str, labels: LabelSpace, max_length: int, language: str = "", *,
                        dropout: float | None = None, attention_dropout: float | None = None,
                        local_files_only: bool = False,
                        feature_stats: dict[str, list[float]] | None = None) -> TransformerModel:
        """A fresh task head on a pretrained encoder (a local folder or a hub id).

        `dropout` sets the hidden and classifier dropout, `attention_dropout` the attention one; None keeps
        the checkpoint's values (0.1 for BERT-likes).
        """
        from transformers import AutoConfig, AutoTokenizer

        num_labels, problem_type = head_shape(labels)
        overrides: dict[str, Any] = {
            "num_labels": num_labels,
            "problem_type": problem_type,
            "id2label": {i: n for i, n in enumerate(labels.names)} if labels.names else {0: "score"},
            "label2id": {n: i for i, n in enumerate(labels.names)} if labels.names else {"score": 0},
        }
        if labels.kind.is_span:  # ABS-9 (automl/models/span_qa): a start and an end logit per token
            overrides.update(id2label={0: "start", 1: "end"}, label2id={"start": 0, "end": 1})
        if labels.kind.has_features:
            overrides.update(text_head_overrides())
        with quiet_transformers():
            config = AutoConfig.from_pretrained(source, local_files_only=local_files_only)
            for key, value in overrides.items():
                setattr(config, key, value)
            if dropout is not None:
                for name in ("hidden_dropout_prob", "classifier_dropout", "dropout", "seq_classif_dropout"):
                    if hasattr(config, name):
                        setattr(config, name, dropout)
            if attention_dropout is not None:
                for name in ("attention_probs_dropout_prob", "attention_dropout"):
                    if hasattr(config, name):
                        setattr(config, name, attention_dropout)
            network = auto_class(labels).from_pretrained(source, config=config, dtype=torch.float32,
                                                         ignore_mismatched_sizes=True,
                                                         local_files_only=local_files_only)
            tokenizer = load_tokenizer(AutoTokenizer, source, labels, local_files_only)
        return cls(network, tokenizer, labels, max_length, language=language, source=source,
                   feature_stats=feature_stats)

    # -- TaskModel ---------------------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def train(self, mode: bool = True) -> TransformerModel:
        """Training on a CPU uses the eager attention, inference keeps the model's own (SDPA).

        With dropout on, torch's CPU SDPA takes its math path, which turns the boolean padding mask into
        an additive one and checks for fully masked rows in every layer; the eager attention gets the
        additive mask once. Measured here on MiniLM-L6, batch 32, bf16: 8 to 17% less CPU time a training
        step (same losses to 1e-2 over 7 steps, the dropout draws being the only difference). The eager
        attention used is `byte_dropout.TRAIN_ATTENTION`, whose probability dropout draws one random byte
        per element. Without dropout (eval) SDPA is the faster one, so eval() gives it back.
        """
        super().train(mode)
        config = getattr(getattr(self, "network", None), "config", None)
        original = getattr(self, "_inference_attention", None)
        if config is None or original not in ("sdpa", "eager"):
            return self
        on_cpu = next(self.network.parameters()).device.type == "cpu"
        config._attn_implementation = register_train_attention() if mode and on_cpu else original
        return self

    def configure_optimizer(self, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer | None:
        """On a CPU: the word-embedding table (half of MiniLM's parameters) switches to sparse gradients and
        `LazyAdam` updates only the rows a batch used; everything else gets fused AdamW as before. That takes
        the dense 11.7M-row gradient, its clipping and its AdamW pass off every step. None (the training
        loop's fused AdamW) elsewhere, or where the table is tied to an output layer."""
        embeddings = self.network.get_input_embeddings()
        if (self.device.type != "cpu" or not isinstance(embeddings, torch.nn.Embedding)
                or self.network.get_output_embeddings() is not None or not embeddings.weight.requires_grad):
            return None
        embeddings.sparse = True
        return LazyAdam(weight_decay_groups(self, weight_decay), lr=lr)

    def length(self, example: Example) -> int:
        if self.labels.kind.is_tagging:
            return word_length(self.tokenizer, example, self.max_length)
        return text_length(self.tokenizer, example, self.max_length)

    def collate(self, examples: list[Example], with_targets: bool = True) -> dict[str, torch.Tensor]:
        if self.labels.kind.is_tagging:
            return collate_words(self.tokenizer, examples, self.max_length, self._index, with_targets)
        batch = collate_texts(self.tokenizer, examples, self.max_length)
        if self.fusion is not None:
            batch["features"] = features_tensor(examples, self.fusion.width)
        if with_targets:
            batch["labels"] = sequence_targets(self.labels, self._index, examples)
        return batch

    def forward(self, **batch: torch.Tensor) -> Output:  # type: ignore[override]
        inputs = {k: batch[k] for k in INPUT_KEYS if k in batch}
        with self._top_layer_on_first_token():
            logits = self.network(**inputs).logits
        if self.fusion is not None:
            logits = self.fusion(logits, batch["features"])
        if self.labels.regression:
            logits = logits.squeeze(-1)
        targets = batch.get("labels")
        loss = None if targets is None else task_loss(self.labels, logits.float(), targets)
        return Output(loss=loss, logits=logits)

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        return decode(self.labels, logits, batch, self._tag_penalties)

    def _top_layer_on_first_token(self) -> contextlib.AbstractContextManager[Any]:
        """Sequence tasks run the top encoder layer for the first token only (`top_layer_on_first_token`:
        same logits, 1/7 fewer encoder matmuls on MiniLM-L6); token tasks read every position."""
        if self.labels.kind.is_tagging:
            return contextlib.nullcontext()
        return top_layer_on_first_token(self.network)

    def unk_ratio(self, examples: list[Example]) -> float:
        """Share of word pieces that are the unknown token: high means the vocabulary does not fit the
        language (MiniLM's English vocabulary turns 62.6% of Chinese characters into [UNK])."""
        unk = self.tokenizer.unk_token_id
        if unk is None or not examples:
            return 0.0
        pieces = hits = 0
        for e in examples:
            ids = self.collate([e], with_targets=False)["input_ids"][0].tolist()[1:-1]
            pieces += len(ids)
            hits += sum(i == unk for i in ids)
        return hits / pieces if pieces else 0.0

    # -- persistence -------------------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with quiet_transformers():
            self.network.save_pretrained(directory)
            self.tokenizer.save_pretrained(directory)
        meta = {
            "family": self.family,
            "format_version": FORMAT_VERSION,
            "task": self.labels.task,
            "labels": self.labels.to_dict(),
            "max_length": self.max_length,
            "language": self.language,
            "source": self.source,
        }
        if self.fusion is not None:
            self.fusion.save(directory)
            meta["feature_stats"] = self.fusion.stats
        (directory / MODEL_JSON).write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> TransformerModel:
        from transformers import AutoTokenizer

        directory = Path(directory)
        meta = json.loads((directory / MODEL_JSON).read_text(encoding="utf-8"))
        if meta.get("family") != cls.family:
            raise UserError(f"{directory} holds a {meta.get('family')!r} model, not a transformer",
                            fix="load it with automl.models.load_model")
        labels = LabelSpace.from_dict(meta["labels"])
        with quiet_transformers():
            network = auto_class(labels).from_pretrained(str(directory), dtype=torch.float32, local_files_only=True)
            tokenizer = load_tokenizer(AutoTokenizer, str(directory), labels, True)
        model = cls(network, tokenizer, labels, int(meta["max_length"]), language=meta.get("language", ""),
                    source=meta.get("source", ""), feature_stats=meta.get("feature_stats"))
        if model.fusion is not None:
            model.fusion.load_weights(directory)
        return model
