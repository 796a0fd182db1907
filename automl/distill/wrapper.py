"""`DistillStudent`: a `TaskModel` whose training loss is the distillation loss, so that
`automl.training.run_trial` trains it unchanged (one training loop for fine-tuning and distillation).

`collate` adds the cached teacher outputs of the batch's examples (looked up by content hash); `forward`
runs the student and, while training, replaces its task loss by

- stage "relations" (TD1): the MiniLMv2 relation KL of the last layer, the frozen teacher run live on the
  same batch (its Q/K/V are per token and too big to cache); for a student cut from the teacher, plus
  `hidden_weight` times the hidden-state MSE of each kept layer against its teacher layer (TinyBERT);
- stage "logits" (TD2): `soft_weight * T^2 * CE(teacher/T, student/T) + hard_weight * task loss`.

In eval mode (dev scoring, serving) it is the student alone: dev loss and dev scores are the task's.
The teacher is held outside the module tree: not in `parameters()`, not in `state_dict()`, never updated.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from advisor.dataset import Example
from advisor.errors import UserError
from automl.distill.losses import hidden_mse, kd_loss, relation_kl, soft_cross_entropy, soft_mse
from automl.distill.student import encoder_layers
from automl.distill.teacher import example_key, student_unit_logits
from automl.models import load_model
from automl.models.base import Output, TaskModel

TEACHER_KEYS = ("teacher_logits", "teacher_mask")
STAGES = ("logits", "relations")


class QKVCapture:
    """Forward hooks on the last encoder layer's query, key and value projections."""

    def __init__(self, model: TaskModel) -> None:
        attention = getattr(getattr(encoder_layers(model)[-1], "attention", None), "self", None)
        modules = {name: getattr(attention, full, None) for name, full in (("q", "query"), ("k", "key"),
                                                                             ("v", "value"))}
        if any(not isinstance(m, nn.Module) for m in modules.values()):
            raise UserError("stage TD1 needs a BERT-style attention (query, key, value projections)",
                            fix="leave out --td1-epochs for this model")
        self.outputs: dict[str, torch.Tensor] = {}
        self.handles = [m.register_forward_hook(self._hook(name)) for name, m in modules.items()]  # type: ignore[union-attr]
        self.hidden = int(modules["q"].out_features)  # type: ignore[union-attr]

    def _hook(self, name: str) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            self.outputs[name] = output
        return hook

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


class LayerCapture:
    """Forward hooks on chosen encoder layers: their output hidden states, in the order given."""

    def __init__(self, model: TaskModel, indices: list[int]) -> None:
        layers = encoder_layers(model)
        self.outputs: list[torch.Tensor | None] = [None] * len(indices)
        self.handles = [layers[i].register_forward_hook(self._hook(position)) for position, i in enumerate(indices)]

    def _hook(self, position: int) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            self.outputs[position] = output[0] if isinstance(output, tuple) else output
        return hook

    def states(self) -> list[torch.Tensor]:
        if any(o is None for o in self.outputs):
            raise RuntimeError("a captured layer did not run: call the model before reading its states")
        return [o for o in self.outputs if o is not None]

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


def relation_heads(teacher_hidden: int, student_hidden: int, wanted: int) -> int:
    """`wanted` relation heads if both widths divide by it, else the largest count that does."""
    if teacher_hidden % wanted == 0 and student_hidden % wanted == 0:
        return wanted
    return math.gcd(math.gcd(teacher_hidden, student_hidden), wanted) or 1


