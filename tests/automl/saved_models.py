"""A model folder as `automl` saves it, built (untrained) from a data file: for the commands that read folders."""

from __future__ import annotations

from pathlib import Path

from advisor.formats import read_dataset
from automl.labels import label_space
from automl.models import build_model, resolve_model


def save_untrained(name: str, data: Path, out: Path) -> Path:
    dataset = read_dataset(str(data))
    model = build_model(resolve_model(name), label_space(dataset.task, dataset.examples), dataset.examples, 64, "zh")
    model.save(out)
    return out
