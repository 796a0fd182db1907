"""One call for the training code: probe a model once per (name, max length, device, budget), cached.

On CPU under Linux the probe runs in a child process under a hard memory limit (`_isolated.IsolatedProbe`)
and measures the resident peak without the profiler; elsewhere (CUDA, whose out-of-memory error is the hard
limit; macOS) in this process, and there too when the child cannot start (the answer says why, in
`SearchResult.fallback`).  `time_limit_s` bounds the whole search, `progress` hears of every probe.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from automl.batch_size._cache import cached_max_batch_size
from automl.batch_size._isolated import ProbeStartError, can_isolate, isolated_or_none
from automl.batch_size._policy import Probe, ProbeResult, SearchResult, find_max_batch_size
from automl.batch_size._probes import DEFAULT_BUDGET_SHARE, TorchProbe, default_budget
from automl.training.precision import wants_bf16

if TYPE_CHECKING:
    import torch

    from advisor.dataset import Example
    from automl.models.base import TaskModel

# A line fitted on small sizes is extrapolated at most this far past the best fit in one probe: memory that
# grows faster than the line (a recurrent net over 1,000 characters) is then met a step at a time.
MAX_JUMP = 8.0
PROBE_SHARE = 0.15  # of a run's --budget-minutes that probing all its models may take; the trials get the rest


class ProbeWatcher(Protocol):
    """Told of each probe as it starts and ends (automl/batch_size/_progress.py shows them)."""

    def starting(self, size: int) -> None: ...

    def finished(self, result: ProbeResult) -> None: ...


def device_label(device: str | torch.device) -> str:
    """The device as cached: "cpu", or "cuda:0 NVIDIA H100 80GB HBM3" (another GPU is another entry)."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return device.type
    index = torch.cuda.current_device() if device.index is None else device.index
    return f"cuda:{index} {torch.cuda.get_device_name(index)}"


def probe_time_limit(started: float, budget_minutes: float | None, models_left: int) -> float | None:
    """The next model's time for probing: what is left of `PROBE_SHARE` of the run's budget (from `started`,
    a time.time()), shared equally by the models still to probe; None without a budget."""
    if budget_minutes is None:
        return None
    left = started + PROBE_SHARE * 60 * budget_minutes - time.time()
    return max(0.0, left) / max(1, models_left)


def _watched(probe: Probe, watcher: ProbeWatcher | None) -> Probe:
    if watcher is None:
        return probe

    def run(size: int) -> ProbeResult:
        watcher.starting(size)
        result = probe(size)
        watcher.finished(result)
        return result

    return run


@contextlib.contextmanager
def _probe(model: TaskModel, examples: Sequence[Example], device: str | torch.device, budget: int, steps: int,
           bf16: bool, isolate: bool, deadline: float | None) -> Iterator[Probe]:
    """The child-process probe where asked and the model pickles, else the in-process one (resident peak on
    CPU under Linux: the profiler's records cost gigabytes on long sequences)."""
    isolated = isolated_or_none(model, examples, budget_bytes=budget, steps=steps, bf16=bf16,
                                deadline=deadline) if isolate else None
    if isolated is not None:
        with isolated:
            yield isolated
        return
    measure = "resident-only" if can_isolate(str(device)) else "tensors"
    yield TorchProbe(model, examples, device, steps=steps, memory_budget_bytes=budget, bf16=bf16, cpu_measure=measure)


def tune_batch_size(
    model: TaskModel,
    examples: Sequence[Example],
    *,
    model_name: str,
    device: str | torch.device = "cpu",
    memory_budget_bytes: int | None = None,
    budget_share: float = DEFAULT_BUDGET_SHARE,
    steps: int = 2,
    start: int = 8,
    cap: int | None = 1024,
    step: int = 8,
    margin: float = 0.05,
    use_cache: bool = True,
    cache_file: Path | None = None,
    bf16: bool | str = "auto",
    isolate: bool | None = None,
    time_limit_s: float | None = None,
    max_jump: float | None = MAX_JUMP,
    progress: ProbeWatcher | None = None,
) -> SearchResult:
    """The largest batch size for `model` on `examples` (at their longest), probed with real optimizer steps.

    Cached under (model_name, model.max_length, device, budget, cap, precision, probe): a search capped lower
    or higher is another question. `bf16` as in `TrialConfig`: the probe steps run in the precision the
    trials will train in (autocast keeps bf16 copies of activations, so the peaks differ). A budget left to
    the default is keyed by the share and the budget in whole GiB, so a machine with about as much memory
    free reuses the answer and a busier one probes again.  `result.log_lines()` is the probe log for the report.
    isolate: probe in a child process under a hard memory limit (None: on CPU under Linux, and in this process
        when that child cannot start; True: there or nowhere, a child that cannot start raises ProbeStartError).
    time_limit_s: the search ends by then with what it knows (a probe still running is stopped when isolated);
        such an answer is not cached.  max_jump: see `find_max_batch_size`.
    """
    if memory_budget_bytes is None:
        budget = default_budget(device, budget_share)
        budget_label = f"auto {budget_share:g}: {budget // 2**30} GiB"
    else:
        budget = memory_budget_bytes
        budget_label = f"{budget} B"
    import torch

    use_bf16 = wants_bf16(bf16, torch.device(device), model.family)
    may_fall_back = isolate is None
    isolate = can_isolate(torch.device(device).type) if isolate is None else isolate
    cpu_probe = "resident" if can_isolate(torch.device(device).type) else "tensors"
    key = (model_name, model.max_length, device_label(device), budget_label, f"cap {cap}",
           "bf16" if use_bf16 else "fp32", cpu_probe)

    def search(isolated: bool, deadline: float | None) -> SearchResult:
        with _probe(model, examples, device, budget, steps, use_bf16, isolated, deadline) as probe:
            return find_max_batch_size(
                _watched(probe, progress), budget_bytes=budget, start=start, cap=cap, step=step, margin=margin,
                max_jump=max_jump, should_stop=None if deadline is None else lambda: time.monotonic() >= deadline,
            )

    def compute() -> SearchResult:
        deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
        try:
            result = search(isolate, deadline)
        except ProbeStartError as exc:
            if not may_fall_back:
                raise
            result = search(False, deadline)  # the sizes the child answered, if any, are probed again here
            result.fallback = (f"probed in this process, without a hard memory limit: its child process could not "
                               f"start ({exc.why})")
        if deadline is not None and time.monotonic() >= deadline and not result.stopped:
            result.stopped = "the time for probing ran out"  # its last probe may have been stopped, not failed
        return result

    if not use_cache:
        return compute()
    return cached_max_batch_size(key, compute, path=cache_file)
