"""What a from-scratch network reads: text as vocabulary units (characters or words), their ids and n-gram
ids padded to the batch's longest, and the targets. A mixin of `ScratchModel`, which holds the vocabulary."""

from __future__ import annotations

from typing import Any

import torch

from advisor.dataset import Example
from automl.models.base import LabelSpace
from automl.models.padding import pad_ids
from automl.models.scratch._hparams import TAGGER_MIN_LIMIT
from automl.models.scratch._vocab import Tokenizer, Vocab, bigrams, ngrams
from automl.models.tag_scheme import repair_bio


def _pad(rows: list[list[int]], min_len: int = 1) -> torch.Tensor:
    return pad_ids(rows, 0, min_len)


class ScratchEncoding:
    """Examples to the tensors `ScratchModel.forward` reads: `length`, `collate` and what they need."""

    family: str
    labels: LabelSpace
    max_length: int
    tokenizer: Tokenizer
    vocab: Vocab
    bigram_vocab: Vocab | None
    hparams: dict[str, Any]
    stats: dict[str, Any]
    tagging: bool
    pair: bool
    _cache: dict[str, list[str]]
    _label_ids: dict[str, int]
    _bio: bool  # taggers: the tags are BIO (IOB1 and cut-off entities get repaired)

    def units(self, text: str) -> list[str]:
        """The text as vocabulary units (characters or words), truncated to `max_length`."""
        got = self._cache.get(text)
        if got is None:
            if len(self._cache) > 200_000:
                self._cache.clear()
            got = self._cache[text] = self.tokenizer(text)[: self.max_length]
        return got

    @property
    def tag_limit(self) -> int:
        """Tokens a tagger reads: a GRU/LSTM/CNN has no position limit and `decode` owes a tag to every
        token, so sentences are cut only past max(max_length, 1024) (tags beyond that decode as "O")."""
        return max(self.max_length, TAGGER_MIN_LIMIT)

    def _token_units(self, example: Example) -> list[str]:
        return [self.tokenizer.unit(t) for t in example.tokens[: self.tag_limit]]

    def length(self, example: Example) -> int:
        if self.tagging:
            return min(len(example.tokens), self.tag_limit)
        n = len(self.units(example.text))
        if self.pair:
            n += len(self.units(example.text_b or ""))
        return n

    def _bigram_ids(self, units: list[str]) -> list[int]:
        assert self.bigram_vocab is not None
        return self.bigram_vocab.encode(bigrams(units, self.tokenizer.joiner))

    def _bag_ngram_ids(self, units: list[str]) -> list[int]:
        """A BOW's known n-grams of orders 2 .. ngram_max (one table), unknown ones left out."""
        assert self.bigram_vocab is not None
        grams = [
            g
            for n in range(2, self.hparams["ngram_max"] + 1)
            for g in ngrams(units, self.tokenizer.joiner, n)
        ]
        return [i for i in self.bigram_vocab.encode(grams) if i > 1]

    def _bag_ids(self, units: list[str]) -> list[int]:
        """A BOW's one bag: unit ids, then its known n-gram ids after the unit table."""
        ids = self.vocab.encode(units)
        if self.hparams["bigrams"] and self.bigram_vocab is not None:
            offset = len(self.vocab)
            ids += [offset + b for b in self._bag_ngram_ids(units)]
        return ids

    def _encode(self, units_list: list[list[str]], suffix: str = "") -> dict[str, torch.Tensor]:
        """ids (and bigram ids) of a batch of unit sequences, padded to the longest."""
        use_bigrams = self.hparams["bigrams"] and self.bigram_vocab is not None
        out: dict[str, torch.Tensor] = {
            "lengths" + suffix: torch.tensor([max(len(u), 1) for u in units_list])
        }
        if self.family == "bow" and not self.tagging:
            out["input_ids" + suffix] = _pad([self._bag_ids(u) for u in units_list])
            return out
        out["input_ids" + suffix] = _pad([self.vocab.encode(u) for u in units_list])
        if use_bigrams:
            bi = [self._bigram_ids(u) for u in units_list]
            out["bigram_left" + suffix] = _pad([b[:-1] for b in bi])
            out["bigram_right" + suffix] = _pad([b[1:] for b in bi])
        return out

    def collate(self, examples: list[Example], with_targets: bool = True) -> dict[str, torch.Tensor]:
        if self.tagging:
            units = [self._token_units(e) for e in examples]
            batch = self._encode(units)
            batch["num_tokens"] = torch.tensor([len(e.tokens) for e in examples])
            if with_targets:
                batch["labels"] = _pad(
                    [self._tag_ids(e, len(u)) for e, u in zip(examples, units, strict=True)]
                )
            return batch
        batch = self._encode([self.units(e.text) for e in examples])
        if self.pair:
            batch.update(self._encode([self.units(e.text_b or "") for e in examples], suffix="_b"))
        if "feature_mean" in self.stats:
            mean = torch.tensor(self.stats["feature_mean"])
            std = torch.tensor(self.stats["feature_std"])
            batch["features"] = (
                torch.tensor([list(e.features) for e in examples], dtype=torch.float) - mean
            ) / std
        if with_targets:
            batch["labels"] = self._class_targets(examples)
        return batch

    def _label_id(self, name: str) -> int:
        try:
            return self._label_ids[name]
        except KeyError:
            raise ValueError(
                f"Label {name!r} is not in the model's label space {self.labels.names}."
            ) from None

    def _tag_ids(self, example: Example, n: int) -> list[int]:
        tags = list(example.tags[:n])
        if self._bio:  # IOB1 or a cut-off entity: the CRF learns well-formed BIO only
            tags = [r if r in self._label_ids else t for r, t in zip(repair_bio(tags), tags, strict=True)]
        return [self._label_id(t) for t in tags]

    def _class_targets(self, examples: list[Example]) -> torch.Tensor:
        if self.labels.kind.is_multilabel:
            y = torch.zeros(len(examples), len(self.labels.names))
            for row, e in enumerate(examples):
                for name in e.labels:
                    y[row, self._label_id(name)] = 1.0
            return y
        if self.labels.regression:
            mean, std = self.stats["target_mean"], self.stats["target_std"]
            return torch.tensor([(float(e.label or 0.0) - mean) / std for e in examples])
        return torch.tensor([self._label_id(e.label or "") for e in examples])
