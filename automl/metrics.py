"""Dev and test metrics per task, in the data's own terms (label names, tag tuples, floats).

`evaluate(task, labels, golds, preds)` takes what `TaskModel.targets` and `TaskModel.decode` return.
Every key is higher-is-better except those in `LOWER_IS_BETTER`.

| task | keys |
|---|---|
| ABS-1/2/4, ABS-5 binary | accuracy; macro_ and micro_ precision/recall/f1; precision/recall/f1 (two classes: of the
  positive class, the second name; more: macro) |
| ABS-3 | micro_/macro_ precision/recall/f1, subset_accuracy (= accuracy), hamming_loss; f1 = micro_f1 |
| ABS-6 | entity_precision/recall/f1 (seqeval, micro over entities; = precision/recall/f1), token_accuracy,
  per type "f1/LOC", "precision/LOC", "recall/LOC", "support/LOC"; the counts entities_gold, entities_predicted,
  entities_correct (so scores of several test sets can be pooled) |
| ABS-5 score | pearson, spearman, mse, mae (a constant prediction correlates 0.0, not NaN) |
| ABS-9 | exact_match, f1 (SQuAD's, characters for Chinese: automl/span_metrics.py), each 0-1 |
| ABS-7 | chrf, bleu, rouge_l, exact_match, each 0-1 (automl/generation_metrics.py: sacrebleu) |
| ABS-8 | perplexity, bits_per_char (pooled over every character and sentence end; automl/models/lm) |
| ABS-4 (given `probabilities`) | the classification keys, and auc (binary: of the second class; more: macro one-vs-rest) |
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from presets.catalog import task as task_type

if TYPE_CHECKING:  # no torch at import: automl/preflight.py reads `metric_names` before any model loads
    from automl.models.base import LabelSpace

LOWER_IS_BETTER = frozenset({"mse", "mae", "hamming_loss", "loss", "perplexity", "bits_per_char"})

# The keys `evaluate` gives per task (tests/automl/test_preflight.py checks them against it).
CLASSIFICATION = ("accuracy", "precision", "recall", "f1", *(f"{a}_{m}" for a in ("macro", "micro")
                                                             for m in ("precision", "recall", "f1")))
REGRESSION = ("pearson", "spearman", "mse", "mae")
MULTILABEL = (*CLASSIFICATION, "subset_accuracy", "hamming_loss")
TAGGING = ("entity_precision", "entity_recall", "entity_f1", "token_accuracy", "precision", "recall", "f1")
GENERATION = ("chrf", "bleu", "rouge_l", "exact_match")
LANGUAGE_MODEL = ("perplexity", "bits_per_char")
SPAN = ("exact_match", "f1")


def default_metric(task: str, labels: LabelSpace | None = None) -> str:
    """The score a sweep maximises for `task`: the task's metric in presets/tasks.toml (its score metric
    when the labels are numbers)."""
    return task_type(task).metric(regression=labels is not None and labels.regression)


def higher_is_better(metric: str) -> bool:
    return metric.split("/")[0] not in LOWER_IS_BETTER


def metric_names(task: str, regression: bool | None = None, tag_types: Iterable[str] = ()) -> tuple[str, ...] | None:
    """The dev metrics `evaluate` computes for `task` (and "loss", the trial's), the per-type counts left out;
    None for a task this table does not know (then the trial says it). `regression` None: either (the labels
    are not read yet)."""
    kind = task_type(task)
    if kind.is_language_model:
        names: tuple[str, ...] = LANGUAGE_MODEL
    elif kind.is_generation:
        names = GENERATION
    elif kind.is_tagging:
        names = TAGGING + tuple(f"{m}/{t}" for t in tag_types for m in ("precision", "recall", "f1"))
    elif kind.is_multilabel:
        names = MULTILABEL
    elif kind.is_span:
        names = SPAN
    elif not kind.has_one_label:
        return None
    else:
        classes = () if regression else CLASSIFICATION + (("auc",) if kind.has_features else ())
        names = classes + (REGRESSION if kind.may_be_score and regression is not False else ())
    return (*names, "loss")


def evaluate(task: str, labels: LabelSpace, golds: Sequence[Any], preds: Sequence[Any],
             probabilities: Sequence[Sequence[float]] | None = None) -> dict[str, float]:
    """Metrics comparing predictions with gold answers, both as `TaskModel.decode` returns them; with each
    example's class `probabilities` (a classifier's), its AUC too."""
    if len(golds) != len(preds):
        raise ValueError(f"golds and preds must be as long as each other, but got {len(golds)=} and {len(preds)=}.")
    if not golds:
        raise ValueError("cannot evaluate on no examples")
    kind = task_type(task)
    if kind.is_language_model:  # preds are SentenceScores (automl/models/lm); the golds are the texts
        from automl.models.lm import perplexity

        return perplexity(preds)
    if kind.is_span:  # ABS-9: SpanAnswers (or texts) against each question's gold answer texts (or text)
        from automl.span_metrics import span_scores

        return span_scores([getattr(p, "text", p) or "" for p in preds],
                           [tuple(str(a) for a in g) if isinstance(g, tuple | list) else (str(g or ""),)
                            for g in golds])
    if kind.is_generation:
        from automl.generation_metrics import generation_scores

        return generation_scores([str(g) for g in golds], [str(p) for p in preds])
    if kind.is_tagging:
        return _sequence_labeling(golds, preds)
    if kind.is_multilabel:
        return _multi_label(labels, golds, preds)
    if labels.regression:
        return _regression(golds, preds)
    out = _classification(labels, golds, preds)
    if probabilities is not None:
        out["auc"] = roc_auc(labels, golds, probabilities)
    return out


def roc_auc(labels: LabelSpace, golds: Sequence[Any], probabilities: Sequence[Sequence[float]]) -> float:
    """scikit-learn's ROC AUC: of the second class for two (the positive one, as for f1), macro one-vs-rest
    over the classes present in `golds` for more; 0.5 (a coin's) when `golds` hold one class only."""
    from sklearn.metrics import roc_auc_score

    names = list(labels.names)
    present = sorted({names.index(g) for g in golds})
    if len(present) < 2:
        return 0.5
    if len(names) == 2:
        return float(roc_auc_score([names.index(g) for g in golds], [row[1] for row in probabilities]))
    # one-vs-rest over the classes dev or test holds; sklearn wants their scores renormalised to sum to 1
    rows = [[row[j] for j in present] for row in probabilities]
    rows = [[x / (sum(r) or 1.0) for x in r] for r in rows]
    return float(roc_auc_score([present.index(names.index(g)) for g in golds], rows, multi_class="ovr",
                               average="macro"))


def _classification(labels: LabelSpace, golds: Sequence[Any], preds: Sequence[Any]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    names = list(labels.names) or sorted({*golds, *preds})
    out = {"accuracy": float(accuracy_score(golds, preds))}
    for average in ("macro", "micro"):
        p, r, f, _ = precision_recall_fscore_support(golds, preds, labels=names, average=average, zero_division=0)
        out.update({f"{average}_precision": float(p), f"{average}_recall": float(r), f"{average}_f1": float(f)})
    if len(names) == 2:
        p, r, f, _ = precision_recall_fscore_support(golds, preds, labels=[names[1]], average="micro",
                                                     zero_division=0)
        out.update({"precision": float(p), "recall": float(r), "f1": float(f)})
    else:
        out.update({"precision": out["macro_precision"], "recall": out["macro_recall"], "f1": out["macro_f1"]})
    return out


def _multi_label(labels: LabelSpace, golds: Sequence[Any], preds: Sequence[Any]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, hamming_loss, precision_recall_fscore_support
    from sklearn.preprocessing import MultiLabelBinarizer

    names = list(labels.names) or sorted({n for row in [*golds, *preds] for n in row})
    binarizer = MultiLabelBinarizer(classes=names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "unknown class(es) will be ignored": counted as wrong below anyway
        y_true = binarizer.fit_transform(golds)
        y_pred = binarizer.transform(preds)
    out: dict[str, float] = {}
    for average in ("micro", "macro"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
        out.update({f"{average}_precision": float(p), f"{average}_recall": float(r), f"{average}_f1": float(f)})
    out["subset_accuracy"] = float(accuracy_score(y_true, y_pred))
    out["accuracy"] = out["subset_accuracy"]
    out["hamming_loss"] = float(hamming_loss(y_true, y_pred))
    out.update({"precision": out["micro_precision"], "recall": out["micro_recall"], "f1": out["micro_f1"]})
    return out


def _sequence_labeling(golds: Sequence[Any], preds: Sequence[Any]) -> dict[str, float]:
    from seqeval.metrics import classification_report
    from seqeval.metrics.sequence_labeling import get_entities

    y_true = [list(row) for row in golds]
    y_pred = [list(row) for row in preds]
    for i, (g, p) in enumerate(zip(y_true, y_pred, strict=True)):
        if len(g) != len(p):
            raise ValueError(f"example {i} has {len(g)} gold tags but {len(p)} predicted tags")
    # seqeval's micro scores, from its own (type, start, end) entities counted once; 0 where undefined
    gold, predicted = set(get_entities(y_true)), set(get_entities(y_pred))
    hits = len(gold & predicted)
    out = {
        "entity_precision": hits / len(predicted) if predicted else 0.0,
        "entity_recall": hits / len(gold) if gold else 0.0,
        "entity_f1": 2 * hits / (len(gold) + len(predicted)) if gold or predicted else 0.0,
        "entities_gold": float(len(gold)), "entities_predicted": float(len(predicted)), "entities_correct": float(hits),
    }
    tokens = sum(len(g) for g in y_true)
    correct = sum(a == b for g, p in zip(y_true, y_pred, strict=True) for a, b in zip(g, p, strict=True))
    out["token_accuracy"] = correct / tokens if tokens else 0.0
    out.update({"precision": out["entity_precision"], "recall": out["entity_recall"], "f1": out["entity_f1"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    for kind, row in report.items():
        if kind.endswith(" avg"):
            continue
        out.update({f"precision/{kind}": float(row["precision"]), f"recall/{kind}": float(row["recall"]),
                    f"f1/{kind}": float(row["f1-score"]), f"support/{kind}": float(row["support"])})
    return out


def _regression(golds: Sequence[Any], preds: Sequence[Any]) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    y_true = [float(g) for g in golds]
    y_pred = [float(p) for p in preds]
    n = len(y_true)
    out = {
        "mse": sum((a - b) ** 2 for a, b in zip(y_true, y_pred, strict=True)) / n,
        "mae": sum(abs(a - b) for a, b in zip(y_true, y_pred, strict=True)) / n,
    }
    constant = n < 2 or len(set(y_true)) < 2 or len(set(y_pred)) < 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pearson = 0.0 if constant else float(pearsonr(y_true, y_pred)[0])
        spearman = 0.0 if constant else float(spearmanr(y_true, y_pred)[0])
    out["pearson"] = pearson if math.isfinite(pearson) else 0.0
    out["spearman"] = spearman if math.isfinite(spearman) else 0.0
    return out
