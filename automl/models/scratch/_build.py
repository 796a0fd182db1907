"""`build_scratch`: a fresh model whose vocabulary and statistics come from the training examples."""

from __future__ import annotations

import difflib
import math
from collections import Counter
from typing import Any

from advisor.dataset import Example
from automl.models.base import LabelSpace
from automl.models.scratch._hparams import (
    HPARAM_NAMES,
    TAGGER_MIN_LIMIT,
    check_family_task,
    default_hparams,
)
from automl.models.scratch._model import ScratchModel
from automl.models.scratch._vocab import CJK_RATIO, Tokenizer, Vocab, bigrams, cjk_ratio, ngrams
from presets.catalog import task as task_type


def build_scratch(
    family: str,
    labels: LabelSpace,
    train_examples: list[Example],
    language: str,
    max_length: int,
    **hparams: Any,
) -> ScratchModel:
    """A fresh model whose vocabulary comes from `train_examples` only.

    Characters are the units for Chinese (`language` "zh", or a CJK share above 30% in the data),
    words otherwise; `word_level=True` uses jieba words for Chinese."""
    task = labels.task
    check_family_task(family, task)
    unknown = set(hparams) - HPARAM_NAMES
    if unknown:
        hints = {u: difflib.get_close_matches(u, HPARAM_NAMES, n=1) for u in sorted(unknown)}
        raise ValueError(
            f"Unknown scratch hparams {hints} (name: closest known); known: {sorted(HPARAM_NAMES)}."
        )
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, but got {max_length=}.")
    hp = {**default_hparams(family, task), **hparams}
    hp["kernel_sizes"] = [int(k) for k in hp["kernel_sizes"]]
    kind = task_type(task)
    tagging = kind.is_tagging

    def texts() -> list[str]:
        if tagging:
            return ["".join(e.tokens) for e in train_examples[:5000]]
        return [t for e in train_examples[:5000] for t in (e.text, e.text_b or "")]

    zh = language.lower().startswith("zh") or cjk_ratio(texts()) >= CJK_RATIO
    mode = ("jieba" if zh else "word") if hp["word_level"] else ("char" if zh else "word")
    tokenizer = Tokenizer(mode=mode, lowercase=bool(hp["lowercase"]))
    model_language = "zh" if zh else language

    bag = family == "bow" and not tagging  # only a BOW classifier reads n-grams beyond bigrams
    unit_counts: Counter[str] = Counter()
    bigram_counts: Counter[str] = Counter()
    for e in train_examples:
        if tagging:
            seqs = [[tokenizer.unit(t) for t in e.tokens[: max(max_length, TAGGER_MIN_LIMIT)]]]
        else:
            seqs = [tokenizer(e.text)[:max_length]]
            if kind.is_pair:
                seqs.append(tokenizer(e.text_b or "")[:max_length])
        for units in seqs:
            unit_counts.update(units)
            if hp["bigrams"]:
                bigram_counts.update(bigrams(units, tokenizer.joiner))
                if bag:
                    for n in range(3, hp["ngram_max"] + 1):
                        bigram_counts.update(ngrams(units, tokenizer.joiner, n))
    vocab = Vocab.build(unit_counts, hp["min_freq"], hp["max_vocab"])
    bigram_vocab = (
        Vocab.build(bigram_counts, hp["bigram_min_freq"], hp["max_bigrams"]) if hp["bigrams"] else None
    )

    stats: dict[str, Any] = {}
    if labels.regression:
        ys = [float(e.label or 0.0) for e in train_examples]
        mean = sum(ys) / max(len(ys), 1)
        std = math.sqrt(sum((y - mean) ** 2 for y in ys) / max(len(ys), 1))
        stats.update(target_mean=mean, target_std=std if std > 1e-8 else 1.0)
    if kind.has_features:
        rows = [list(e.features) for e in train_examples]
        width = len(rows[0]) if rows else 0
        cols = [[r[j] for r in rows] for j in range(width)]
        means = [sum(c) / len(c) for c in cols]
        stds = [math.sqrt(sum((x - m) ** 2 for x in c) / len(c)) for c, m in zip(cols, means, strict=True)]
        stats.update(feature_mean=means, feature_std=[s if s > 1e-8 else 1.0 for s in stds])
    return ScratchModel(family, labels, max_length, model_language, tokenizer, vocab, bigram_vocab, hp, stats)
