from automl.span_metrics import exact_match, f1_score, normalize_answer, span_scores


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
