"""Pretrained transformers (BERT, RoBERTa, ERNIE, MiniLM, ...) behind the `TaskModel` interface.

One class for every task automl trains, through the transformers Auto classes:

| task | head | targets | decode |
|---|---|---|---|
| ABS-1, ABS-2 (pair: the tokenizer's text pair) | sequence classification | class index | label name |
| ABS-3 | sequence classification, `multi_label_classification`, BCE | multi-hot | names with p > 0.5 |
| ABS-5 binary ("0"/"1") | sequence classification, 2 classes | class index | "0" or "1" |
| ABS-5 score | sequence classification, 1 output, MSE | float | float |
| ABS-6 | token classification | tag on each word's first sub-token, -100 elsewhere | one tag per word |

ABS-6 words are the example's tokens (one character each for Chinese). A word the tokenizer drops (a space,
a control character, a lone combining mark) is replaced by the unknown token, so every word inside the
`max_length` window gets a prediction; words cut off by truncation are predicted "O".

The loss is computed here, in fp32 from the logits, so bf16 autocast changes only the matmuls.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from advisor.dataset import Example
from advisor.errors import UserError
from automl.models.base import LabelSpace, Output, TaskModel, weight_decay_groups
from automl.models.byte_dropout import TRAIN_ATTENTION, register_train_attention, use_byte_dropout
from automl.models.lazy_adam import LazyAdam
from automl.models.tag_scheme import constraint_penalties, viterbi

MODEL_JSON = "automl_model.json"
FORMAT_VERSION = 1
_INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids")


class TransformerModel(TaskModel):
    family = "transformer"

    def __init__(self, network: Any, tokenizer: Any, labels: LabelSpace, max_length: int,
                 language: str = "", source: str = "") -> None:
        super().__init__()
        self.network = network
        self.tokenizer = tokenizer
        self.labels = labels
        limit = getattr(network.config, "max_position_embeddings", None) or max_length
        if getattr(network.config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            limit -= 2  # RoBERTa's positions start after the padding index
        self.max_length = min(max_length, limit)
        self.language = language
        self.source = source
        self._tag_index = {name: i for i, name in enumerate(labels.names)}
        self._tag_penalties = constraint_penalties(list(labels.names)) if labels.task == "ABS-6" else None
        self._inference_attention = getattr(network.config, "_attn_implementation", None)
        use_byte_dropout(network)
        _cast_attention_input_once(network)
        self.train(self.training)
        if not getattr(tokenizer, "is_fast", False):
            raise UserError(f"the tokenizer of {source or 'this model'} is not a fast (Rust) tokenizer",
                            fix="use a model folder with a tokenizer.json")

    # -- construction -----------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, source: str, labels: LabelSpace, max_length: int, language: str = "", *,
                        dropout: float | None = None, attention_dropout: float | None = None,
                        local_files_only: bool = False) -> TransformerModel:
        """A fresh task head on a pretrained encoder (a local folder or a hub id).

        `dropout` sets the hidden and classifier dropout, `attention_dropout` the attention one; None keeps
        the checkpoint's values (0.1 for BERT-likes).
        """
        from transformers import AutoConfig, AutoTokenizer

        num_labels, problem_type = _head_shape(labels)
        overrides: dict[str, Any] = {
            "num_labels": num_labels,
            "problem_type": problem_type,
            "id2label": {i: n for i, n in enumerate(labels.names)} if labels.names else {0: "score"},
            "label2id": {n: i for i, n in enumerate(labels.names)} if labels.names else {"score": 0},
        }
        with _quiet_transformers():
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
            auto = _auto_class(labels)
            network = auto.from_pretrained(source, config=config, dtype=torch.float32,
                                           ignore_mismatched_sizes=True, local_files_only=local_files_only)
            tokenizer = _load_tokenizer(AutoTokenizer, source, labels, local_files_only)
        return cls(network, tokenizer, labels, max_length, language=language, source=source)

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
        if self.labels.task == "ABS-6":
            enc, _ = self._encode_words([list(example.tokens)])
            return int(enc["attention_mask"].sum())
        enc = self.tokenizer(example.text, example.text_b, truncation=True, max_length=self.max_length)
        return len(enc["input_ids"])

    def collate(self, examples: list[Example], with_targets: bool = True) -> dict[str, torch.Tensor]:
        if self.labels.task == "ABS-6":
            return self._collate_tokens(examples, with_targets)
        texts = [e.text for e in examples]
        pairs = [e.text_b or "" for e in examples] if any(e.text_b is not None for e in examples) else None
        enc = self.tokenizer(texts, pairs, truncation=True, max_length=self.max_length, padding=True,
                             return_tensors="pt")
        batch = {k: enc[k] for k in _INPUT_KEYS if k in enc}
        if with_targets:
            batch["labels"] = self._sequence_targets(examples)
        return batch

    def forward(self, **batch: torch.Tensor) -> Output:  # type: ignore[override]
        inputs = {k: batch[k] for k in _INPUT_KEYS if k in batch}
        with self._top_layer_on_first_token():
            logits = self.network(**inputs).logits
        if self.labels.regression:
            logits = logits.squeeze(-1)
        targets = batch.get("labels")
        loss = None if targets is None else self._loss(logits.float(), targets)
        return Output(loss=loss, logits=logits)

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        logits = logits.detach().float().cpu()
        names = self.labels.names
        task = self.labels.task
        if task == "ABS-6":
            return self._decode_tags(logits, batch)
        if task == "ABS-3":
            chosen = (torch.sigmoid(logits) > 0.5).tolist()
            return [tuple(n for n, on in zip(names, row, strict=True) if on) for row in chosen]
        if self.labels.regression:
            return [float(x) for x in logits.tolist()]
        return [names[i] for i in logits.argmax(-1).tolist()]

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with _quiet_transformers():
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
        with _quiet_transformers():
            network = _auto_class(labels).from_pretrained(str(directory), dtype=torch.float32, local_files_only=True)
            tokenizer = _load_tokenizer(AutoTokenizer, str(directory), labels, True)
        return cls(network, tokenizer, labels, int(meta["max_length"]), language=meta.get("language", ""),
                   source=meta.get("source", ""))

    # -- helpers -----------------------------------------------------------------------------------------

    def _top_layer_on_first_token(self) -> contextlib.AbstractContextManager[Any]:
        """For sequence tasks, run the top encoder layer for the first token only (see `_first_token_layer`).

        The head of a BERT-shaped sequence classifier reads the top layer's output at the first token
        ([CLS]) and nothing else, so the top layer's query, attention output and feed-forward at every other
        position are wasted: 10 of its 12 H^2 matmul units per token, 1/7 of MiniLM-L6's encoder matmuls,
        forward and backward. Same logits (the test checks to 1e-5). Skipped for token tasks, for models
        whose head or layer is shaped otherwise, and while hooks watch the top layer (distillation's TD1
        captures its query, key and value at every token).
        """
        if self.labels.task == "ABS-6":
            return contextlib.nullcontext()
        layer = _first_token_layer(self.network)
        if layer is None:
            return contextlib.nullcontext()
        return _patched_forward(layer, _first_token_forward)

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

    def _decode_tags(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[tuple[str, ...]]:
        """Each word's tag, read at its first sub-token: the best well-formed BIO (or BIOES) path (Viterbi over the
        log-probabilities, `tag_scheme`), not each position's argmax, which leaves `I-X` tags that follow no
        X. Words past the truncation window have no sub-token and are tagged O."""
        names = self.labels.names
        starts = batch["word_starts"].cpu()
        counts = batch["num_words"].cpu()
        in_window = starts >= 0  # a prefix of each row: only truncation leaves a word without a sub-token
        in_window[:, 0] = True  # viterbi wants one real position a row; rows without words are cut below
        scores = logits.log_softmax(-1).gather(1, starts.clamp(min=0)[:, :, None].expand(-1, -1, logits.shape[-1]))
        assert self._tag_penalties is not None  # set for ABS-6 models
        start, transitions, end = self._tag_penalties
        paths = viterbi(scores, in_window, transitions, start, end).tolist()
        out = []
        for row, n in enumerate(counts.tolist()):
            kept = int((starts[row, :n] >= 0).sum())
            out.append(tuple(names[i] for i in paths[row][:kept]) + ("O",) * (n - kept))
        return out

    def _sequence_targets(self, examples: list[Example]) -> torch.Tensor:
        names = self.labels.names
        if self.labels.task == "ABS-3":
            target = torch.zeros(len(examples), len(names))
            for row, e in enumerate(examples):
                for label in e.labels:
                    target[row, self._index(label, e)] = 1.0
            return target
        if self.labels.regression:
            return torch.tensor([float(e.label or 0.0) for e in examples], dtype=torch.float32)
        return torch.tensor([self._index(e.label or "", e) for e in examples], dtype=torch.long)

    def _collate_tokens(self, examples: list[Example], with_targets: bool) -> dict[str, torch.Tensor]:
        enc, words = self._encode_words([list(e.tokens) for e in examples])
        enc_words = [enc.word_ids(row) for row in range(len(words))]
        seq_len = enc["input_ids"].shape[1]
        max_words = max((len(w) for w in words), default=0)
        word_starts = torch.full((len(words), max(max_words, 1)), -1, dtype=torch.long)
        targets = torch.full((len(words), seq_len), -100, dtype=torch.long)
        for row, ids in enumerate(enc_words):
            previous = None
            for position, w in enumerate(ids):
                if w is not None and w != previous:
                    word_starts[row, w] = position
                    if with_targets:
                        targets[row, position] = self._index(examples[row].tags[w], examples[row])
                previous = w
        batch = {k: enc[k] for k in _INPUT_KEYS if k in enc}
        batch["word_starts"] = word_starts
        batch["num_words"] = torch.tensor([len(w) for w in words], dtype=torch.long)
        if with_targets:
            batch["labels"] = targets
        return batch

    def _encode_words(self, words: list[list[str]]) -> tuple[Any, list[list[str]]]:
        """Encode pre-split words; words the tokenizer dropped become the unknown token (then re-encoded)."""
        enc = self.tokenizer(words, is_split_into_words=True, truncation=True, max_length=self.max_length,
                             padding=True, return_tensors="pt")
        unk = self.tokenizer.unk_token
        if unk is None:
            return enc, words
        fixed = None
        for row in range(len(words)):
            dropped = self._dropped_words(enc.word_ids(row), len(words[row]), enc["attention_mask"][row])
            if dropped:
                fixed = fixed or [list(w) for w in words]
                for w in dropped:
                    fixed[row][w] = unk
        if fixed is None:
            return enc, words
        return self.tokenizer(fixed, is_split_into_words=True, truncation=True, max_length=self.max_length,
                              padding=True, return_tensors="pt"), fixed

    def _dropped_words(self, word_ids: list[int | None], num_words: int, mask: torch.Tensor) -> list[int]:
        """Words with no sub-token although they fall inside the window: the tokenizer dropped them."""
        present = {w for w in word_ids if w is not None}
        if len(present) == num_words:
            return []
        truncated = int(mask.sum()) >= self.max_length
        last = max(present, default=-1)
        return [w for w in range(num_words) if w not in present and (w < last or not truncated)]

    def _index(self, label: str, example: Example) -> int:
        try:
            return self._tag_index[label]
        except KeyError:
            raise UserError(f"label {label!r} (line {example.line}) is not one the model was built for: "
                            f"{', '.join(self.labels.names)}",
                            fix="build the label space from training data that contains it") from None

    def _loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.labels.task == "ABS-3":
            return F.binary_cross_entropy_with_logits(logits, targets.float())
        if self.labels.regression:
            return F.mse_loss(logits, targets.float())
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


# Sequence classifiers whose head reads only the top layer's first token (BERT's pooler, RoBERTa's and
# ELECTRA's classification heads: features[:, 0]).
_FIRST_TOKEN_HEADS = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "ernie", "electra"})


def _first_token_layer(network: Any) -> Any:
    """The top encoder layer when it may run for the first token only, else None."""
    config = network.config
    if config.model_type not in _FIRST_TOKEN_HEADS or config.is_decoder or config.add_cross_attention:
        return None
    if getattr(config, "_attn_implementation", "eager") not in ("eager", "sdpa", TRAIN_ATTENTION):
        return None
    layers = getattr(getattr(getattr(network, "base_model", None), "encoder", None), "layer", None)
    if not layers:
        return None
    layer = layers[-1]
    attention = getattr(getattr(layer, "attention", None), "self", None)
    needed = ("query", "key", "value", "num_attention_heads", "attention_head_size", "scaling", "dropout")
    if attention is None or any(not hasattr(attention, name) for name in needed):
        return None
    if not hasattr(layer.attention, "output") or not hasattr(layer, "feed_forward_chunk"):
        return None
    if any(m._forward_hooks or any(h is not _cast_input_once for h in m._forward_pre_hooks.values())
           for m in layer.modules()):
        return None
    return layer


def _cast_attention_input_once(network: Any) -> None:
    """Hook every self-attention whose query, key and value are Linear layers with `_cast_input_once`
    (once: a network copied from a model that has the hooks brings them along)."""
    for module in network.modules():
        if all(isinstance(getattr(module, name, None), torch.nn.Linear) for name in ("query", "key", "value")) \
                and _cast_input_once not in module._forward_pre_hooks.values():
            module.register_forward_pre_hook(_cast_input_once, with_kwargs=True)


def _cast_input_once(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
                     ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """Under CPU autocast, the self-attention's input cast to bf16 once, for its query, key and value.

    Autocast caches the casts of weights only, so the fp32 layer input (a LayerNorm's output) was cast
    three times forward and its three gradients cast back and summed in fp32 backward. Same forward values
    (the same rounding, once); the three bf16 input gradients are summed in bf16. The residual branch
    still gets the fp32 input (BertAttention passes it to the output block itself).
    """
    if args and isinstance(args[0], torch.Tensor) and args[0].dtype == torch.float32 \
            and args[0].device.type == "cpu" and torch.is_autocast_enabled("cpu"):
        return (args[0].to(torch.get_autocast_dtype("cpu")), *args[1:]), kwargs
    return None


def _first_token_forward(layer: Any, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None,
                         *args: Any, **kwargs: Any) -> torch.Tensor:
    """A BERT layer's forward whose output is the first position only, shape (batch, 1, hidden).

    Keys and values still come from every token; the query, the attention output, the residual, the layer
    norms and the feed-forward run for position 0 alone.
    """
    attention = layer.attention.self
    batch, length, _ = hidden_states.shape
    heads, size = attention.num_attention_heads, attention.attention_head_size
    first = hidden_states[:, :1]
    cast = _cast_input_once(attention, (hidden_states,), {})
    projected = hidden_states if cast is None else cast[0][0]
    query = attention.query(projected[:, :1]).view(batch, 1, heads, size).transpose(1, 2)
    key = attention.key(projected).view(batch, length, heads, size).transpose(1, 2)
    value = attention.value(projected).view(batch, length, heads, size).transpose(1, 2)
    mask = attention_mask
    if mask is not None:
        if mask.dim() == 4 and mask.shape[-2] > 1:
            mask = mask[:, :, :1, :]  # the first query's row
        if mask.dtype != torch.bool:
            mask = mask.to(query.dtype)  # an additive mask (eager) in the query's dtype under autocast
    dropout = attention.dropout.p if attention.training else 0.0
    context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout,
                                             scale=attention.scaling)
    context = context.transpose(1, 2).reshape(batch, 1, heads * size)
    return layer.feed_forward_chunk(layer.attention.output(context, first))


@contextlib.contextmanager
def _patched_forward(module: Any, forward: Any) -> Iterator[None]:
    """`module.forward` replaced by `forward(module, ...)` for the duration (an instance attribute, so the
    class and every other instance are untouched; a deepcopy taken meanwhile would carry it, hence brief)."""
    import types

    module.forward = types.MethodType(forward, module)
    try:
        yield
    finally:
        module.__dict__.pop("forward", None)  # another thread may have restored it first: same output either way


def _head_shape(labels: LabelSpace) -> tuple[int, str | None]:
    if labels.task == "ABS-6":
        return len(labels.names), None
    if labels.task == "ABS-3":
        return len(labels.names), "multi_label_classification"
    if labels.regression:
        return 1, "regression"
    return len(labels.names), "single_label_classification"


def _auto_class(labels: LabelSpace) -> Any:
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    return AutoModelForTokenClassification if labels.task == "ABS-6" else AutoModelForSequenceClassification


def _load_tokenizer(auto: Any, source: str, labels: LabelSpace, local_files_only: bool) -> Any:
    tokenizer = auto.from_pretrained(source, local_files_only=local_files_only)
    if labels.task == "ABS-6" and getattr(tokenizer, "add_prefix_space", None) is False:
        # byte-level BPE (RoBERTa) needs it to tokenize pre-split words
        tokenizer = auto.from_pretrained(source, local_files_only=local_files_only, add_prefix_space=True)
    return tokenizer


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No load report ("classifier.weight MISSING" is the point of a new head) and no progress bars."""
    from transformers.utils import logging

    verbosity = logging.get_verbosity()
    bars = logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


def make_tiny_transformer(directory: Path, tokenizer_source: str | Path | None = None, *, layers: int = 2,
                          hidden: int = 32, seed: int = 0) -> Path:
    """A randomly initialised BERT (2 layers, hidden 32: ~1M parameters, nearly all of them the embedding)
    with a real tokenizer, saved like a hub folder: for tests and smoke runs that must not download.

    The tokenizer defaults to the offline MiniLM's (30,522 English word pieces).
    """
    from transformers import AutoTokenizer, BertConfig, BertModel

    if tokenizer_source is None:
        from automl.models import resolve_model

        tokenizer_source = resolve_model("minilm-l6").source
    directory = Path(directory)
    with _quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_source), local_files_only=True)
        config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                            num_attention_heads=max(1, hidden // 16), intermediate_size=hidden * 4,
                            max_position_embeddings=512)
        torch.manual_seed(seed)
        BertModel(config).save_pretrained(directory)
        tokenizer.save_pretrained(directory)
    return directory
