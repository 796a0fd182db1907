"""What a new user met: Chinese reviews, 2 labels, 8,000 rows, QPS 2,000, CPU only."""

from __future__ import annotations

import pytest
from rich.console import Console
from typer.testing import CliRunner

from advisor.answers import parse_answers
from advisor.cli import app
from advisor.errors import UserError
from advisor.plans import recommend
from advisor.render import render_recommendation

NEW_USER = {"input": "one_text", "output": "one_class", "num_labels": 2, "labeled_rows": 8000, "language": "zh",
            "qps": 2000, "train_hardware": "cpu", "serve_hardware": "cpu"}


def test_cpu_training_at_qps_2000_plans_no_transformer_it_cannot_train() -> None:
    rec = recommend(parse_answers(NEW_USER))
    fired = {f.id for f in rec.fired_rules}
    assert {"QPS-1", "TIME-1", "TIME-2"} <= fired and not {"DIST-1", "DIST-4"} & fired
    assert rec.distill.method == "none"
    assert [t.family for t in rec.model_tiers] == ["lstm", "gru", "cnn", "bow"]  # no ERNIE teacher on CPU
    assert not any("No pretrained tiers" in w for w in rec.warnings)
    qps1 = next(f.because for f in rec.fired_rules if f.id == "QPS-1")
    assert "BOW and CNN are the fastest" in qps1 and "--measure" in qps1
    on_gpu = recommend(parse_answers({**NEW_USER, "train_hardware": "gpu"}))
    assert on_gpu.distill.method == "model" and on_gpu.distill.teacher == "ernie-3.0-base-zh"


def test_no_metric_warning_names_the_default_the_plan_uses() -> None:
    rec = recommend(parse_answers(NEW_USER))
    goal = next(f.because for f in rec.fired_rules if f.id == "GOAL-1")
    assert "uses the task's default (accuracy)" in goal
    console = Console(record=True, width=200)
    render_recommendation(rec, console, verbose=False)
    assert "accuracy (the task's default: no metric given)" in console.export_text()
    assert "GOAL-1" not in {f.id for f in recommend(parse_answers({**NEW_USER, "metric": "f1"})).fired_rules}


@pytest.mark.parametrize("output", ["free_text", "span", "sentence_probability"])
def test_zero_labels_are_accepted_and_dropped_for_outputs_without_labels(output: str) -> None:
    inputs = "passage_and_question" if output == "span" else "one_text"
    answers = parse_answers({"input": inputs, "output": output, "num_labels": 0})
    assert answers.num_labels is None
    assert recommend(answers).task.id in ("ABS-7", "ABS-8", "ABS-9")


@pytest.mark.parametrize("output", ["one_class", "independent_labels", "tag_per_token"])
def test_zero_labels_are_refused_for_outputs_with_labels(output: str) -> None:
    with pytest.raises(UserError, match=f"num_labels = 0, but a {output} output has labels"):
        parse_answers({"input": "one_text", "output": output, "num_labels": 0})


def test_a_language_typo_is_caught_at_the_prompt() -> None:
    from advisor.questions import language_note

    assert language_note("zh") == "" and language_note("en") == ""
    assert "Did you mean 'zh'?" in language_note("ch")


def test_gpu_model_and_language_are_checked_at_the_prompt() -> None:
    typed = "\n".join([
        "one_text", "one_class", "2", "8000", "0",
        "fr",          # language without pretrained tiers: said at once
        "fr",          # typed again: kept
        "2000", "",    # qps, latency
        "gpu", "1", "1",
        "V10O",        # gpu_model typo: re-asked with the suggestion
        "v100",
        "cpu", "accuracy", "", "", "",
    ]) + "\n"
    result = CliRunner().invoke(app, ["recommend", "--json"], input=typed)
    assert result.exit_code == 0, result.output
    before_plan = result.output.split('"task"')[0]
    assert "no model in presets/models.toml is made for language 'fr'" in before_plan
    assert "Type 'fr' again to keep it" in before_plan
    assert "not in the price table" in before_plan and "Did you mean 'V100'" in before_plan
    assert '"gpu_model": "V100"' in result.output and '"language": "fr"' in result.output
