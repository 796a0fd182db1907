"""Serving speed measured, not estimated: queries per second at batch 1 and at a serving batch.

PaddleNLP's recipe (field notes): QPS = samples / time at batch 1 and 32, threads recorded. Here a query
is the whole path a server runs: encode (tokenizer or vocabulary), forward, decode to a label. The texts
are the examples closest to the median length, so the figure is for a typical query, not the shortest.
Weights are cast to bf16 for serving (3x at batch 32 on this CPU) only where that leaves the predictions on
a check batch identical; the result says whether it did.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Sequence
from typing import Any

import torch

from advisor.dataset import Example
from automl.models.base import TaskModel
from automl.training.device import resolve_threads
from automl.training.precision import bf16_available


def measure_qps(model: TaskModel, examples: Sequence[Example], batch_size: int = 32, seconds: float = 2.0,
                threads: int | str | None = "auto", bf16: bool | str = "auto",
                check_size: int = 64) -> dict[str, Any]:
    """Measured queries/s at batch 1 and at `batch_size`, each for about `seconds` after a warm-up.

    `threads`: a count, "auto" (the cores other processes leave free now) or None (torch's setting).
    `bf16`: "auto" tries bf16 weights where the hardware has bf16 matmuls, True tries them anywhere, False
    never; either way they are kept only if they predict exactly as fp32 on up to `check_size` examples
    (scores: within 1e-2). Returns qps_batch1, qps_batch, batch_size, latency_ms_p50/p95 (batch 1), threads,
    device, bf16 (used), bf16_identical (the check, None when not tried), sample_length (model units).
    """
    if not examples:
        raise ValueError("measure_qps needs example texts to send")
    if batch_size < 1 or seconds <= 0:
        raise ValueError(f"measure_qps needs batch_size >= 1 and seconds > 0, but got {batch_size=}, {seconds=}.")
    previous_threads = torch.get_num_threads()
    chosen = resolve_threads(threads)  # "auto": the cores other processes leave free (see TrialConfig.threads)
    if chosen:
        torch.set_num_threads(chosen)
    try:
        device = next(model.parameters()).device
        sample = median_sample(model, examples, max(batch_size, 1))
        check = list(examples[:check_size])
        served, identical = model, None
        if bf16 is True or (bf16 == "auto" and bf16_available(device)):
            candidate = copy.deepcopy(model).to(torch.bfloat16)
            identical = _same_predictions(model, candidate, check)
            if identical:
                served = candidate
        served.eval()
        batch1, latencies = serving_throughput(served, sample, 1, seconds)
        batched, _ = serving_throughput(served, sample, batch_size, seconds)
        return {
            "qps_batch1": batch1,
            "qps_batch": batched,
            "batch_size": batch_size,
            "latency_ms_p50": statistics.median(latencies) * 1000,
            "latency_ms_p95": _percentile(latencies, 0.95) * 1000,
            "threads": torch.get_num_threads(),
            "device": str(device),
            "bf16": served is not model,
            "bf16_identical": identical,
            "sample_length": statistics.median(model.length(e) for e in sample),
        }
    finally:
        torch.set_num_threads(previous_threads)


def median_sample(model: TaskModel, examples: Sequence[Example], size: int) -> list[Example]:
    """The `size` examples whose length is closest to the median length (a typical query)."""
    lengths = [model.length(e) for e in examples]
    median = statistics.median(lengths)
    order = sorted(range(len(examples)), key=lambda i: (abs(lengths[i] - median), i))
    return [examples[i] for i in order[:size]]


def _serve(model: TaskModel, batch: list[Example]) -> list[Any]:
    predictions = model.serve(batch)
    if next(model.parameters()).device.type == "cuda":
        torch.cuda.synchronize()
    return predictions


def serving_throughput(model: TaskModel, sample: Sequence[Example], batch_size: int, seconds: float, *,
                       bounded: bool = False) -> tuple[float, list[float]]:
    """Queries/s at `batch_size` and the call latencies: THE serving timing, used by `measure_qps` for a
    trained model and by `advisor recommend --measure` (automl/measure) for a random-weight one, so the two
    differ only by the weights. Batch 1 sends each example of `sample` in turn (a server meets different
    texts; one BOW review sent over and over took 58-61 us of CPU a call, 32 of the same length in turn
    82-102 us); a larger batch sends `sample` repeated to `batch_size`. `bounded`: a first call that alone
    outlasts `seconds` is the figure (a large tier on a small machine), no warm-up."""
    batches = [[e] for e in sample] if batch_size == 1 else [(list(sample) * batch_size)[:batch_size]]
    return _throughput(model, batches, seconds, bounded)


def _throughput(model: TaskModel, batches: list[list[Example]], seconds: float,
                bounded: bool = False) -> tuple[float, list[float]]:
    """Queries/s over `seconds` cycling through `batches`, after a warm-up that serves each batch once (within
    `seconds`) and lasts at least a few calls; call latencies. Each batch once: the first call at a new input
    shape builds its kernels (oneDNN primitives, bf16 ones too), a cost a running server paid long ago; with
    a short `seconds` (--measure) the timed calls were mostly first calls (MiniLM-L6 at batch 1: 74 QPS
    predicted against 203 measured on the trained model, 2 threads)."""
    started = time.perf_counter()
    _serve(model, batches[0])
    first = time.perf_counter() - started
    if bounded and first >= seconds:
        return len(batches[0]) / first, [first]
    warm_until = started + min(0.5, seconds / 4)
    i = 1
    while i < 3 or time.perf_counter() < warm_until or (i < len(batches) and time.perf_counter() < started + seconds):
        _serve(model, batches[i % len(batches)])
        i += 1
    latencies: list[float] = []
    queries = 0
    started = time.perf_counter()
    while True:
        t = time.perf_counter()
        batch = batches[len(latencies) % len(batches)]
        _serve(model, batch)
        now = time.perf_counter()
        latencies.append(now - t)
        queries += len(batch)
        if now - started >= seconds:
            break
    return queries / (time.perf_counter() - started), latencies


def _same_predictions(reference: TaskModel, candidate: TaskModel, check: list[Example]) -> bool:
    reference.eval()
    candidate.eval()
    for start in range(0, len(check), 32):
        batch = check[start:start + 32]
        expected, got = _serve(reference, batch), _serve(candidate, batch)
        if reference.labels.regression:
            if any(abs(float(a) - float(b)) > 1e-2 for a, b in zip(expected, got, strict=True)):
                return False
        elif expected != got:
            return False
    return True


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
