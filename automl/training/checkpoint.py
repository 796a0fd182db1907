"""The best weights kept in memory during a trial and written to a folder atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch

from automl.models.base import TaskModel

State = dict[str, torch.Tensor]


def snapshot(model: torch.nn.Module) -> State:
    """A CPU copy of the model's weights, independent of further training."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def save_best(model: TaskModel, best_state: State | None, directory: Path) -> None:
    """Write the best weights to `directory` via a temporary sibling and a rename: never half-written.
    The model keeps its current weights."""
    if best_state is None:
        return
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    current = snapshot(model)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        model.load_state_dict(best_state)
        model.save(tmp)
        old = None
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
            os.replace(directory, old)
        os.replace(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        model.load_state_dict(current)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
