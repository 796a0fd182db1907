"""Metrics against hand-computed values, and the label space read from training data."""

from __future__ import annotations

import math

import pytest

from advisor.dataset import Dataset, Example
from advisor.errors import UserError
from automl.labels import label_space
from automl.metrics import default_metric, evaluate, higher_is_better
from automl.models.base import LabelSpace


def test_classification_by_hand() -> None:
    labels = LabelSpace("ABS-1", ["a", "b", "c"])
    m = evaluate("ABS-1", labels, ["a", "a", "b", "b", "c"], ["a", "b", "b", "b", "a"])
    # a: TP 1 FP 1 FN 1 -> P .5 R .5 F .5;  b: TP 2 FP 1 FN 0 -> P 2/3 R 1 F .8;  c: nothing right -> 0
    assert m["accuracy"] == pytest.approx(0.6)
    assert m["macro_precision"] == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    assert m["macro_recall"] == pytest.approx(0.5)
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 0) / 3)
    assert m["micro_f1"] == pytest.approx(0.6)  # single-label: micro = accuracy
    assert m["f1"] == m["macro_f1"]  # more than two classes: macro


def test_binary_f1_is_the_positive_class() -> None:
    labels = LabelSpace("ABS-1", ["neg", "pos"])
    m = evaluate("ABS-1", labels, ["pos", "pos", "neg", "neg"], ["pos", "neg", "pos", "neg"])
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    m = evaluate("ABS-1", labels, ["pos", "pos", "neg"], ["pos", "pos", "pos"])
    assert (m["precision"], m["recall"]) == pytest.approx((2 / 3, 1.0))


def test_multi_label_by_hand() -> None:
    labels = LabelSpace("ABS-3", ["x", "y", "z"])
    golds = [("x",), ("y", "x"), ()]  # order inside a row does not matter
    preds = [("x",), ("y",), ("z",)]
    m = evaluate("ABS-3", labels, golds, preds)
    # cells: TP x1 y2, FP z3, FN x2 -> micro P = R = F = 2/3
    assert m["micro_f1"] == pytest.approx(2 / 3)
    assert m["micro_precision"] == pytest.approx(2 / 3)
    # x: P 1 R .5 F 2/3; y: 1 1 1; z: P 0 F 0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert m["subset_accuracy"] == pytest.approx(1 / 3)
    assert m["hamming_loss"] == pytest.approx(2 / 9)


def test_entities_by_hand() -> None:
    labels = LabelSpace("ABS-6", ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"])
    golds = [("B-PER", "I-PER", "O", "B-LOC"), ("B-ORG", "O")]
    preds = [("B-PER", "I-PER", "O", "B-ORG"), ("B-ORG", "O")]
    m = evaluate("ABS-6", labels, golds, preds)
    # gold PER LOC ORG, predicted PER ORG ORG: 2 of 3 right each way
    assert m["entity_f1"] == pytest.approx(2 / 3)
    assert m["entity_precision"] == pytest.approx(2 / 3)
    assert m["token_accuracy"] == pytest.approx(5 / 6)
    assert m["f1/PER"] == pytest.approx(1.0)
    assert m["f1/LOC"] == 0.0
    assert m["precision/ORG"] == pytest.approx(0.5)
    assert m["f1/ORG"] == pytest.approx(2 / 3)
    assert m["support/LOC"] == 1
    assert (m["entities_gold"], m["entities_predicted"], m["entities_correct"]) == (3, 3, 2)
    with pytest.raises(ValueError, match="gold tags"):
        evaluate("ABS-6", labels, [("O", "O")], [("O",)])


def test_regression_by_hand() -> None:
    labels = LabelSpace("ABS-5", [], regression=True)
    m = evaluate("ABS-5", labels, [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0])
    # cov 6.5, var sums 5 and 8.75 -> r = 6.5 / sqrt(43.75)
    assert m["pearson"] == pytest.approx(6.5 / math.sqrt(43.75))
    assert m["spearman"] == pytest.approx(1.0)
    assert m["mse"] == pytest.approx(0.25)
    assert evaluate("ABS-5", labels, [1.0, 2.0, 3.0], [0.5, 0.5, 0.5])["pearson"] == 0.0  # not NaN


def test_default_metrics_and_direction() -> None:
    assert default_metric("ABS-1") == "accuracy"
    assert default_metric("ABS-3") == "micro_f1"
    assert default_metric("ABS-6") == "entity_f1"
    assert default_metric("ABS-5", LabelSpace("ABS-5", [], regression=True)) == "pearson"
    assert higher_is_better("entity_f1") and not higher_is_better("mse")


def test_label_space_from_train() -> None:
    rows = [Example(text="t", label=x) for x in ["10", "2", "2"]]
    assert label_space("ABS-1", rows).names == ["2", "10"]  # natural order
    binary = [Example(text="a", text_b="b", label=x) for x in ["0", "1"]]
    assert label_space("ABS-5", binary) == LabelSpace("ABS-5", ["0", "1"])
    scores = [Example(text="a", text_b="b", label=x) for x in ["0", "0.5", "1"]]
    assert label_space("ABS-5", scores).regression
    tags = [Example(text="ab", tokens=("a", "b"), tags=("B-LOC", "O"))]
    assert label_space("ABS-6", tags).names == ["O", "B-LOC", "I-LOC"]  # the I- twin is added
    multi = [Example(text="a", labels=("y", "x")), Example(text="b", labels=())]
    assert label_space("ABS-3", multi).names == ["x", "y"]


def test_label_missing_from_train_names_label_and_file() -> None:
    train = Dataset("train.tsv", "ABS-1", "tsv", [Example(text="a", label="pos"), Example(text="b", label="neg")])
    dev = Dataset("dev.tsv", "ABS-1", "tsv", [Example(text="c", label="neutral", line=7)])
    with pytest.raises(UserError) as error:
        label_space("ABS-1", train, dev)
    assert "'neutral'" in str(error.value) and "dev.tsv" in str(error.value) and "line 7" in str(error.value)
    ner_dev = Dataset("dev.conll", "ABS-6", "conll", [Example(text="x", tokens=("x",), tags=("B-ORG",))])
    ner_train = [Example(text="x", tokens=("x",), tags=("B-PER",))]
    with pytest.raises(UserError, match="B-ORG"):
        label_space("ABS-6", ner_train, ner_dev)
    with pytest.raises(UserError, match="only one label"):
        label_space("ABS-1", [Example(text="a", label="pos")])
    with pytest.raises(UserError, match="has no target text"):  # generation (ABS-7) needs src<TAB>tgt rows
        label_space("ABS-7", train)
