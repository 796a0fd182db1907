"""How often a trial logs, evaluates and saves."""

from __future__ import annotations

import math


def step_plan(num_examples: int, batch_size: int, epochs: float) -> tuple[int, int, int]:
    """(log, eval, save) steps: the guide's 10 / 100 / 1000 ratio, scaled so a short run still evaluates.

    The guide's figures suit runs of thousands of steps; a CPU trial has tens to hundreds. So: eval 4 times
    an epoch (2k examples / 32 = 63 steps an epoch -> every 16 steps), never less often than every 100;
    log 10x as often, save 10x less often.
    """
    if num_examples < 1 or batch_size < 1 or epochs <= 0:
        raise ValueError(f"step_plan needs examples, batch size and epochs > 0, but got "
                         f"{num_examples=}, {batch_size=}, {epochs=}.")
    steps_per_epoch = math.ceil(num_examples / batch_size)
    span = min(steps_per_epoch, max(1, math.ceil(steps_per_epoch * epochs)))
    eval_steps = min(100, max(1, math.ceil(span / 4)))
    log_steps = max(1, eval_steps // 10)
    eval_steps = log_steps * max(1, round(eval_steps / log_steps))  # a multiple of log
    return log_steps, eval_steps, eval_steps * 10
