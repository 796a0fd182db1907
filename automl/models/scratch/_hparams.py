"""The from-scratch families' hyperparameters: names, defaults per family and task, and why."""

from __future__ import annotations

from typing import Any

FAMILIES = ("bow", "cnn", "gru", "lstm")
TASKS = ("ABS-1", "ABS-2", "ABS-3", "ABS-4", "ABS-5", "ABS-6")
PAIR_TASKS = ("ABS-2", "ABS-5")
TAGGER_MIN_LIMIT = 1024  # People's Daily: 99% of sentences <= 142 characters, the longest 1,019

# Shared by every family and task; the per-family and per-task tables below override them.
COMMON_DEFAULTS: dict[str, Any] = {
    "embedding_dim": 128,  # presets/models.toml: embedding = 128
    "bigram_dim": 64,  # bigram tables are 25-50x larger than char tables: half width keeps them cheap
    "hidden": 128,  # presets/models.toml: hidden = 128 (per direction for GRU/LSTM, per width for CNN)
    "num_layers": 1,
    "dropout": 0.3,
    "bigrams": False,
    "crf": False,
    "window": 0,  # neighbours on each side concatenated to each position's input vector
    "pooling": "max",  # GRU/LSTM classification: max, mean or maxmean over time
    "kernel_sizes": [2, 3, 4],
    "bag": "mean",  # BOW: EmbeddingBag mode, mean or sum
    "min_freq": 1,
    "bigram_min_freq": 2,  # People's Daily train: 248k distinct char bigrams, 114k seen twice or more
    "max_vocab": 50_000,
    "max_bigrams": 200_000,
    "word_level": False,  # Chinese: jieba words instead of characters
    "lowercase": True,
}
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "bow": {"bigrams": True, "dropout": 0.2},
    "cnn": {},
    "gru": {},
    "lstm": {},
}
TAGGER_DEFAULTS: dict[str, dict[str, Any]] = {
    "bow": {"bigrams": True, "crf": True, "window": 2, "hidden": 256, "lowercase": False},
    "cnn": {"bigrams": True, "crf": True, "kernel_sizes": [3, 5], "num_layers": 2, "lowercase": False},
    "gru": {"bigrams": True, "crf": True, "hidden": 200, "lowercase": False},
    "lstm": {"bigrams": True, "crf": True, "hidden": 200, "lowercase": False},
}
HPARAM_NAMES = frozenset(COMMON_DEFAULTS)


def default_hparams(family: str, task: str) -> dict[str, Any]:
    """The hparams `build_scratch` uses when given none, for this family and task."""
    check_family_task(family, task)
    table = TAGGER_DEFAULTS if task == "ABS-6" else FAMILY_DEFAULTS
    return {**COMMON_DEFAULTS, **table[family]}


def check_family_task(family: str, task: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f"Scratch family must be one of {FAMILIES}, but got {family=}.")
    if task not in TASKS:
        raise ValueError(f"Scratch models handle the tasks {TASKS}, but got {task=}.")
