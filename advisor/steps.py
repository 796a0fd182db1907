"""TIME-7: how often a run logs, evaluates and saves; one plan for the advice and for automl's trials.

The rule (presets/rules.toml, TIME-7) fixes the ratio: train_log_step, eval_step and save_model_step
"ten times apart, e.g. 10, 100, 1000". It leaves the scale open. The scale here comes from the epoch:
evaluate about four times an epoch, rounded to a power of ten so the ratio stays exact. That gives
trials what pruning and early stopping compare (1.3 to 13 dev scores an epoch), and keeps dev
evaluation a small share of the time. 1,000 steps an epoch (e.g. 32,000 rows at batch 32) is the
guide's example: 10 / 100 / 1000.
"""

from __future__ import annotations

import math
from typing import NamedTuple

EVALS_PER_EPOCH = 4  # before rounding to a power of ten: 1.26 to 12.6 evaluations an epoch after it


class StepPlan(NamedTuple):
    log: int
    eval: int
    save: int


def step_plan(num_examples: int, batch_size: int, epochs: float) -> StepPlan:
    """(log, eval, save) steps, 1:10:100. A run shorter than an epoch is planned over its own length;
    an eval step under 10 logs every step (the only place the 1:10 ratio gives way: no fraction of a step)."""
    if num_examples < 1 or batch_size < 1 or epochs <= 0:
        raise ValueError(f"step_plan needs examples, batch size and epochs > 0, but got "
                         f"{num_examples=}, {batch_size=}, {epochs=}.")
    steps_per_epoch = math.ceil(num_examples / batch_size)
    span = min(steps_per_epoch, max(1, math.ceil(steps_per_epoch * epochs)))
    power = max(0, math.floor(math.log10(span / EVALS_PER_EPOCH) + 0.5)) if span >= EVALS_PER_EPOCH else 0
    eval_steps = 10**power
    return StepPlan(log=max(1, eval_steps // 10), eval=eval_steps, save=10 * eval_steps)
