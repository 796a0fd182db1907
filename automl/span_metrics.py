"""Reading-comprehension (ABS-9) scores: exact match and F1 between a predicted and a gold answer span,
with SQuAD-style normalisation (lower case, no punctuation, no English articles, single spaces).

F1 counts shared tokens: whitespace words for text without CJK characters, single characters otherwise
(Chinese has no spaces, so a word-level F1 would be all or nothing). The best score over the gold answers
counts, as in SQuAD.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

from advisor.dataset import Example

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")


def normalize_answer(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text
                   if ch not in string.punctuation and not unicodedata.category(ch).startswith("P"))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def answer_tokens(text: str) -> list[str]:
    normal = normalize_answer(text)
    if _CJK.search(normal):
        return [ch for ch in normal if not ch.isspace()]
    return normal.split()


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in golds))


def f1_score(prediction: str, golds: Sequence[str]) -> float:
    return max((_f1(answer_tokens(prediction), answer_tokens(g)) for g in golds), default=0.0)


def _f1(predicted: list[str], gold: list[str]) -> float:
    if not predicted or not gold:
        return float(predicted == gold)
    common = sum((Counter(predicted) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def gold_answers(example: Example) -> tuple[str, ...]:
    """The texts `example`'s prediction is scored against: every gold answer the file gave (SQuAD's dev set
    has several a question), or its one `answer`; ("",) when it has none."""
    return example.answers or (example.answer or "",)


def span_scores(predictions: Sequence[str], golds: Sequence[Sequence[str]]) -> dict[str, float]:
    """Mean exact match and F1 over questions, each in [0, 1]."""
    if not predictions:
        return {"exact_match": 0.0, "f1": 0.0}
    n = len(predictions)
    return {"exact_match": sum(exact_match(p, g) for p, g in zip(predictions, golds, strict=True)) / n,
            "f1": sum(f1_score(p, g) for p, g in zip(predictions, golds, strict=True)) / n}
