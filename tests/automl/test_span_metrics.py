import json
from pathlib import Path

from advisor.formats import read_dataset
from automl.baseline import first_chars_reference
from automl.metrics import evaluate
from automl.models.base import LabelSpace
from automl.span_metrics import exact_match, f1_score, gold_answers, normalize_answer, span_scores


def test_normalisation_drops_case_punctuation_and_articles() -> None:
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"


def test_exact_match_and_word_f1_on_known_cases() -> None:
    assert exact_match("the Eiffel tower", ["Eiffel Tower"]) == 1.0
    assert exact_match("Eiffel", ["Eiffel Tower"]) == 0.0
    # 1 shared word of 1 predicted and 2 gold: precision 1, recall 1/2, F1 2/3
    assert abs(f1_score("Eiffel", ["Eiffel Tower"]) - 2 / 3) < 1e-9
    assert f1_score("Paris", ["Eiffel Tower"]) == 0.0


def test_chinese_f1_counts_characters() -> None:
    # 北京 against 北京市: 2 shared characters, precision 1, recall 2/3, F1 0.8
    assert abs(f1_score("北京", ["北京市"]) - 0.8) < 1e-9
    assert exact_match("北京。", ["北京"]) == 1.0


def test_best_gold_counts_and_means() -> None:
    scores = span_scores(["XPE", "wrong"], [["EVA", "XPE"], ["EVA"]])
    assert scores == {"exact_match": 0.5, "f1": 0.5}


def test_a_question_scores_against_every_gold_answer_of_the_file(tmp_path: Path) -> None:
    """SQuAD's rule: a question with several gold answers scores its best; here only the second matches."""
    squad = tmp_path / "dev.json"
    squad.write_text(json.dumps({"data": [{"paragraphs": [
        {"context": "北京是中国的首都。", "qas": [{"question": "中国的首都是哪里", "answers": [
            {"text": "中国的首都", "answer_start": 3}, {"text": "北京", "answer_start": 0}]}]},
        {"context": "上海在东边。", "qas": [{"question": "哪个城市在东边", "answers": [
            {"text": "上海", "answer_start": 0}]}]}]}]}, ensure_ascii=False), encoding="utf-8")
    examples = read_dataset(str(squad)).examples
    assert [e.answer for e in examples] == ["中国的首都", "上海"]  # training still reads the first answer
    golds = [gold_answers(e) for e in examples]  # what SpanQATransformer.targets gives evaluate
    assert evaluate("ABS-9", LabelSpace("ABS-9", []), golds, ["北京", "东边"]) == {"exact_match": 0.5, "f1": 0.5}
    assert evaluate("ABS-9", LabelSpace("ABS-9", []), ["中国的首都", "上海"], ["北京", "上海"])["exact_match"] == 0.5
    # the first-characters reference (2 = the mean training answer length) is scored the same way
    assert first_chars_reference(examples[1:], examples)["test"]["exact_match"] == 1.0
