"""`HubSeq2SeqModel`: a transformers encoder-decoder (T5, BART, mT5, ... : AutoModelForSeq2SeqLM) as a
`TaskModel`, for a hub id where there is a network, or any local folder holding one.

Generation is transformers' own `generate` (greedy, or beam search with `beam_size` > 1). Nothing here
downloads: `resolve_model` refuses a hub id that is not cached while the hub is off.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from advisor.dataset import Example
from automl.models.base import MODEL_JSON, LabelSpace, Output, TaskModel

FAMILY = "hub-seq2seq"
IGNORED = -100  # the label id transformers' loss skips (padding of the targets)


def is_encoder_decoder(source: str) -> bool:
    from transformers import AutoConfig

    return bool(getattr(AutoConfig.from_pretrained(source), "is_encoder_decoder", False))


class HubSeq2SeqModel(TaskModel):
    family = FAMILY

    def __init__(self, model: Any, tokenizer: Any, labels: LabelSpace, max_length: int, max_target_length: int,
                 language: str, beam_size: int = 1) -> None:
        super().__init__()
        self.model, self.tokenizer, self.labels, self.language = model, tokenizer, labels, language
        self.max_length, self.max_target_length, self.beam_size = max_length, max_target_length, beam_size

    @classmethod
    def from_pretrained(cls, source: str, labels: LabelSpace, max_length: int, language: str,
                        train: list[Example], beam_size: int = 1) -> HubSeq2SeqModel:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(source)
        longest = max((len(tokenizer(e.target or "")["input_ids"]) for e in train[:2000]), default=32)
        return cls(AutoModelForSeq2SeqLM.from_pretrained(source), tokenizer, labels, max_length,
                   int(1.5 * longest) + 2, language, beam_size)

    def length(self, example: Example) -> int:
        return min(len(self.tokenizer(example.text)["input_ids"]), self.max_length)

    def collate(self, examples: list[Example], with_targets: bool = True) -> dict[str, torch.Tensor]:
        batch = dict(self.tokenizer([e.text for e in examples], padding=True, truncation=True,
                                    max_length=self.max_length, return_tensors="pt"))
        if with_targets and all(e.target is not None for e in examples):
            ids = self.tokenizer(text_target=[e.target or "" for e in examples], padding=True, truncation=True,
                                 max_length=self.max_target_length, return_tensors="pt")["input_ids"]
            batch["labels"] = ids.masked_fill(ids.eq(self.tokenizer.pad_token_id), IGNORED)
        return {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "labels")}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,  # type: ignore[override]
                labels: torch.Tensor | None = None) -> Output:
        if labels is None:  # no targets: one decoder step from the start token (generation runs in decode)
            start = torch.full((input_ids.size(0), 1), self.model.config.decoder_start_token_id,
                               dtype=torch.long, device=input_ids.device)
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=start)
            return Output(loss=None, logits=out.logits)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
        return Output(loss=out.loss, logits=out.logits)

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                ids = self.model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                          num_beams=self.beam_size, do_sample=False,
                                          max_new_tokens=self.max_target_length)
        finally:
            self.train(was_training)
        return [text.strip() for text in self.tokenizer.batch_decode(ids, skip_special_tokens=True)]

    def targets(self, examples: list[Example]) -> list[Any]:
        return [e.target or "" for e in examples]

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        meta = {"family": FAMILY, "task": str(self.labels.task), "labels": self.labels.to_dict(),
                "language": self.language, "max_length": self.max_length,
                "max_target_length": self.max_target_length, "beam_size": self.beam_size}
        (directory / MODEL_JSON).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> HubSeq2SeqModel:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        meta = json.loads((Path(directory) / MODEL_JSON).read_text(encoding="utf-8"))
        model = cls(AutoModelForSeq2SeqLM.from_pretrained(directory), AutoTokenizer.from_pretrained(directory),
                    LabelSpace.from_dict(meta["labels"]), meta["max_length"], meta["max_target_length"],
                    meta["language"], meta["beam_size"])
        model.eval()
        return model
