"""Bounded timings: serving queries/s through automl's own serving timing (`automl.serving.serving_throughput`,
what `automl run` measures the trained model with: the same examples nearest the median length, the same
loop), and training samples/s over a few real optimizer steps of automl's own step (its optimizer, bf16
autocast rule, gradient clipping, length-bucketed batches cut from as many rows as the trial sorts at once).

Every loop stops at its time share, after at least one timed call, so a big tier costs a bounded few
seconds instead of minutes: its figure then rests on fewer calls (reported as `calls`/`steps`).
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from advisor.dataset import Example
from automl.models.base import TaskModel
from automl.serving import median_sample, serving_throughput
from automl.training.batching import bucketed_batches
from automl.training.config import TrialConfig
from automl.training.device import to_device
from automl.training.optimizer import clipped_parameters, trial_optimizer
from automl.training.precision import autocast, wants_bf16

SERVE_BATCH = 32  # PaddleNLP's QPS recipe: batch 1 and 32


@dataclass
class Throughput:
    per_s: float
    calls: int


WARM_CALLS = 3  # as automl.serving: the first calls of each input shape pick kernels and allocate
CHUNK_BATCHES = TrialConfig.bucket_chunk_batches  # the trial sorts lengths within chunks of this many batches


def _timed(run: Callable[[], int], seconds: float) -> Throughput:
    """Items/s (each call returns how many it did) over calls until `seconds` have passed, after a warm-up
    of WARM_CALLS calls or a quarter of `seconds`, whichever is longer. A call that alone outlasts `seconds`
    (a large tier on a small machine) is the figure itself: the bound matters more than the warm-up's
    few percent."""
    started = time.perf_counter()
    items = run()
    first = time.perf_counter() - started
    if first >= seconds:
        return Throughput(per_s=items / first, calls=1)
    warm = 1
    while warm < WARM_CALLS or time.perf_counter() < started + seconds / 4:
        run()
        warm += 1
    calls = items = 0
    started = time.perf_counter()
    while True:
        items += run()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return Throughput(per_s=items / elapsed, calls=calls)


def serving_qps(model: TaskModel, examples: list[Example], batch_size: int, seconds: float) -> Throughput:
    """Queries/s at `batch_size` (1 or SERVE_BATCH) as `automl.serving.measure_qps(batch_size=SERVE_BATCH)`
    times a trained model: its timing function on the SERVE_BATCH examples nearest the median length
    (batch 1 cycles through them), bounded by `seconds` for a large tier."""
    sample = median_sample(model, examples, SERVE_BATCH)
    model.eval()
    per_s, latencies = serving_throughput(model, sample, batch_size, seconds, bounded=True)
    return Throughput(per_s=per_s, calls=len(latencies))


def as_bf16(model: TaskModel) -> TaskModel:
    """A copy with bf16 weights: what automl serves where the hardware has bf16 matmuls (automl.serving)."""
    return copy.deepcopy(model).to(torch.bfloat16)


def training_speed(model: TaskModel, examples: list[Example], batch_size: int, seconds: float,
                   seed: int = 0) -> tuple[Throughput, bool]:
    """Samples/s of an epoch of the trial's batches, from real optimizer steps, and whether bf16 autocast was on.

    The batches are cut as the trial cuts them (`bucketed_batches` over a chunk of CHUNK_BATCHES batches,
    so the same padding) from the first `CHUNK_BATCHES * batch_size` examples. A few seconds time only
    5-30 of those batches, and their sizes range widely (MiniLM-L6 on the reviews: 300 to 6,000 padded
    tokens a batch): the first ones taken predicted an epoch from 0.67x to 1.54x the trial's. So
    the steps visit the batches in `spread_order` (every prefix spans the size range), and the rate is
    scaled by the padded tokens: the time a padded token takes in the timed steps (a trial's first 200
    steps: 135-173 us in windows of 10 to 80 steps, 146 over all), times the padded tokens of all the
    chunk's batches. The warm-up steps (optimizer state allocation) are not timed. The model's weights change."""
    device = next(model.parameters()).device
    use_bf16 = wants_bf16("auto", device, model.family)
    optimizer = trial_optimizer(model, 1e-4, 0.01)
    dense = clipped_parameters(model)
    examples = examples[:CHUNK_BATCHES * batch_size]
    lengths = [model.length(e) for e in examples]
    batches = bucketed_batches(lengths, min(batch_size, len(examples)), random.Random(seed), CHUNK_BATCHES)
    padded = [max(lengths[i] for i in b) * len(b) for b in batches]
    order = spread_order(padded)
    done: list[tuple[int, int]] = []  # (samples, padded tokens) of each step

    def step() -> int:
        which = order[len(done) % len(order)]
        indices = batches[which]
        model.train()
        batch = to_device(model.collate([examples[i] for i in indices]), device)
        with autocast(device, use_bf16):
            out = model(**batch)
        assert out.loss is not None
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(dense, 1.0, foreach=True)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()  # a step is done when the GPU is, not when its kernels are queued
        done.append((len(indices), padded[which]))
        return len(indices)

    timed = _timed(step, seconds)
    steps = done[-timed.calls:]
    timed_tokens_per_sample = sum(t for _, t in steps) / sum(n for n, _ in steps)
    epoch_tokens_per_sample = sum(padded) / sum(len(b) for b in batches)
    return Throughput(timed.per_s * timed_tokens_per_sample / epoch_tokens_per_sample, timed.calls), use_bf16


def spread_order(sizes: list[int]) -> list[int]:
    """Indices of `sizes` in an order whose every prefix spans their range: the median first, then the
    quartiles, then the octiles... (the base-2 van der Corput sequence over the sorted sizes), so 5 timed
    steps see small, middling and large batches alike instead of whichever the shuffle put first."""
    ranked = sorted(range(len(sizes)), key=sizes.__getitem__)
    order: list[int] = []
    taken: set[int] = set()
    k = 1
    while len(order) < len(ranked):
        bits, x, weight = k, 0.0, 0.5
        while bits:  # k's binary digits mirrored after the point: 1 -> .1, 2 -> .01, 3 -> .11
            x += weight * (bits & 1)
            bits >>= 1
            weight /= 2
        position = int(x * len(ranked))
        if position not in taken:
            taken.add(position)
            order.append(ranked[position])
        k += 1
    return order
