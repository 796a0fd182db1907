"""Examples to the tensors a transformer reads: text (pairs) through the tokenizer, and for tagging (ABS-6)
pre-split words with the position of each word's first sub-token, plus the targets.

ABS-6 words are the example's tokens (one character each for Chinese). A word the tokenizer drops (a space,
a control character, a lone combining mark) is replaced by the unknown token, so every word inside the
`max_length` window gets a prediction; words cut off by truncation get no position (-1).
"""

from __future__ import annotations

from typing import Any

import torch

from advisor.dataset import Example
from advisor.errors import UserError
from automl.models.base import LabelSpace

INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids")


class LabelIndex:
    """A label name to its head index; an unknown name is the user's data, told with its line."""

    def __init__(self, labels: LabelSpace) -> None:
        self.names = list(labels.names)
        self._index = {name: i for i, name in enumerate(labels.names)}

    def __call__(self, label: str, example: Example) -> int:
        try:
            return self._index[label]
        except KeyError:
            raise UserError(f"label {label!r} (line {example.line}) is not one the model was built for: "
                            f"{', '.join(self.names)}",
                            fix="build the label space from training data that contains it") from None


def text_length(tokenizer: Any, example: Example, max_length: int) -> int:
    enc = tokenizer(example.text, example.text_b, truncation=True, max_length=max_length)
    return len(enc["input_ids"])


def word_length(tokenizer: Any, example: Example, max_length: int) -> int:
    enc, _ = encode_words(tokenizer, [list(example.tokens)], max_length)
    return int(enc["attention_mask"].sum())


def collate_texts(tokenizer: Any, examples: list[Example], max_length: int) -> dict[str, torch.Tensor]:
    """One text or a text pair an example, padded to the batch's longest."""
    texts = [e.text for e in examples]
    pairs = [e.text_b or "" for e in examples] if any(e.text_b is not None for e in examples) else None
    enc = tokenizer(texts, pairs, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    return {k: enc[k] for k in INPUT_KEYS if k in enc}


def sequence_targets(labels: LabelSpace, index: LabelIndex, examples: list[Example]) -> torch.Tensor:
    """Class indices, multi-hot rows (ABS-3) or scores (regression)."""
    if labels.kind.is_multilabel:
        target = torch.zeros(len(examples), len(labels.names))
        for row, e in enumerate(examples):
            for label in e.labels:
                target[row, index(label, e)] = 1.0
        return target
    if labels.regression:
        return torch.tensor([float(e.label or 0.0) for e in examples], dtype=torch.float32)
    return torch.tensor([index(e.label or "", e) for e in examples], dtype=torch.long)


def collate_words(tokenizer: Any, examples: list[Example], max_length: int, index: LabelIndex,
                  with_targets: bool) -> dict[str, torch.Tensor]:
    """Tagging batches: the encoding, `word_starts` (each word's first sub-token, -1 past the window),
    `num_words`, and `labels` (the tag at each word's first sub-token, -100 elsewhere)."""
    enc, words = encode_words(tokenizer, [list(e.tokens) for e in examples], max_length)
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
                    targets[row, position] = index(examples[row].tags[w], examples[row])
            previous = w
    batch = {k: enc[k] for k in INPUT_KEYS if k in enc}
    batch["word_starts"] = word_starts
    batch["num_words"] = torch.tensor([len(w) for w in words], dtype=torch.long)
    if with_targets:
        batch["labels"] = targets
    return batch


def encode_words(tokenizer: Any, words: list[list[str]], max_length: int) -> tuple[Any, list[list[str]]]:
    """Encode pre-split words; words the tokenizer dropped become the unknown token (then re-encoded)."""
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length,
                    padding=True, return_tensors="pt")
    unk = tokenizer.unk_token
    if unk is None:
        return enc, words
    fixed = None
    for row in range(len(words)):
        dropped = dropped_words(enc.word_ids(row), len(words[row]), enc["attention_mask"][row], max_length)
        if dropped:
            fixed = fixed or [list(w) for w in words]
            for w in dropped:
                fixed[row][w] = unk
    if fixed is None:
        return enc, words
    return tokenizer(fixed, is_split_into_words=True, truncation=True, max_length=max_length,
                     padding=True, return_tensors="pt"), fixed


def dropped_words(word_ids: list[int | None], num_words: int, mask: torch.Tensor, max_length: int) -> list[int]:
    """Words with no sub-token although they fall inside the window: the tokenizer dropped them."""
    present = {w for w in word_ids if w is not None}
    if len(present) == num_words:
        return []
    truncated = int(mask.sum()) >= max_length
    last = max(present, default=-1)
    return [w for w in range(num_words) if w not in present and (w < last or not truncated)]
