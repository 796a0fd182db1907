"""TIME-7's one step plan: the advice and automl's trials ask the same function."""

from __future__ import annotations

import math

import pytest

from advisor.answers import parse_answers
from advisor.plans import recommend
from advisor.steps import step_plan


def test_the_guides_example_is_a_thousand_steps_an_epoch() -> None:
    assert step_plan(32_000, 32, 3) == (10, 100, 1000)  # 1,000 steps an epoch
    assert step_plan(2_000, 32, 3) == (1, 10, 100)  # 63 steps an epoch: 6 evaluations an epoch
    assert step_plan(100_000, 32, 3) == (100, 1000, 10_000)  # 3,125 steps an epoch: 3 evaluations


@pytest.mark.parametrize("steps_per_epoch", [40, 63, 125, 217, 400, 1_000, 3_125, 12_600, 40_000])
def test_ten_times_apart_and_one_to_thirteen_evaluations_an_epoch(steps_per_epoch: int) -> None:
    log, eval_, save = step_plan(steps_per_epoch * 16, 16, 3)
    assert (eval_, save) == (10 * log, 100 * log)
    assert 1.26 <= steps_per_epoch / eval_ <= 12.6


def test_short_runs_still_evaluate() -> None:
    assert step_plan(10, 2, 1) == (1, 1, 10)  # 5 steps: every step, not never
    assert step_plan(300, 32, 0.5) == (1, 1, 10)  # half an epoch (5 steps) is the span
    log, eval_, _ = step_plan(6_400, 16, 0.1)  # 40 of 400 steps an epoch run: planned over the 40
    assert eval_ == 10 and log == 1


def test_bad_input_names_the_value() -> None:
    with pytest.raises(ValueError, match="batch_size=0"):
        step_plan(10, 0, 1)


def test_the_advice_shows_the_plan_trials_use() -> None:
    rec = recommend(parse_answers({"input": "one_text", "output": "one_class", "labeled_rows": 20_000,
                                   "num_labels": 2}))
    tr = rec.training
    plan = step_plan(20_000, tr.batch_size, tr.epochs)
    assert (tr.train_log_step, tr.eval_step, tr.save_model_step) == plan
    assert tr.steps_per_epoch == math.ceil(20_000 / tr.batch_size)
