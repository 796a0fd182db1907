"""Shared by the batch-size tests: fake probes with known memory, a small real model, its examples.

CharClassifier lives here, in an importable module, so that the isolated probe's child process can unpickle it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from advisor.dataset import Example
from automl.batch_size import ProbeResult, is_out_of_memory
from automl.models.base import LabelSpace, Output, TaskModel

MiB = 2**20

# --- fake probes ---------------------------------------------------------------------------------------


class AffineMemory:
    """peak = fixed + per_sample * size; fits while the peak is within the budget.

    With the defaults the largest fitting size is exactly 100 ((1000 - 300) / 7), and with a 5% margin the
    largest within the target of 950 MiB is 92, i.e. 88 on the grid of 8.
    """

    def __init__(
        self,
        fixed: float = 300 * MiB,
        per_sample: float = 7 * MiB,
        budget: int = 1000 * MiB,
        peak_on_failure: bool = True,
    ) -> None:
        self.fixed, self.per_sample, self.budget = fixed, per_sample, budget
        self.peak_on_failure = peak_on_failure
        self.tried: list[int] = []

    def __call__(self, size: int) -> ProbeResult:
        self.tried.append(size)
        peak = int(self.fixed + self.per_sample * size)
        if peak <= self.budget:
            return ProbeResult(size, True, peak, 0.0, "fits")
        return ProbeResult(size, False, peak if self.peak_on_failure else None, 0.0, "over budget")


class OomOnly:
    """As accelerate's test: the step raises "CUDA out of memory." above `limit`; the probe turns the error
    into a failed ProbeResult through `is_out_of_memory`, and reports no memory figure."""

    def __init__(self, limit: int = 100) -> None:
        self.limit = limit
        self.tried: list[int] = []

    def step(self, size: int) -> None:
        if size > self.limit:
            raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB")

    def __call__(self, size: int) -> ProbeResult:
        self.tried.append(size)
        try:
            self.step(size)
        except RuntimeError as exc:
            if not is_out_of_memory(exc):
                raise
            return ProbeResult(size, False, None, 0.0, str(exc))
        return ProbeResult(size, True, None, 0.0, "fits")


LIGHTNING_SEQUENCE = [2, 4, 8, 16, 32, 64, 128, 96, 112, 104, 100, 102, 101]
GRID_REFERENCE_SEQUENCE = [8, 16, 32, 64, 128, 96, 112, 104]


# --- a small real model ---------------------------------------------------------------------------------


class CharClassifier(TaskModel):
    """Characters -> embedding -> dense layer -> mean pool -> classes: about 1 MiB of activations per
    sample of 256 characters, so a budget of tens of MiB puts the maximum batch at a few dozen."""

    family = "cnn"

    def __init__(self, max_length: int = 256, oom_above: int | None = None, fail_on_call: int | None = None,
                 die_above: int | None = None, sleep_above: int | None = None):
        super().__init__()
        self.labels = LabelSpace("ABS-1", ["neg", "pos"])
        self.max_length = max_length
        self.embed = nn.Embedding(257, 32, padding_idx=0)
        self.hidden = nn.Linear(32, 256)
        self.dropout = nn.Dropout(0.1)
        self.out = nn.Linear(256, 2)
        self.oom_above = oom_above  # a real allocator failure above this batch size
        self.fail_on_call = fail_on_call  # a bug (ValueError) on this forward call
        self.die_above = die_above  # the process is killed above this batch size (as the kernel's OOM killer does)
        self.sleep_above = sleep_above  # a step that takes a minute above this batch size
        self.calls = 0

    def length(self, example: Example) -> int:
        return min(len(example.text), self.max_length)

    def collate(self, examples: list[Example], with_targets: bool = True) -> dict[str, torch.Tensor]:
        width = max(self.length(e) for e in examples)
        ids = torch.zeros(len(examples), width, dtype=torch.long)
        for row, example in enumerate(examples):
            codes = [min(ord(c), 255) + 1 for c in example.text[:width]]
            ids[row, : len(codes)] = torch.tensor(codes)
        batch = {"ids": ids}
        if with_targets:
            batch["target"] = torch.tensor([self.labels.names.index(e.label or "neg") for e in examples])
        return batch

    def forward(self, ids: torch.Tensor, target: torch.Tensor | None = None) -> Output:  # type: ignore[override]
        self.calls += 1
        if self.fail_on_call == self.calls:
            raise ValueError("a bug in the model")
        if self.die_above is not None and ids.shape[0] > self.die_above:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.sleep_above is not None and ids.shape[0] > self.sleep_above:
            time.sleep(60)
        if self.oom_above is not None and ids.shape[0] > self.oom_above:
            torch.empty(2**50, dtype=torch.uint8)  # raises: DefaultCPUAllocator: can't allocate memory
        mask = (ids > 0).unsqueeze(-1).float()
        hidden = self.dropout(torch.relu(self.hidden(self.embed(ids))))
        logits = self.out((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0))
        return Output(None if target is None else F.cross_entropy(logits, target), logits)

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        return [self.labels.names[i] for i in logits.argmax(-1).tolist()]

    def save(self, directory: Path) -> None:
        raise NotImplementedError

    @classmethod
    def load(cls, directory: Path) -> TaskModel:
        raise NotImplementedError


EXAMPLES = [
    Example("short", label="neg"),
    Example("a longer review " * 20, label="pos"),
    Example("ok", label="pos"),
]


def child_that_cannot_import(*args: object) -> None:
    """In place of the probe child's entry point (`_isolated._child`), in a real spawned child: it dies at an
    import, as a child of a broken install does, before it says it is ready."""
    import automl_module_that_is_not_installed  # noqa: F401
