"""`EnsembleModel`: several trained classifiers of one label space answering as one, by the weighted
mean of their probabilities (AutoGluon's and auto-sklearn's last step after a sweep).

    ensemble = EnsembleModel([bow, gru], [2, 1], ["bow", "gru"])
    ensemble.save(folder); load_model(folder)         # members in member-0/, member-1/, ...

It is a `TaskModel` like any other, so `automl predict`, QPS measurement and a distillation teacher take it
unchanged: `collate` runs every member's own preprocessing (keys prefixed by the member's index) and
`forward` returns log-probabilities (logits of the mean probability for multi-label), which decode and
soften like any logits. It is never trained; its members were.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from advisor.dataset import Example
from automl.models import load_model
from automl.models.base import MODEL_JSON, LabelSpace, Output, TaskModel


def can_ensemble(labels: LabelSpace) -> bool:
    kind = labels.kind  # class probabilities to mix: a trainable task with classes, not tags or a score
    return kind.trainable and not kind.is_tagging and not labels.regression and bool(labels.names)


def probabilities(labels: LabelSpace, logits: torch.Tensor) -> torch.Tensor:
    """Class probabilities from a classifier's logits: sigmoid per label for ABS-3, else softmax."""
    logits = logits.float()
    return logits.sigmoid() if labels.kind.is_multilabel else logits.softmax(-1)


def decode_probabilities(labels: LabelSpace, p: torch.Tensor) -> list[Any]:
    """Label names from class probabilities: those above 0.5 for ABS-3, else the most probable."""
    if labels.kind.is_multilabel:
        return [tuple(labels.names[j] for j, on in enumerate(row) if on) for row in (p > 0.5).tolist()]
    return [labels.names[i] for i in p.argmax(-1).tolist()]


class EnsembleModel(TaskModel):
    family = "ensemble"

    def __init__(self, members: list[TaskModel], weights: list[float], names: list[str]) -> None:
        super().__init__()
        if not members or len(members) != len(weights) or len(members) != len(names):
            raise ValueError(f"An ensemble needs one weight and name per member, but got {len(members)} members, "
                             f"{len(weights)} weights, {len(names)} names.")
        labels = members[0].labels
        if not can_ensemble(labels):
            raise ValueError(f"Ensembles average class probabilities: {labels.task} with {labels.names=} has none.")
        for member in members[1:]:
            if member.labels.to_dict() != labels.to_dict():
                raise ValueError(f"Ensemble members must share one label space, but got {labels.names} "
                                 f"and {member.labels.names}.")
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"Ensemble weights must be >= 0 with a positive sum, but got {weights=}.")
        self.members = nn.ModuleList(members)
        self.weights = [w / sum(weights) for w in weights]
        self.names = list(names)
        self.labels = labels
        self.max_length = max(m.max_length for m in members)

    def _each(self) -> list[TaskModel]:
        return list(self.members)  # type: ignore[arg-type]

    def length(self, example: Example) -> int:
        return max(m.length(example) for m in self._each())

    def collate(self, examples: list[Example], with_targets: bool = True) -> dict[str, torch.Tensor]:
        batch: dict[str, torch.Tensor] = {}
        for i, member in enumerate(self._each()):
            own = member.collate(examples, with_targets=with_targets and i == 0)
            if "labels" in own:
                batch["labels"] = own.pop("labels")
            batch.update({f"{i}.{k}": v for k, v in own.items()})
        return batch

    def forward(self, **batch: torch.Tensor) -> Output:  # type: ignore[override]
        mean: torch.Tensor | None = None
        for i, (member, weight) in enumerate(zip(self._each(), self.weights, strict=True)):
            prefix = f"{i}."
            own = {k[len(prefix):]: v for k, v in batch.items() if k.startswith(prefix)}
            p = weight * probabilities(self.labels, member(**own).logits)
            mean = p if mean is None else mean + p
        assert mean is not None
        multilabel = self.labels.kind.is_multilabel
        mean = mean.clamp(1e-7, 1 - 1e-7) if multilabel else mean.clamp_min(1e-12)
        logits = torch.logit(mean) if multilabel else mean.log()
        return Output(loss=None, logits=logits)

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        p = logits.float().sigmoid() if self.labels.kind.is_multilabel else logits.float().exp()
        return decode_probabilities(self.labels, p)

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for i, member in enumerate(self._each()):
            member.save(directory / f"member-{i}")
        meta = {"format": "automl-ensemble", "version": 1, "family": self.family, "labels": self.labels.to_dict(),
                "members": [{"dir": f"member-{i}", "name": n, "weight": w}
                            for i, (n, w) in enumerate(zip(self.names, self.weights, strict=True))]}
        (directory / MODEL_JSON).write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> EnsembleModel:
        meta = json.loads((Path(directory) / MODEL_JSON).read_text(encoding="utf-8"))
        members = meta["members"]
        return cls([load_model(Path(directory) / m["dir"]) for m in members],
                   [float(m["weight"]) for m in members], [str(m["name"]) for m in members])
