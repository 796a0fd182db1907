"""`CharLM`: a causal LSTM over characters as a `TaskModel` (ABS-8).

Each sentence is read as [BOS] c1 .. cn and predicts c1 .. cn [EOS]; characters not seen in training are
[UNK] (`_chars`). The output
never puts mass on [PAD] or [BOS] (they are never a next unit), so a model that knows nothing, uniform over
what it can predict, has a perplexity equal to that number: the characters plus [EOS] and [UNK].
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from advisor.dataset import Example
from automl.models.base import MODEL_JSON, LabelSpace, Output, TaskModel
from automl.models.lm._chars import BOS_ID, EOS_ID, PAD_ID, CharTable
from automl.models.lm._scores import SentenceScore
from automl.models.padding import pad_ids

WEIGHTS_FILE = "model.safetensors"
FAMILY = "char-lm"
NEVER_NEXT = (PAD_ID, BOS_ID)


def _pad(rows: list[list[int]]) -> torch.Tensor:
    return pad_ids(rows, PAD_ID)


class CharLM(TaskModel):
    family = FAMILY

    def __init__(self, units: CharTable, labels: LabelSpace, max_length: int, language: str,
                 embedding: int = 64, hidden: int = 256, layers: int = 1, dropout: float = 0.1) -> None:
        super().__init__()
        self.units, self.labels, self.language, self.max_length = units, labels, language, max_length
        self.shape = {"embedding": embedding, "hidden": hidden, "layers": layers, "dropout": dropout}
        self.embed = nn.Embedding(len(units), embedding, padding_idx=PAD_ID)
        self.rnn = nn.LSTM(embedding, hidden, num_layers=layers, batch_first=True,
                           dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, len(units))

    @property
    def predictable(self) -> int:
        """How many units the output spreads its probability over."""
        return len(self.units) - len(NEVER_NEXT)

    def length(self, example: Example) -> int:
        return min(len(example.text), self.max_length) + 1

    def collate(self, examples: list[Example], with_targets: bool = True) -> dict[str, torch.Tensor]:
        # the sentence is its own target, so scoring (with_targets=False) needs the same tensors as training
        ids = [self.units.encode(e.text)[:self.max_length] for e in examples]
        return {"input_ids": _pad([[BOS_ID, *r] for r in ids]), "target_ids": _pad([[*r, EOS_ID] for r in ids])}

    def forward(self, input_ids: torch.Tensor, target_ids: torch.Tensor) -> Output:  # type: ignore[override]
        states, _ = self.rnn(self.drop(self.embed(input_ids)))
        logits = self.out(self.drop(states)).float()
        logits[..., list(NEVER_NEXT)] = float("-inf")
        loss = F.cross_entropy(logits.flatten(0, 1), target_ids.flatten(), ignore_index=PAD_ID)
        return Output(loss=loss, logits=logits)

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        targets = batch["target_ids"].to(logits.device)
        picked = logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        real = targets != PAD_ID
        sums = picked.masked_fill(~real, 0.0).sum(-1).tolist()
        return [SentenceScore(float(s), int(n)) for s, n in zip(sums, real.sum(-1).tolist(), strict=True)]

    def targets(self, examples: list[Example]) -> list[Any]:
        return [e.text for e in examples]  # a language model's "gold" is the text it scores

    def score(self, texts: list[str]) -> list[SentenceScore]:
        """Each text's log-probability and perplexity, in eval mode, without gradients."""
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                batch = self.collate([Example(text=t) for t in texts])
                device = next(self.parameters()).device
                batch = {k: v.to(device) for k, v in batch.items()}
                return self.decode(self(**batch).logits, batch)
        finally:
            self.train(was_training)

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
        meta = {"family": FAMILY, "task": str(self.labels.task), "labels": self.labels.to_dict(),
                "language": self.language, "max_length": self.max_length, "shape": self.shape,
                "chars": self.units.chars}
        (directory / MODEL_JSON).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> CharLM:
        from safetensors.torch import load_file

        meta = json.loads((Path(directory) / MODEL_JSON).read_text(encoding="utf-8"))
        model = cls(CharTable(meta["chars"]), LabelSpace.from_dict(meta["labels"]), meta["max_length"],
                    meta["language"], **meta["shape"])
        model.load_state_dict(load_file(str(Path(directory) / WEIGHTS_FILE)))
        model.eval()
        return model


def build_char_lm(labels: LabelSpace, train: list[Example], language: str, max_length: int,
                  **shape: Any) -> CharLM:
    """A fresh model whose characters are those of the training sentences."""
    unknown = set(shape) - {"embedding", "hidden", "layers", "dropout"}
    if unknown:
        raise ValueError(f"char-lm hparams are embedding, hidden, layers and dropout, but got {sorted(unknown)}.")
    return CharLM(CharTable.build(e.text for e in train), labels, max_length, language, **shape)
