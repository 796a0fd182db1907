"""`advisor recommend --measure`: time every tier of the ladder on this machine before training.

The only door from the advisor to torch: `automl.measure` is imported inside `measure_ladder`, so the
advisor without --measure never loads torch (tests/advisor/test_measured.py checks it in a subprocess).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from advisor.answers import Answers
from advisor.errors import UserError
from advisor.plans import start_batch
from advisor.qps_facts import state_measured_facts
from advisor.recommendation import Measured, Recommendation, Tier
from presets.catalog import SCRATCH_FAMILIES
from presets.catalog import task as task_type
from presets.catalog import tier as catalog_tier

DATA_ROWS = 2000  # of the user's file: enough for a vocabulary, the median-length sample and 8 batches


def train_batch(tier: Tier, answers: Answers) -> int:
    """The batch the training plan starts from for this tier (TIME-8: advisor.plans.start_batch)."""
    return start_batch(tier, answers)


def data_examples(paths: list[Path]) -> list[Any]:
    """The first rows of the training file (the first --data file)."""
    from advisor.formats import read_dataset

    return read_dataset(str(paths[0])).examples[:DATA_ROWS]


def measure_ladder(rec: Recommendation, answers: Answers, data: list[Path] | None = None,
                   seconds: float | None = None, threads: int | None = None,
                   progress: Any = None) -> list[str]:
    """Fill `measured` on every tier of `rec.model_tiers` and state the facts in the QPS rule.

    Returns the tiers that could not be measured, with why. `progress(name)` is called before each tier."""
    try:
        from automl.measure import DEFAULT_SECONDS, MEASURABLE_TASKS, measure_tier
    except ImportError as exc:  # the light install has no torch
        raise UserError(f"--measure needs torch, which is not installed here ({exc}).",
                        "Install the training extras (`pip install -e .`), or leave out --measure.") from None
    task = rec.task.id
    if task not in MEASURABLE_TASKS:
        return [f"not measured: automl trains {', '.join(MEASURABLE_TASKS)}, not {task}."]
    examples = data_examples(data) if data else None
    skipped: list[str] = []
    span = task_type(task).is_span  # ABS-9

    def measure(tier: Tier) -> None:
        spec = catalog_tier(tier.name)
        if spec is None:
            skipped.append(f"{tier.name}: not a tier of presets/models.toml")
            return
        if span and spec.family in SCRATCH_FAMILIES:
            skipped.append(f"{tier.name}: not measured, a from-scratch net has no span head (reading "
                           "comprehension fine-tunes a pretrained transformer)")
            return
        if progress is not None:
            progress(tier.name)
        language = answers.language if spec.language in ("any", "multi") else spec.language
        result = measure_tier(spec, task=task, num_labels=answers.num_labels, language=language,
                              rows=answers.labeled_rows, batch_size=train_batch(tier, answers), examples=examples,
                              text_chars=answers.text_chars or 128, seconds=seconds or DEFAULT_SECONDS,
                              threads=threads)
        tier.measured = Measured.model_validate(result)

    for tier in rec.model_tiers:
        measure(tier)
    if not any(t.measured and t.measured.qps_batch_32 >= answers.qps for t in rec.model_tiers):
        add_fast_students(rec, measure, answers.qps)
    state_measured_facts(rec, answers.qps)
    return skipped


def add_fast_students(rec: Recommendation, measure: Callable[[Tier], None], target: float) -> None:
    """No tier of the ladder meets the target here: measure the fastest from-scratch nets too (DIST-4's
    students, QUAL-2's speed order: BOW, then CNN) and put those that meet it on the ladder."""
    from advisor.plans import as_tier
    from presets.catalog import SCRATCH_FAMILIES

    for family in ("bow", "cnn"):
        spec = catalog_tier(family)
        if family not in SCRATCH_FAMILIES or spec is None or any(t.name == family for t in rec.model_tiers):
            continue
        tier = as_tier(spec, "QPS (measured)")
        measure(tier)
        if tier.measured is not None and tier.measured.qps_batch_32 >= target:
            rec.model_tiers.append(tier)
