"""`CausalLM`: a pretrained causal language model (a transformers `AutoModelForCausalLM`: GPT-2 and kin) as
ABS-8's `TaskModel`, fine-tuned by the same loop and scoring sentences like `CharLM`.

The packaged MiniLM has no language-model head (a sentence encoder), so this path serves a local folder or a
hub id for users with a network; its units are the model's tokens, so its perplexity is per token and not
comparable with char-lm's per-character figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from advisor.dataset import Example
from automl.models.base import MODEL_JSON, LabelSpace, Output, TaskModel
from automl.models.lm._scores import SentenceScore

FAMILY = "causal-lm"


class CausalLM(TaskModel):
    family = FAMILY

    def __init__(self, net: Any, tokenizer: Any, labels: LabelSpace, max_length: int, language: str) -> None:
        super().__init__()
        self.net, self.tokenizer, self.labels = net, tokenizer, labels
        self.max_length, self.language = max_length, language
        if tokenizer.pad_token_id is None:  # GPT-2 has none; padding is masked out anyway
            tokenizer.pad_token = tokenizer.eos_token

    @classmethod
    def from_pretrained(cls, source: str, labels: LabelSpace, max_length: int, language: str) -> CausalLM:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        return cls(AutoModelForCausalLM.from_pretrained(source), AutoTokenizer.from_pretrained(source), labels,
                   max_length, language)

    def _ids(self, text: str) -> list[int]:
        """The sentence's tokens between a start (BOS, else EOS: GPT-2's document separator) and an end."""
        tok = self.tokenizer
        start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        end = tok.eos_token_id if tok.eos_token_id is not None else tok.sep_token_id
        body = tok(text, add_special_tokens=False)["input_ids"][:self.max_length]
        return [i for i in (start, *body, end) if i is not None]

    def length(self, example: Example) -> int:
        return len(self._ids(example.text))

    def collate(self, examples: list[Example], with_targets: bool = True) -> dict[str, torch.Tensor]:
        rows = [self._ids(e.text) for e in examples]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), int(self.tokenizer.pad_token_id), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(r)], mask[i, :len(r)] = torch.tensor(r), 1
        return {"input_ids": ids, "attention_mask": mask}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Output:  # type: ignore[override]
        labels = input_ids.masked_fill(attention_mask == 0, -100)  # transformers shifts them by one itself
        out = self.net(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
        return Output(loss=out.loss, logits=out.logits)

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        targets, real = batch["input_ids"][:, 1:], batch["attention_mask"][:, 1:].bool()
        picked = logits[:, :-1].float().log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        sums = picked.masked_fill(~real, 0.0).sum(-1).tolist()
        return [SentenceScore(float(s), int(n)) for s, n in zip(sums, real.sum(-1).tolist(), strict=True)]

    def targets(self, examples: list[Example]) -> list[Any]:
        return [e.text for e in examples]

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        self.net.save_pretrained(directory)  # safetensors
        self.tokenizer.save_pretrained(directory)
        meta = {"family": FAMILY, "task": str(self.labels.task), "labels": self.labels.to_dict(),
                "language": self.language, "max_length": self.max_length}
        (directory / MODEL_JSON).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> CausalLM:
        meta = json.loads((Path(directory) / MODEL_JSON).read_text(encoding="utf-8"))
        model = cls.from_pretrained(str(directory), LabelSpace.from_dict(meta["labels"]), meta["max_length"],
                                    meta["language"])
        model.eval()
        return model
