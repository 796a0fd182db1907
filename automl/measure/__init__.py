"""Measured advice: each candidate tier built with random weights from its shape and timed on this machine
before anything is trained (serving QPS at batch 1 and 32, fp32 and the serving precision; training
samples/s; hours and cost per epoch).

    from automl.measure import measure_tier
    measure_tier(tiers()["bow"], task="ABS-1", num_labels=2, language="zh", rows=8000, batch_size=64)

`advisor recommend --measure` calls it for every tier of the ladder (advisor/measured.py). Speed depends on
the shapes and the token counts, not on the weights' values, so an untrained network serves as fast as the
trained one (benchmarks/measure_vs_trained.py compares the two).
"""

from automl.measure._measure import DEFAULT_SECONDS, MEASURABLE_TASKS, epoch_cost, measure_tier

__all__ = ["DEFAULT_SECONDS", "MEASURABLE_TASKS", "epoch_cost", "measure_tier"]
