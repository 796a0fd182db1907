"""step_plan: the guide's log / eval / save ratio, scaled to short CPU trials."""

from __future__ import annotations

import pytest

from automl.training import step_plan


def test_step_plan_keeps_the_guides_ratio() -> None:
    assert step_plan(100_000, 32, 3) == (10, 100, 1000)  # the guide's figures for a long run
    log, eval_, save = step_plan(2_000, 32, 3)  # 63 steps an epoch
    assert eval_ == 16 and log == 1 and save == 160
    for n, bs, epochs in [(200, 16, 1), (5_000, 32, 2), (40_000, 16, 3), (300, 32, 0.5)]:
        log, eval_, save = step_plan(n, bs, epochs)
        assert eval_ % log == 0 and save == 10 * eval_
        assert eval_ * 4 <= -(-n // bs) + 4 or eval_ == 100  # about four evals an epoch, at most every 100
    with pytest.raises(ValueError, match="batch_size=0"):
        step_plan(10, 0, 1)
