"""Model distillation's trial plans (automl/distill/model_distill.py)."""

from __future__ import annotations

import os
from pathlib import Path

from advisor.dataset import Example
from automl.distill.augment import AugmentConfig, augment
from automl.distill.teacher import freeze
from automl.labels import label_space
from automl.models import build_model, resolve_model

os.environ["HF_HUB_OFFLINE"] = "1"


def test_model_baseline_trains_on_the_truth_only(tiny_dir: Path, ner: list[Example]) -> None:
    import optuna

    from automl.distill.model_distill import ModelDistillation
    from automl.distill.search import Ranges

    labels = label_space("ABS-6", ner)
    teacher = freeze(build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en"))
    truth, extra = ner[:20], augment(ner[:20], "ABS-6", AugmentConfig(copies=1, seed=0)).examples
    ranges = Ranges(lr=(1e-4, 1e-4), lr_default=1e-4, epochs=(1, 1), epochs_default=1)
    job = ModelDistillation(teacher, "layers:1", truth + extra, ner[20:30], "en", {}, 8, 0, ranges, ranges,
                            baseline_train=truth)
    trial = optuna.create_study().ask()
    assert job.baseline_plan(trial).stages[0].train == truth
    assert job.distill_plan(optuna.create_study().ask()).stages[-1].train == truth + extra
    assert job.plan("baseline", optuna.create_study().ask()).stages[0].train == truth
