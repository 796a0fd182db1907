"""Model folders as `automl` saves them, built from a data file: untrained (for the commands that read folders)
or trained a few Adam steps (for export, serving and prediction tests, and benchmarks/onnx_vs_torch.py). Plain
functions without pytest, so a benchmark script can import them too."""

from __future__ import annotations

import random
from pathlib import Path

from advisor.formats import read_dataset
from automl.labels import label_space
from automl.models import build_model, resolve_model


def save_untrained(name: str, data: Path, out: Path) -> Path:
    dataset = read_dataset(str(data))
    model = build_model(resolve_model(name), label_space(dataset.task, dataset.examples), dataset.examples, 64, "zh")
    model.save(out)
    return out


def train_briefly(name: str, data: Path, directory: Path, steps: int = 20, batch_size: int = 16,
                  lr: float | None = None, max_length: int = 128, seed: int = 0) -> Path:
    """A model of `name` (bow/cnn/gru/lstm, a tier such as minilm-l6, or a model folder) trained `steps` Adam
    steps on batches of `batch_size` rows sampled from the file `data`, saved (eval mode) to `directory`: a
    real trained folder; speed does not depend on how well it learned. `lr` None: 5e-5 for a pretrained
    transformer, 1e-3 for everything else."""
    import torch

    dataset = read_dataset(str(data))
    rows = dataset.examples
    torch.manual_seed(seed)
    model = build_model(resolve_model(name), label_space(dataset.task, rows), rows, max_length, "zh")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr or (5e-5 if model.family == "transformer" else 1e-3))
    rng = random.Random(seed)
    model.train()
    for _ in range(steps):
        loss = model(**model.collate(rng.sample(rows, min(batch_size, len(rows))))).loss
        assert loss is not None
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval().save(directory)
    return directory
