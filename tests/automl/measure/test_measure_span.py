"""Measuring a tier for ABS-9 reading comprehension (advisor recommend --measure): the span head and its
windows are timed on synthetic rows or the user's questions; the advisor leaves out the from-scratch nets
(no span head) with a note instead of a traceback (an 'QuestionAnsweringModelOutput has no logits' crash)."""

from __future__ import annotations

from pathlib import Path

from advisor.formats import read_dataset
from automl.measure import measure_tier
from automl.measure._inputs import synthetic_examples
from automl.models.span_qa.generated import write_generated_squad
from presets.catalog import ModelTier

TINY_TRANSFORMER = ModelTier(name="tiny-bert", family="transformer", size="tiny", language="zh", rank=1, layers=1,
                             hidden=32, heads=2, intermediate=64, vocab=3000)


def test_synthetic_questions_hold_their_answers() -> None:
    rows = synthetic_examples("ABS-9", "zh", 60, [], rows=20)
    for r in rows:
        assert r.text_b and r.answer and r.answer_start is not None
        assert r.text[r.answer_start:r.answer_start + len(r.answer)] == r.answer


def test_a_transformer_is_measured_on_synthetic_rows_and_on_the_users_questions(tmp_path: Path) -> None:
    out = measure_tier(TINY_TRANSFORMER, task="ABS-9", num_labels=None, language="zh", rows=100, batch_size=8,
                       text_chars=60, seconds=0.3, threads=1)
    assert out["qps_batch_1"] > 0 and out["qps_batch_32"] > 0 and out["train_samples_per_s"] > 0
    write_generated_squad(tmp_path / "qa.json", 40)
    examples = read_dataset(str(tmp_path / "qa.json")).examples
    out = measure_tier(TINY_TRANSFORMER, task="ABS-9", num_labels=None, language="zh", rows=40, batch_size=8,
                       examples=examples, seconds=0.3, threads=1)
    assert out["text_source"] == "data" and out["train_samples_per_s"] > 0


def test_the_advisor_leaves_out_the_from_scratch_nets(tmp_path: Path) -> None:
    from advisor.answers import parse_answers
    from advisor.measured import measure_ladder
    from advisor.plans import as_tier, recommend
    from presets.catalog import tiers

    write_generated_squad(tmp_path / "qa.json", 40)
    answers = parse_answers({"input": "passage_and_question", "output": "span", "language": "zh",
                             "labeled_rows": 40, "num_labels": 1}, origin="test")
    rec = recommend(answers)
    rec.model_tiers = [as_tier(tiers()[name], "test") for name in ("bow", "cnn")]
    notes = measure_ladder(rec, answers, [tmp_path / "qa.json"], seconds=0.3, threads=1)
    assert rec.model_tiers and all(t.measured is None for t in rec.model_tiers)
    assert any("no span head" in n for n in notes)
