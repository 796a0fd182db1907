"""Trials plan their log / eval / save steps with the advice's own step plan (TIME-7, advisor/steps.py)."""

from __future__ import annotations

import math

import pytest

from advisor import steps
from automl.training import step_plan


def test_trials_use_the_advisors_step_plan() -> None:
    assert step_plan is steps.step_plan  # one function: the recommended steps are the ones trials use


@pytest.mark.parametrize(("n", "batch", "epochs"), [(2_000, 32, 3), (13_889, 64, 4), (35_000, 16, 8), (300, 32, 0.5)])
def test_a_trial_gets_dev_scores_to_prune_and_stop_on(n: int, batch: int, epochs: float) -> None:
    log, eval_, save = step_plan(n, batch, epochs)
    steps_run = math.ceil(math.ceil(n / batch) * epochs)
    assert steps_run // eval_ >= 3  # Hyperband and patience compare at least three dev scores a trial
    assert eval_ % log == 0 and save == 10 * eval_
