"""Is the ONNX graph the model? Its outputs against PyTorch's on real examples, and both timed side by side.

The comparison runs each example alone (batch 1) and in full batches, so a dynamic axis the exporter froze
to the traced size fails here rather than in a server. Speed is the whole path a server runs (encode,
forward, decode), in fp32 on both sides, with the same number of threads; only the forward differs.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from pydantic import BaseModel

from advisor.dataset import Example
from automl.export.onnx import forward_only, run_session
from automl.models.base import TaskModel

TOLERANCE = 1e-4


class OutputCheck(BaseModel):
    examples: int
    batch_sizes: list[int]
    max_abs_diff: float
    tolerance: float
    passed: bool
    same_predictions: int  # decoded answers that agree (label, labels, score, tags)
    error: str | None = None  # the graph could not answer a batch (e.g. an axis frozen to the traced size)


class SideBySide(BaseModel):
    """Queries a second at batch 1 and at `batch_size`, PyTorch and onnxruntime on the same threads."""

    threads: int
    batch_size: int
    seconds_each: float
    torch_batch1: float
    onnx_batch1: float
    torch_batch: float
    onnx_batch: float

    @property
    def ratio_batch1(self) -> float:
        return self.onnx_batch1 / self.torch_batch1

    @property
    def ratio_batch(self) -> float:
        return self.onnx_batch / self.torch_batch


def compare_outputs(model: TaskModel, onnx_session: Any, examples: Sequence[Example],
                    batch_sizes: Sequence[int] = (1, 32), one_at_a_time: int = 32) -> OutputCheck:
    """Largest |onnx - torch| over every logit, batch 1 on the first `one_at_a_time` examples and each
    other batch size over all of them; decoded answers compared on the full batches."""
    model.eval()
    worst = 0.0
    agree = 0
    for size in batch_sizes:
        rows = list(examples[:one_at_a_time]) if size == 1 else list(examples)
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            batch = model.collate(chunk, with_targets=False)
            with torch.inference_mode():
                expected = model(**forward_only(batch)).logits.float()
            try:
                got = run_session(onnx_session, batch).float()
                if got.shape != expected.shape:
                    raise ValueError(f"output shape {tuple(got.shape)}, PyTorch's {tuple(expected.shape)}")
            except Exception as error:  # noqa: BLE001 - onnxruntime's own error types: a failed check, not a crash
                return OutputCheck(examples=len(examples), batch_sizes=list(batch_sizes), max_abs_diff=math.inf,
                                   tolerance=TOLERANCE, passed=False, same_predictions=agree,
                                   error=f"batch of {len(chunk)}: {type(error).__name__}: {error}")
            worst = max(worst, float((got - expected).abs().max()))
            if size == batch_sizes[-1]:
                agree += sum(_same(a, b) for a, b in zip(model.decode(expected, batch), model.decode(got, batch),
                                                         strict=True))
    return OutputCheck(examples=len(examples), batch_sizes=list(batch_sizes), max_abs_diff=worst,
                       tolerance=TOLERANCE, passed=worst <= TOLERANCE, same_predictions=agree)


def _same(a: Any, b: Any) -> bool:
    """Equal answers; scores (floats, de-normalised by the model) equal to the check's tolerance, also inside
    an answer made of fields (a language model's SentenceScore: log-probability and units)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    if dataclasses.is_dataclass(a) and type(a) is type(b) and not isinstance(a, type):
        return all(_same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    return bool(a == b)


def typical(model: TaskModel, examples: Sequence[Example], n: int = 64) -> list[Example]:
    """The `n` examples nearest the median length: QPS for a typical query, not the shortest."""
    ordered = sorted(examples, key=model.length)
    middle = len(ordered) // 2
    start = max(0, min(middle - n // 2, len(ordered) - n))
    return ordered[start:start + n]


def side_by_side(model: TaskModel, onnx_session: Any, examples: Sequence[Example], threads: int,
                 batch_size: int = 32, seconds: float = 1.0, rounds: int = 2) -> SideBySide:
    """QPS of both at batch 1 and `batch_size`, alternating torch and onnx `rounds` times (best of each),
    so a load that comes and goes on the machine hits both alike. `onnx_session` must have `threads`
    intra-op threads (`automl.export.onnx.session`)."""
    model.eval()
    sample = typical(model, examples, max(batch_size, 8))
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)

    def by_torch(batch: dict[str, torch.Tensor]) -> list[Any]:
        with torch.inference_mode():
            return model.decode(model(**forward_only(batch)).logits, batch)

    def by_onnx(batch: dict[str, torch.Tensor]) -> list[Any]:
        return model.decode(run_session(onnx_session, batch), batch)

    best: dict[tuple[str, int], float] = {}
    try:
        for _ in range(rounds):
            for size in (1, batch_size):
                batches = [[sample[(i + j) % len(sample)] for j in range(size)]  # a short file repeats
                           for i in range(0, max(len(sample) - size + 1, 1), size)]
                for name, run in (("torch", by_torch), ("onnx", by_onnx)):
                    qps = _qps(model, run, batches, seconds)
                    best[name, size] = max(best.get((name, size), 0.0), qps)
    finally:
        torch.set_num_threads(previous)
    return SideBySide(threads=threads, batch_size=batch_size, seconds_each=seconds,
                      torch_batch1=best["torch", 1], onnx_batch1=best["onnx", 1],
                      torch_batch=best["torch", batch_size], onnx_batch=best["onnx", batch_size])


def _qps(model: TaskModel, run: Callable[[dict[str, torch.Tensor]], list[Any]], batches: list[list[Example]],
         seconds: float) -> float:
    """Queries a second through collate + `run` (forward and decode), after a warm-up of 3 batches."""
    for batch in batches[:3]:
        run(model.collate(batch, with_targets=False))
    queries = 0
    i = 0
    started = time.perf_counter()
    while True:
        batch = batches[i % len(batches)]
        run(model.collate(batch, with_targets=False))
        queries += len(batch)
        i += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return queries / elapsed
