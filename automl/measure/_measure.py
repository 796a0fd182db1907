"""One tier measured on this machine: serving QPS at batch 1 and 32 in fp32 and in the precision automl
would serve in, training samples/s, and what an epoch of the user's rows costs in hours and money."""

from __future__ import annotations

import math
import random
import time
from typing import Any

import torch

import presets
from advisor.dataset import Example
from automl.measure._build import build_random, shipped_words
from automl.measure._inputs import label_names, span_example, synthetic_examples
from automl.measure._timing import SERVE_BATCH, Throughput, as_bf16, serving_qps, training_speed
from automl.models.base import LabelSpace
from automl.training.device import resolve_device, resolve_threads
from automl.training.precision import bf16_available
from presets.catalog import task as task_type
from presets.catalog import trainable_tasks

MEASURABLE_TASKS = trainable_tasks()  # what automl trains (presets/tasks.toml)
DEFAULT_SECONDS = 4.0  # per tier: ~55% serving (4 timings), ~45% training steps
# rows a from-scratch net builds its vocabulary from: all of a user's file up to this, as automl run does;
# 2,000 gave BOW a 4M-parameter table where the trained one has 23M (13.9k reviews): 1.4x its QPS, half its epoch
VOCAB_ROWS = 100_000


def measure_tier(tier: Any, *, task: str, num_labels: int | None, language: str, rows: int, batch_size: int,
                 examples: list[Example] | None = None, text_chars: int = 128, seconds: float = DEFAULT_SECONDS,
                 threads: int | None = None, seed: int = 0, device: str = "auto") -> dict[str, Any]:
    """The measurement of one tier as a flat dict (advisor.recommendation.Measured's fields).

    `examples`: the user's rows (their labels are replaced: the head only needs the right width);
    without them, synthetic text whose 95th percentile length is `text_chars`. `threads`: torch threads,
    None for the cores other processes leave free now (automl's "auto"). `device`: "auto" is where automl
    would train (a CUDA GPU when there is one)."""
    if task not in MEASURABLE_TASKS:
        raise ValueError(f"automl trains {', '.join(MEASURABLE_TASKS)}; {task} cannot be measured.")
    started = time.perf_counter()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads or resolve_threads("auto") or previous)
    try:
        names = label_names(task, num_labels)
        score = task_type(task).may_be_score  # measured as its score head (one output)
        labels = LabelSpace(task=task, names=[] if score else names, regression=score)
        rows_in = _relabel(examples, task, names, seed) if examples else synthetic_examples(
            task, language, text_chars, names, seed=seed, lexicon=shipped_words(tier))
        model = build_random(tier, labels, rows_in[:VOCAB_ROWS], language, seed).to(resolve_device(device))
        share = seconds / 9  # 4 serving timings of ~1 share each, training 4 shares (+ warm-ups)
        on = next(model.parameters()).device
        precision = "bf16" if bf16_available(on) else "fp32"
        served = as_bf16(model) if precision == "bf16" else model
        qps_1, qps_32 = serving_qps(served, rows_in, 1, share), serving_qps(served, rows_in, SERVE_BATCH, share)
        del served
        train, train_bf16 = training_speed(model, rows_in, batch_size, 4 * share, seed)  # the trial's batches
        fp32_1: Throughput | None = qps_1 if precision == "fp32" else None
        fp32_32: Throughput | None = qps_32 if precision == "fp32" else None
        # a large tier (one call outlasted its share) skips the fp32 figures: the budget is the bound
        if precision != "fp32" and min(qps_1.calls, qps_32.calls) > 1:
            fp32_1, fp32_32 = serving_qps(model, rows_in, 1, share), serving_qps(model, rows_in, SERVE_BATCH, share)
        used_threads = torch.get_num_threads()
        out = {
            "qps_batch_1": round(qps_1.per_s, 1), "qps_batch_32": round(qps_32.per_s, 1),
            "qps_batch_1_fp32": round(fp32_1.per_s, 1) if fp32_1 else None,
            "qps_batch_32_fp32": round(fp32_32.per_s, 1) if fp32_32 else None,
            "train_samples_per_s": round(train.per_s, 2), "train_batch_size": min(batch_size, len(rows_in)),
            "train_steps_timed": train.calls, "train_precision": "bf16" if train_bf16 else "fp32",
            "threads": used_threads, "device": str(on), "max_length": model.max_length,
            "precision": precision, "text_source": "data" if examples else "synthetic",
        }
        out.update(epoch_cost(rows, train.per_s, used_threads, on.type))
        out["seconds"] = round(time.perf_counter() - started, 1)
        return out
    finally:
        torch.set_num_threads(previous)


def epoch_cost(rows: int, samples_per_s: float, threads: int, device: str) -> dict[str, Any]:
    """Hours for one epoch of `rows`, its CPU core-hours and its price at presets/prices.toml's rates
    (one CPU core-hour each thread; a GPU run is priced by the card in the advisor's hardware plan)."""
    prices = presets.load("prices")
    currency = prices.get("meta", {}).get("currency", "USD")
    if rows <= 0:  # no labeled rows given: nothing to price
        return {"hours_per_epoch": None, "core_hours_per_epoch": None, "cost_per_epoch": None, "currency": currency}
    hours = rows / samples_per_s / 3600 if samples_per_s > 0 else math.inf
    core_hours = hours * threads if device == "cpu" else 0.0
    cost = core_hours * float(prices["cpu"]["core_hour"]) if device == "cpu" else None
    return {"hours_per_epoch": _sig(hours), "core_hours_per_epoch": _sig(core_hours),
            "cost_per_epoch": None if cost is None else _sig(cost),
            "currency": currency}


def _sig(value: float, digits: int = 3) -> float:
    """Rounded to significant digits: an epoch may take 0.0003 or 300 hours."""
    return float(f"{value:.{digits}g}") if math.isfinite(value) else value


def _relabel(examples: list[Example], task: str, names: list[str], seed: int) -> list[Example]:
    """The user's texts with labels from `names` (cycled): the head's width is what matters for speed."""
    from dataclasses import replace

    kind = task_type(task)
    out = []
    rng = random.Random(seed)
    for i, e in enumerate(examples):
        if kind.is_span:  # ABS-9: the user's answers where given, else a run of the context
            out.append(e if e.answer and e.answer_start is not None else span_example(e.text, e.text_b or "", rng))
        elif kind.is_tagging:
            out.append(replace(e, tags=tuple(names[(i + j) % len(names)] for j in range(len(e.tokens)))))
        elif kind.is_multilabel:
            out.append(replace(e, labels=(names[i % len(names)],)))
        elif kind.may_be_score:
            out.append(replace(e, label=str(i % 2)))
        else:
            out.append(replace(e, label=names[i % len(names)]))
    return out
