"""`Seq2SeqModel`: the from-scratch encoder-decoder as a `TaskModel` (ABS-7, `src<TAB>tgt`).

The training loop sees the usual contract: `collate` gives source ids and the target shifted by one,
`forward` the teacher-forced loss. `decode` generates (greedy, or beam search with `beam_size` > 1) from
the batch's sources, so dev metrics, `automl predict` and `automl serve` all score generated text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from advisor.dataset import Example
from automl.models.base import MODEL_JSON, LabelSpace, Output, TaskModel
from automl.models.padding import pad_ids
from automl.models.seq2seq._decoding import beam_search
from automl.models.seq2seq._net import NetShape, Seq2SeqNet
from automl.models.seq2seq._units import BOS_ID, EOS_ID, PAD_ID, Units, split_units

WEIGHTS_FILE = "model.safetensors"
FAMILY = "seq2seq"
LABEL_SMOOTHING = 0.1  # the Transformer paper's value: a less peaked softmax beams better


def _pad(rows: list[list[int]]) -> torch.Tensor:
    return pad_ids(rows, PAD_ID)


class Seq2SeqModel(TaskModel):
    family = FAMILY

    def __init__(self, units: Units, labels: LabelSpace, max_length: int, max_target_length: int,
                 language: str, shape: NetShape | None = None, beam_size: int = 1) -> None:
        super().__init__()
        self.units, self.labels, self.language = units, labels, language
        self.max_length, self.max_target_length, self.beam_size = max_length, max_target_length, beam_size
        self.net: Seq2SeqNet = Seq2SeqNet(len(units), shape or NetShape())

    def length(self, example: Example) -> int:
        return min(len(split_units(example.text)), self.max_length)

    def collate(self, examples: list[Example], with_targets: bool = True) -> dict[str, torch.Tensor]:
        batch = {"src_ids": _pad([self.units.encode(e.text)[:self.max_length] for e in examples])}
        if with_targets and all(e.target is not None for e in examples):
            targets = [self.units.encode(e.target or "")[:self.max_target_length] for e in examples]
            batch["tgt_in"] = _pad([[BOS_ID, *t] for t in targets])
            batch["tgt_out"] = _pad([[*t, EOS_ID] for t in targets])
        return batch

    def forward(self, src_ids: torch.Tensor, tgt_in: torch.Tensor | None = None,  # type: ignore[override]
                tgt_out: torch.Tensor | None = None) -> Output:
        """With targets: the teacher-forced logits and the loss. Without: the encoder states (generation
        itself runs in `decode`)."""
        memory, pad = self.net.encode(src_ids)
        if tgt_in is None or tgt_out is None:
            return Output(loss=None, logits=memory)
        logits = self.net.decode(memory, pad, tgt_in)
        loss = F.cross_entropy(logits.float().flatten(0, 1), tgt_out.flatten(), ignore_index=PAD_ID,
                               label_smoothing=LABEL_SMOOTHING)
        return Output(loss=loss, logits=logits)

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        return self.generate_ids(batch["src_ids"], self.beam_size)

    def generate_ids(self, src_ids: torch.Tensor, beam_size: int, max_new_tokens: int | None = None) -> list[str]:
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                rows = beam_search(self.net, src_ids, BOS_ID, EOS_ID, max_new_tokens or self.max_target_length + 1,
                                   beam_size)
        finally:
            self.train(was_training)
        return [self.units.decode(row) for row in rows]

    def generate(self, texts: list[str], beam_size: int | None = None, max_new_tokens: int | None = None) -> list[str]:
        """Generated text for each source text (beam search with `beam_size` > 1, else greedy)."""
        src = self.collate([Example(text=t) for t in texts], with_targets=False)["src_ids"]
        return self.generate_ids(src.to(next(self.parameters()).device), beam_size or self.beam_size, max_new_tokens)

    def targets(self, examples: list[Example]) -> list[Any]:
        return [e.target or "" for e in examples]

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
        meta = {"family": FAMILY, "task": str(self.labels.task), "labels": self.labels.to_dict(),
                "language": self.language, "max_length": self.max_length,
                "max_target_length": self.max_target_length, "beam_size": self.beam_size,
                "shape": self.net.shape.to_dict(), "units": self.units.units}
        (directory / MODEL_JSON).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> Seq2SeqModel:
        from safetensors.torch import load_file

        meta = json.loads((Path(directory) / MODEL_JSON).read_text(encoding="utf-8"))
        model = cls(Units(meta["units"]), LabelSpace.from_dict(meta["labels"]), meta["max_length"],
                    meta["max_target_length"], meta["language"], NetShape(**meta["shape"]), meta["beam_size"])
        model.load_state_dict(load_file(str(Path(directory) / WEIGHTS_FILE)))
        model.eval()
        return model


def build_seq2seq(labels: LabelSpace, train: list[Example], language: str, max_length: int,
                  beam_size: int = 1, **shape: Any) -> Seq2SeqModel:
    """A fresh model whose units come from the training sources and targets; generation stops at
    1.5x the longest training target (an answer longer than any seen is a runaway, not an answer)."""
    units = Units.build([e.text for e in train] + [e.target or "" for e in train])
    longest = max((len(split_units(e.target or "")) for e in train), default=32)
    net_shape = NetShape(**shape)
    max_target = min(net_shape.max_positions - 2, int(1.5 * longest) + 2)
    return Seq2SeqModel(units, labels, min(max_length, net_shape.max_positions), max_target, language, net_shape,
                        beam_size)
