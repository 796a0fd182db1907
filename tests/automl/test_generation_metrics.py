"""ABS-7 scores: sacrebleu's chrF and BLEU, ROUGE-L on the same tokens, on cases worked by hand."""

from __future__ import annotations

import pytest

from automl.generation_metrics import generation_scores, rouge_l, tokens
from automl.metrics import default_metric, evaluate
from automl.models.base import LabelSpace


def test_identical_text_scores_one_and_unrelated_text_near_zero() -> None:
    golds = ["北京天气晴", "the cat sat on the mat"]
    same = generation_scores(golds, golds)
    assert same == pytest.approx({"chrf": 1.0, "bleu": 1.0, "rouge_l": 1.0, "exact_match": 1.0})
    other = generation_scores(golds, ["上海下雨", "dogs bark loudly"])
    assert other["bleu"] == 0.0 and other["rouge_l"] == 0.0 and other["chrf"] < 0.05


def test_rouge_l_by_hand() -> None:
    # LCS of "the cat sat on the mat" and "cat the sat mat" is 3 tokens: P 3/4, R 3/6, F 0.6
    assert rouge_l("the cat sat on the mat", "cat the sat mat") == pytest.approx(0.6)
    # Chinese counts characters (sacrebleu's zh tokenizer): LCS 4 of 5 and 4: P 1, R 0.8
    assert tokens("北京天气晴 ok.") == ["北", "京", "天", "气", "晴", "ok", "."]
    assert rouge_l("北京天气晴", "北京天晴") == pytest.approx(2 * 0.8 / 1.8)
    assert rouge_l("", "") == 1.0 and rouge_l("a", "") == 0.0


def test_bleu_and_chrf_match_sacrebleu() -> None:
    from sacrebleu import corpus_bleu, corpus_chrf

    golds, preds = ["the cat is on the mat", "there is a dog"], ["the cat sat on the mat", "there is one dog"]
    scores = generation_scores(golds, preds)
    assert scores["bleu"] == pytest.approx(corpus_bleu(preds, [golds], tokenize="zh").score / 100, abs=0.02)
    assert scores["chrf"] == pytest.approx(corpus_chrf(preds, [golds]).score / 100)
    assert 0.2 < scores["chrf"] < 1.0 and scores["exact_match"] == 0.0


def test_the_task_metric_is_chrf_through_evaluate() -> None:
    labels = LabelSpace("ABS-7", [])
    assert default_metric("ABS-7") == "chrf"
    scores = evaluate("ABS-7", labels, ["jin tian"], ["jin tian"])
    assert scores["chrf"] == pytest.approx(1.0)
