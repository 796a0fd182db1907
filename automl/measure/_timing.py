"""Bounded timings: serving queries/s the way automl's serving measurement sends them (`model.serve` on the
examples nearest the median length), and training samples/s over a few real optimizer steps of automl's
own step (its optimizer, bf16 autocast rule, gradient clipping, length-bucketed batches).

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
from automl.serving import median_sample
from automl.training.batching import bucketed_batches
from automl.training.device import to_device
from automl.training.optimizer import clipped_parameters, trial_optimizer
from automl.training.precision import autocast, wants_bf16

SERVE_BATCH = 32  # PaddleNLP's QPS recipe: batch 1 and 32


@dataclass
class Throughput:
    per_s: float
    calls: int


WARM_CALLS = 3  # as automl.serving: the first calls of each input shape pick kernels and allocate


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
    """Queries/s at `batch_size`, sending the examples nearest the median length."""
    sample = median_sample(model, examples, max(batch_size, 1))
    batches = [[e] for e in sample] if batch_size == 1 else [(sample * batch_size)[:batch_size]]
    state = {"i": 0}

    def call() -> int:
        batch = batches[state["i"] % len(batches)]
        state["i"] += 1
        model.serve(batch)
        return len(batch)

    model.eval()
    return _timed(call, seconds)


def as_bf16(model: TaskModel) -> TaskModel:
    """A copy with bf16 weights: what automl serves where the hardware has bf16 matmuls (automl.serving)."""
    return copy.deepcopy(model).to(torch.bfloat16)


def training_speed(model: TaskModel, examples: list[Example], batch_size: int, seconds: float,
                   seed: int = 0) -> tuple[Throughput, bool]:
    """Samples/s over real optimizer steps on length-bucketed batches, and whether bf16 autocast was on.

    The warm-up steps (optimizer state allocation) are not timed. The model's weights change."""
    device = next(model.parameters()).device
    use_bf16 = wants_bf16("auto", device, model.family)
    optimizer = trial_optimizer(model, 1e-4, 0.01)
    dense = clipped_parameters(model)
    lengths = [model.length(e) for e in examples]
    batches = bucketed_batches(lengths, min(batch_size, len(examples)), random.Random(seed))
    state = {"i": 0}

    def step() -> int:
        indices = batches[state["i"] % len(batches)]
        state["i"] += 1
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
        return len(indices)

    return _timed(step, seconds), use_bf16
