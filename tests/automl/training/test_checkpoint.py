"""The best weights written atomically, the model keeping its current ones."""

from __future__ import annotations

from pathlib import Path

import torch

from automl.labels import label_space
from automl.models import build_model, load_model, resolve_model
from automl.training import predict
from automl.training.checkpoint import save_best, snapshot


def test_save_best_replaces_the_folder_and_keeps_the_current_weights(data, tmp_path: Path) -> None:  # noqa: ANN001
    train, dev = data
    model = build_model(resolve_model("bow"), label_space("ABS-1", train, dev), train, 64, "zh")
    best = snapshot(model)
    best_predictions = predict(model, dev)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))  # the model trains on after its best eval
    current = snapshot(model)
    target = tmp_path / "best"
    target.mkdir()
    (target / "stale.txt").write_text("from an earlier save")
    save_best(model, best, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]  # no temporary or old folder left
    assert not (target / "stale.txt").exists()
    assert predict(load_model(target), dev) == best_predictions
    assert all(torch.equal(v, current[k]) for k, v in model.state_dict().items())
    save_best(model, None, tmp_path / "none")  # nothing evaluated yet: nothing written
    assert not (tmp_path / "none").exists()