class DistillStudent(TaskModel):
    def __init__(self, student: TaskModel, teacher: TaskModel | None = None,
                 cache: dict[str, torch.Tensor] | None = None, *, stage: str = "logits", temperature: float = 4.0,
                 soft_weight: float = 0.5, hard_weight: float | None = None, relation_heads: int | None = None,
                 hidden_weight: float = 1.0) -> None:
        super().__init__()
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, but got {stage=}.")
        if stage == "relations" and teacher is None:
            raise ValueError("stage 'relations' (TD1) runs the teacher live: pass teacher=")
        self.student = student
        object.__setattr__(self, "_teacher", teacher)  # not a submodule: not trained, not saved
        self.cache = cache or {}
        self.stage = stage
        self.temperature = temperature
        self.soft_weight = soft_weight
        self.hard_weight = 1.0 - soft_weight if hard_weight is None else hard_weight
        self.family = student.family
        self.labels = student.labels
        self.max_length = student.max_length
        self._student_qkv: QKVCapture | None = None
        self._teacher_qkv: QKVCapture | None = None
        self._student_layers: LayerCapture | None = None
        self._teacher_layers: LayerCapture | None = None
        self.hidden_weight = hidden_weight
        self.heads = 0
        if stage == "relations":
            assert teacher is not None
            t_tok: Any = getattr(teacher, "tokenizer", None)
            s_tok: Any = getattr(student, "tokenizer", None)
            same_vocab = t_tok is not None and s_tok is not None and t_tok.get_vocab() == s_tok.get_vocab()
            if not same_vocab:
                raise UserError("stage TD1 compares attention token by token: teacher and student need the same "
                                "tokenizer", fix="cut the student from the teacher, or leave out --td1-epochs")
            self._student_qkv = QKVCapture(student)
            self._teacher_qkv = QKVCapture(teacher)
            wanted = relation_heads or int(getattr(getattr(teacher, "network").config,  # noqa: B009
                                                   "num_attention_heads", 12))
            self.heads = _relation_heads(self._teacher_qkv.hidden, self._student_qkv.hidden, wanted)
            cut_from: list[int] | None = getattr(student, "cut_from", None)
            if cut_from and hidden_weight > 0 and self._teacher_qkv.hidden == self._student_qkv.hidden:
                self._student_layers = LayerCapture(student, list(range(len(cut_from))))
                self._teacher_layers = LayerCapture(teacher, cut_from)

    @property
    def teacher(self) -> TaskModel | None:
        teacher: TaskModel | None = self.__dict__["_teacher"]
        return teacher

    def close(self) -> None:
        """Remove the TD1 hooks (the student goes on to TD2 or to serving without them)."""
        for capture in (self._student_qkv, self._teacher_qkv, self._student_layers, self._teacher_layers):
            if capture is not None:
                capture.close()

    # -- TaskModel ---------------------------------------------------------------------------------------

    def length(self, example: Example) -> int:
        return self.student.length(example)

    def collate(self, examples: list[Example], with_targets: bool = True) -> dict[str, torch.Tensor]:
        batch = self.student.collate(examples, with_targets)
        if not with_targets or self.stage != "logits" or not self.cache:
            return batch
        rows = [self.cache.get(example_key(e)) for e in examples]
        if any(r is None for r in rows):  # dev and test texts: no teacher outputs, the task loss only
            return batch
        if self.labels.kind.is_tagging:
            width = max(1, max(int(r.shape[0]) for r in rows if r is not None))
            classes = int(rows[0].shape[-1]) if rows[0] is not None else len(self.labels.names)
            logits = torch.zeros(len(rows), width, classes)
            mask = torch.zeros(len(rows), width, dtype=torch.bool)
            for i, r in enumerate(rows):
                assert r is not None
                logits[i, : r.shape[0]] = r
                mask[i, : r.shape[0]] = True
            batch["teacher_logits"], batch["teacher_mask"] = logits, mask
        else:
            batch["teacher_logits"] = torch.stack([r for r in rows if r is not None])
        return batch

    def forward(self, **batch: torch.Tensor) -> Output:  # type: ignore[override]
        teacher_logits = batch.pop("teacher_logits", None)
        teacher_mask = batch.pop("teacher_mask", None)
        out = self.student(**batch)
        if not self.training:
            return out
        if self.stage == "relations":
            return Output(loss=self._relation_loss(batch), logits=out.logits)
        if teacher_logits is None:
            return out
        return Output(loss=kd_loss(self._soft_loss(out.logits, teacher_logits, teacher_mask, batch), out.loss,
                                   self.soft_weight, self.hard_weight), logits=out.logits)

    def _soft_loss(self, logits: torch.Tensor, teacher: torch.Tensor, teacher_mask: torch.Tensor | None,
                   batch: dict[str, torch.Tensor]) -> torch.Tensor:
        teacher = teacher.to(logits.device)
        if self.labels.kind.is_tagging:
            student, mask = student_unit_logits(self.student, logits, batch)
            width = min(student.shape[1], teacher.shape[1])
            assert teacher_mask is not None
            keep = mask[:, :width] & teacher_mask[:, :width].to(mask.device)
            return soft_cross_entropy(student[:, :width], teacher[:, :width], self.temperature, keep)
        if self.labels.regression:
            return soft_mse(logits, teacher)
        return soft_cross_entropy(logits, teacher, self.temperature, multi_label=self.labels.kind.is_multilabel)

    def _relation_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        assert self._student_qkv is not None and self._teacher_qkv is not None and self.teacher is not None
        with torch.no_grad():
            self.teacher(**{k: v for k, v in batch.items() if k != "labels"})
        mask = batch.get("attention_mask")
        loss = relation_kl(self._student_qkv.outputs, self._teacher_qkv.outputs, self.heads, mask)
        if self._student_layers is not None and self._teacher_layers is not None:
            loss = loss + self.hidden_weight * hidden_mse(self._student_layers.states(), self._teacher_layers.states(),
                                                          mask)
        return loss

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        return self.student.decode(logits, batch)

    def targets(self, examples: list[Example]) -> list[Any]:
        return self.student.targets(examples)

    def configure_optimizer(self, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer | None:
        """The student's own optimizer where it has one (scratch nets: sparse embeddings + LazyAdam);
        None leaves the choice to the training loop."""
        own = getattr(self.student, "configure_optimizer", None)
        return own(lr, weight_decay) if callable(own) else None

    def save(self, directory: Path) -> None:
        self.student.save(directory)

    @classmethod
    def load(cls, directory: Path) -> TaskModel:
        return load_model(directory)


_relation_heads = relation_heads
