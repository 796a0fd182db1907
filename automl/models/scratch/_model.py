"""`ScratchModel`: the BOW, CNN, GRU and LSTM families as one `TaskModel`: network, decoding, the folded
BOW for serving, and a save format read back without unpickling (safetensors + JSON). Its preprocessing
(units, ids, targets) is the `ScratchEncoding` mixin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from advisor.dataset import Example
from automl.models.base import MODEL_JSON, LabelSpace, Output, TaskModel, weight_decay_groups
from automl.models.lazy_adam import LazyAdam
from automl.models.scratch._crf import CRF
from automl.models.scratch._encoding import ScratchEncoding
from automl.models.scratch._hparams import check_family_task
from automl.models.scratch._nets import (
    ConvPoolEncoder,
    ConvTagEncoder,
    Dropout,
    Features,
    RNNEncoder,
    head,
    pool,
)
from automl.models.scratch._vocab import Tokenizer, Vocab
from automl.models.tag_scheme import constraint_penalties, viterbi

CONFIG_FILE = MODEL_JSON
WEIGHTS_FILE = "model.safetensors"
VOCAB_FILE = "vocab.json"


class ScratchModel(ScratchEncoding, TaskModel):
    """A from-scratch network with its own vocabulary. Build with `build_scratch`, or `load`."""

    start_penalty: torch.Tensor
    trans_penalty: torch.Tensor
    end_penalty: torch.Tensor

    def __init__(
        self,
        family: str,
        labels: LabelSpace,
        max_length: int,
        language: str,
        tokenizer: Tokenizer,
        vocab: Vocab,
        bigram_vocab: Vocab | None,
        hparams: dict[str, Any],
        stats: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        check_family_task(family, labels.task)
        self.family = family
        self.labels = labels
        self.max_length = max_length
        self.language = language
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.bigram_vocab = bigram_vocab
        self.hparams = dict(hparams)
        self.stats = dict(stats or {})
        self._cache: dict[str, list[str]] = {}
        self._label_ids = {name: i for i, name in enumerate(labels.names)}
        self.tagging = labels.kind.is_tagging
        self.pair = labels.kind.is_pair
        hp = self.hparams
        n_bigrams = len(bigram_vocab) if (bigram_vocab is not None and hp["bigrams"]) else 0
        self.drop = Dropout(hp["dropout"])
        if self.tagging:
            self._build_tagger(n_bigrams)
        else:
            self._build_classifier(n_bigrams)

    # -- construction ---------------------------------------------------------------------------

    def _build_classifier(self, n_bigrams: int) -> None:
        hp, task = self.hparams, self.labels.task
        if self.family == "bow":
            self.bag = nn.EmbeddingBag(
                len(self.vocab) + n_bigrams, hp["embedding_dim"], mode=hp["bag"], padding_idx=0
            )
            dim = hp["embedding_dim"]
        else:
            self.features = Features(
                len(self.vocab), n_bigrams, hp["embedding_dim"], hp["bigram_dim"], hp["window"], hp["dropout"]
            )
            if self.family == "cnn":
                self.encoder: nn.Module = ConvPoolEncoder(
                    self.features.out_dim, hp["hidden"], hp["kernel_sizes"]
                )
                dim = self.encoder.out_dim
            else:
                self.encoder = RNNEncoder(
                    self.family, self.features.out_dim, hp["hidden"], hp["num_layers"], hp["dropout"]
                )
                dim = self.encoder.out_dim * (2 if hp["pooling"] == "maxmean" else 1)
        if self.pair:
            dim *= 4  # [u, v, |u - v|, u * v]
        dim += len(self.stats.get("feature_mean", []))
        if self.labels.regression:
            out = 1
        else:
            out = len(self.labels.names)
            if out < 1 or (not self.labels.kind.is_multilabel and out < 2):
                raise ValueError(
                    f"A {task} head needs label names (2+ classes), but got {self.labels.names=}."
                )
        # hidden = 0 gives a BOW a linear head (fastText); pairs always combine through a hidden layer
        mlp = self.pair or self.labels.kind.has_features or (self.family == "bow" and hp["hidden"] > 0)
        if mlp and hp["hidden"] < 1:
            raise ValueError(f"A {task} head needs a hidden layer, but got hidden={hp['hidden']}.")
        self.head = head(dim, hp["hidden"], out, hp["dropout"], mlp)

    def _build_tagger(self, n_bigrams: int) -> None:
        hp = self.hparams
        names = self.labels.names
        if not names:
            raise ValueError("An ABS-6 tagger needs its tag names (LabelSpace.names), but got none.")
        self.features = Features(
            len(self.vocab), n_bigrams, hp["embedding_dim"], hp["bigram_dim"], hp["window"], hp["dropout"]
        )
        if self.family == "bow":
            # A window of embeddings into one hidden layer: the neural form of a window-feature CRF.
            self.encoder = nn.Sequential(nn.Linear(self.features.out_dim, hp["hidden"]), nn.ReLU())
            dim = hp["hidden"]
        elif self.family == "cnn":
            self.encoder = ConvTagEncoder(
                self.features.out_dim, hp["hidden"], hp["kernel_sizes"], hp["num_layers"], hp["dropout"]
            )
            dim = self.encoder.out_dim
        else:
            self.encoder = RNNEncoder(
                self.family, self.features.out_dim, hp["hidden"], hp["num_layers"], hp["dropout"]
            )
            dim = self.encoder.out_dim
        self.emit = nn.Linear(dim, len(names))
        self.crf = CRF(names) if hp["crf"] else None
        for name, penalty in zip(("start_penalty", "trans_penalty", "end_penalty"), constraint_penalties(names),
                                 strict=True):
            self.register_buffer(name, penalty, persistent=False)
        self._bio = {t[:1].upper() for t in names if len(t) > 2 and t[1] in "-_"} <= {"B", "I"}

    # -- network --------------------------------------------------------------------------------

    def _represent(self, batch: dict[str, torch.Tensor], suffix: str = "") -> torch.Tensor:
        ids, lengths = batch["input_ids" + suffix], batch["lengths" + suffix]
        if self.family == "bow":
            return self.drop(self.bag(ids))
        x = self.features(ids, batch.get("bigram_left" + suffix), batch.get("bigram_right" + suffix))
        if self.family == "cnn":
            return self.encoder(x, lengths)
        mask = torch.arange(ids.size(1), device=ids.device)[None, :] < lengths[:, None]
        return pool(self.encoder(x, lengths), mask, self.hparams["pooling"])

    def forward(self, **batch: torch.Tensor) -> Output:  # type: ignore[override]
        if self.tagging:
            return self._forward_tags(batch)
        rep = self._represent(batch)
        if self.pair:
            v = self._represent(batch, "_b")
            rep = torch.cat([rep, v, (rep - v).abs(), rep * v], dim=1)
        if "features" in batch:
            rep = torch.cat([rep, batch["features"].to(rep.dtype)], dim=1)  # a bf16 serving copy: its dtype
        logits = self.head(rep).float()  # losses and decoding in fp32 under bf16 autocast
        y = batch.get("labels")
        loss = None
        if self.labels.regression:
            logits = logits.squeeze(1)
            if y is not None:
                loss = F.mse_loss(logits, y)
        elif y is not None:
            loss = (
                F.binary_cross_entropy_with_logits(logits, y)
                if self.labels.kind.is_multilabel
                else F.cross_entropy(logits, y)
            )
        return Output(loss=loss, logits=logits)

    def _forward_tags(self, batch: dict[str, torch.Tensor]) -> Output:
        ids, lengths = batch["input_ids"], batch["lengths"]
        mask = torch.arange(ids.size(1), device=ids.device)[None, :] < lengths[:, None]
        x = self.features(ids, batch.get("bigram_left"), batch.get("bigram_right"))
        if self.family == "bow":
            h = self.encoder(x)
        elif self.family == "cnn":
            h = self.encoder(x, mask)
        else:
            h = self.encoder(x, lengths)
        emissions = self.emit(self.drop(h)).float()  # the CRF sums scores over time: fp32 under autocast
        y = batch.get("labels")
        loss = None
        if y is not None:
            if self.crf is not None:
                loss = -self.crf.log_likelihood(emissions, y, mask).mean()
            else:
                loss = F.cross_entropy(emissions[mask], y[mask])
        return Output(loss=loss, logits=emissions)

    # -- serving --------------------------------------------------------------------------------

    def serve(self, examples: list[Example]) -> list[Any]:
        """A linear BOW (fastText's shape: bag mean -> one Linear) folds its head into the table: a unit's
        row becomes its class scores, E @ W.T, so a query is one `embedding_bag` over C columns instead
        of D, with no padding and no module calls. Same logits up to rounding; other models: the
        collate/forward/decode path."""
        if not examples:
            return []
        if not self._foldable():
            return super().serve(examples)
        table, bias = self._folded()
        rows = [self._bag_ids(self.units(e.text)) for e in examples]
        with torch.inference_mode():
            flat = torch.tensor([i for row in rows for i in row], dtype=torch.long, device=table.device)
            offsets = torch.tensor([0, *[len(r) for r in rows[:-1]]], device=table.device).cumsum(0)
            logits = F.embedding_bag(flat, table, offsets, mode=self.hparams["bag"], padding_idx=0) + bias
        return self.decode(logits, {})

    def _foldable(self) -> bool:
        return (self.family == "bow" and not self.tagging and not self.pair and not self.training
                and self.hparams["bag"] in ("mean", "sum")  # a max of scores is not the scores of a max
                and not self.labels.regression and "feature_mean" not in self.stats
                and isinstance(self.head, nn.Sequential) and len(self.head) == 2
                and isinstance(self.head[-1], nn.Linear))

    def _folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(E @ W.T, b) in fp32, recomputed when the weights change."""
        assert isinstance(self.head, nn.Sequential) and isinstance(self.bag, nn.EmbeddingBag)
        linear = self.head[-1]
        assert isinstance(linear, nn.Linear)
        key = tuple((t.data_ptr(), t._version) for t in (self.bag.weight, linear.weight, linear.bias))
        if getattr(self, "_fold_key", None) != key:
            with torch.no_grad():
                table = self.bag.weight.float() @ linear.weight.float().T
            self._fold = (table, linear.bias.detach().float().clone())
            self._fold_key = key
        return self._fold

    # -- output ---------------------------------------------------------------------------------

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        names = self.labels.names
        logits = logits.detach().float()
        if self.tagging:
            mask = torch.arange(logits.size(1), device=logits.device)[None, :] < batch["lengths"][:, None]
            if self.crf is not None:
                paths = self.crf.decode(logits, mask)
            else:
                paths = viterbi(
                    logits.log_softmax(-1), mask, self.trans_penalty, self.start_penalty, self.end_penalty
                )
            out = []
            for row, n in zip(paths.tolist(), batch["num_tokens"].tolist(), strict=True):
                kept = min(n, self.tag_limit)
                out.append(tuple(names[i] for i in row[:kept]) + ("O",) * (n - kept))
            return out
        if self.labels.regression:
            mean, std = self.stats["target_mean"], self.stats["target_std"]
            return [float(v) * std + mean for v in logits.tolist()]
        if self.labels.kind.is_multilabel:
            return [tuple(names[j] for j, on in enumerate(row) if on) for row in (logits > 0).tolist()]
        return [names[i] for i in logits.argmax(-1).tolist()]

    def configure_optimizer(self, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
        """An optional faster optimizer: embedding tables switch to sparse gradients and a `LazyAdam`
        updates only the rows a batch touched (AdamW for everything else). Clip only the dense gradients
        then: `clip_grad_norm_` raises on sparse ones. Measured here: a BOW over 180k char n-grams
        (23.5M parameters) trains 2.2x faster than with dense AdamW (124 s vs 273 s; test acc 0.853 vs 0.849)."""
        for module in self.modules():
            if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
                module.sparse = True
        return LazyAdam(weight_decay_groups(self, weight_decay), lr=lr)

    # -- persistence ----------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        return {
            "format": "automl-scratch",
            "version": 1,
            "family": self.family,
            "task": self.labels.task,
            "labels": self.labels.to_dict(),
            "max_length": self.max_length,
            "language": self.language,
            "tokenizer": self.tokenizer.to_dict(),
            "hparams": self.hparams,
            "stats": self.stats,
        }

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
        vocab = {
            "units": self.vocab.itos,
            "bigrams": self.bigram_vocab.itos if self.bigram_vocab is not None else None,
        }
        (directory / VOCAB_FILE).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        (directory / CONFIG_FILE).write_text(
            json.dumps(self.config(), indent=2, ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> ScratchModel:
        from safetensors.torch import load_file

        directory = Path(directory)
        config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        if config.get("format") != "automl-scratch":
            raise ValueError(
                f"{directory / CONFIG_FILE} is not a scratch model, format={config.get('format')!r}."
            )
        vocab = json.loads((directory / VOCAB_FILE).read_text(encoding="utf-8"))
        model = cls(
            family=config["family"],
            labels=LabelSpace.from_dict(config["labels"]),
            max_length=int(config["max_length"]),
            language=config["language"],
            tokenizer=Tokenizer.from_dict(config["tokenizer"]),
            vocab=Vocab(vocab["units"]),
            bigram_vocab=Vocab(vocab["bigrams"]) if vocab["bigrams"] is not None else None,
            hparams=config["hparams"],
            stats=config["stats"],
        )
        model.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
        return model.eval()
