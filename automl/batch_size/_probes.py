"""Real probes: a few optimizer steps (the trials' own: the model's `configure_optimizer`, else AdamW) at
a batch size, on the longest examples, with the peak memory measured.

The probe runs in this process; `_isolated.IsolatedProbe` runs it in a child process under a hard memory
limit.  `_oom.is_out_of_memory` decides whether an exception means "too big"; every other exception is a
bug in the model or the data and propagates.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from automl.batch_size._meter import CpuPeakMeter
from automl.batch_size._oom import is_out_of_memory
from automl.batch_size._policy import ProbeResult, format_bytes
from automl.training.optimizer import trial_optimizer
from automl.training.precision import autocast

if TYPE_CHECKING:
    import torch

    from advisor.dataset import Example
    from automl.models.base import TaskModel

DEFAULT_BUDGET_SHARE = 0.5  # of available RAM on CPU: the rest stays for the OS, data and a second job
# "tensors": the profiler's exact tensor peak; "resident": the resident peak, with the tensor peak logged;
# "resident-only": the resident peak without the profiler (see CpuPeakMeter: its records cost memory and time).
CPU_MEASURES = ("tensors", "resident", "resident-only")
RAM_LIMIT_SHARE = 0.9  # of available RAM: a probe that grows the process more than this fails outright


def default_cpu_budget(share: float = DEFAULT_BUDGET_SHARE) -> int:
    """`share` of the memory available now (psutil's `available`: free plus reclaimable cache), or of the
    address space this process may still take under its RLIMIT_AS (`prlimit --as`, `ulimit -v`) if less:
    the trials run in this process, so a batch that fits the machine but not its limit would fail them all."""
    if not 0.0 < share <= 1.0:
        raise ValueError(f"The budget share is a fraction in (0, 1], but got {share=}.")
    import psutil

    room = psutil.virtual_memory().available
    left = _address_space_left()
    return int((room if left is None else min(room, left)) * share)


def _address_space_left() -> int | None:
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/status") as status:
            size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    except (ImportError, OSError, StopIteration, ValueError):
        return None
    return max(0, soft - size)


def default_budget(device: str | torch.device, share: float = DEFAULT_BUDGET_SHARE) -> int:
    """CPU: `default_cpu_budget(share)`.  CUDA: the device memory torch can use now, free plus what its
    cache holds (the share does not apply: the OOM error is the hard limit there, the margin the safety)."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return default_cpu_budget(share)
    torch.cuda.empty_cache()
    free, _total = torch.cuda.mem_get_info(device)
    return int(free + torch.cuda.memory_reserved(device))


# --- the probe -------------------------------------------------------------------------------------------


class TorchProbe:
    """`probe(size)`: `steps` optimizer steps on a batch of `size` copies of the longest example.

    The batch is the longest example (by `model.length`) repeated, so every row is padded to the longest
    length the data holds: the worst case a real batch can meet.  Two steps by default: AdamW allocates its
    two moment buffers in the first step, so the second step is the first with the full steady-state
    footprint (weights + gradients + 2 moments + activations).

    Peak memory, and the budget it is checked against:
    * CUDA: torch.cuda.max_memory_allocated after reset_peak_memory_stats, i.e. everything torch holds on the
      device, weights included; the default budget is the device memory torch can use now (free plus what
      its cache holds).  A real out-of-memory error is caught and the size fails: that error, not the
      budget, is the hard limit, and it covers the caching allocator's fragmentation.
    * CPU: what the training step adds to the process with the model already loaded (gradients, optimizer
      state, activations, the batch), measured by `CpuPeakMeter`; the default budget is `budget_share` of
      the RAM available when the probe is made.  The budget is checked against torch's tensor peak
      (`cpu_measure="tensors"`, the default): exact, affine in the batch size and repeatable, the CPU
      counterpart of max_memory_allocated, so the fitted line aims true and a cached answer is the same
      answer.  The resident peak, glibc's heap overhead included (1.06 to 2.9x the tensors on the test
      model, varying up to 40% between runs of one size), plays the part of CUDA's out-of-memory error: a
      size fails when it grew the process by more than `ram_limit_bytes` (default 90% of the RAM available
      when the probe is made).  The default share of 0.5 leaves the room between the two for that
      overhead.  `cpu_measure="resident"` checks the budget against the resident peak instead: what the
      OS sees, at the price of noisy answers.  The log shows both figures.
      A CPU allocator failure ("DefaultCPUAllocator: can't allocate memory") fails the size as well.

    The probe does not train the model: weights and buffers are copied (to CPU memory, so the copy does not
    count on the GPU) when the probe is made and loaded back after every probe, along with train/eval mode
    and the RNG state; gradients are dropped.  A one-step warm-up at batch 1 runs before the first probe,
    so that one-time allocations (kernel workspaces, thread pools) land in the baseline, not in the first
    probe's peak, where they would bend the fitted line.
    """

    def __init__(
        self,
        model: TaskModel,
        examples: Sequence[Example],
        device: str | torch.device = "cpu",
        *,
        steps: int = 2,
        memory_budget_bytes: int | None = None,
        budget_share: float = DEFAULT_BUDGET_SHARE,
        lr: float = 1e-5,
        warmup: bool = True,
        cpu_measure: str = "tensors",
        ram_limit_bytes: int | None = None,
        bf16: bool = False,
    ) -> None:
        import torch

        if not examples:
            raise ValueError("The batch-size probe needs at least one example, but got none.")
        if steps < 1:
            raise ValueError(f"The probe runs at least one optimizer step, but got {steps=}.")
        self.model = model
        self.device = torch.device(device)
        if self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())
        parameter = next(model.parameters(), None)
        if parameter is not None and parameter.device != self.device:
            raise ValueError(
                f"The model is on {parameter.device} but the probe is for {self.device}: "
                f"move it first with model.to({str(self.device)!r})."
            )
        self.longest = max(examples, key=model.length)
        self.steps = steps
        self.lr = lr
        self.bf16 = bf16  # the probe steps run as the trial will: under bf16 autocast when it trains so
        self._warmup_pending = warmup
        if cpu_measure not in CPU_MEASURES:
            raise ValueError(f"cpu_measure is one of {CPU_MEASURES}, but got {cpu_measure=}.")
        self.cpu_measure = cpu_measure
        self._saved = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        if memory_budget_bytes is not None:
            if memory_budget_bytes <= 0:
                raise ValueError(f"The memory budget must be positive, but got {memory_budget_bytes=}.")
            self.budget_bytes = int(memory_budget_bytes)
        else:
            self.budget_bytes = default_budget(self.device, budget_share)
        self.ram_limit_bytes: int | None = None
        if self.device.type != "cuda":
            self.ram_limit_bytes = (
                default_cpu_budget(RAM_LIMIT_SHARE) if ram_limit_bytes is None else int(ram_limit_bytes)
            )

    def __call__(self, size: int) -> ProbeResult:
        if size < 1:
            raise ValueError(f"A batch holds at least one example, but got {size=}.")
        if self._warmup_pending:
            self._warmup_pending = False
            self._guarded(lambda: self._steps(1, 1))
        began = time.perf_counter()
        measured: list[tuple[int, int | None, str]] = []
        error = self._guarded(lambda: measured.append(self._measured_steps(size)))
        seconds = time.perf_counter() - began
        if error is not None:
            return ProbeResult(size, False, None, seconds, f"out of memory: {error}")
        peak, resident, figures = measured[0]
        if resident is not None and self.ram_limit_bytes is not None and resident > self.ram_limit_bytes:
            limit = format_bytes(self.ram_limit_bytes)
            return ProbeResult(
                size, False, peak, seconds, f"{figures}: resident over the RAM limit of {limit}"
            )
        budget = format_bytes(self.budget_bytes)
        if peak > self.budget_bytes:
            return ProbeResult(size, False, peak, seconds, f"{figures}: over the budget of {budget}")
        return ProbeResult(size, True, peak, seconds, f"{figures}: within the budget of {budget}")

    def _guarded(self, run: Any) -> str | None:
        """Run, and restore the model whatever happens; an out-of-memory error becomes its message."""
        import torch

        was_training = self.model.training
        cpu_rng = torch.get_rng_state()
        cuda_rng = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        message = None
        try:
            run()
        except Exception as exc:  # noqa: BLE001 - re-raised below unless it is an out-of-memory error
            if not is_out_of_memory(exc):
                raise
            message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        finally:
            # The traceback of a caught error holds the activations; it is gone once we are out of `except`.
            self.model.zero_grad(set_to_none=True)
            with torch.no_grad():
                self.model.load_state_dict(self._saved)
            self.model.train(was_training)
            torch.set_rng_state(cpu_rng)
            if cuda_rng is not None:
                torch.cuda.set_rng_state(cuda_rng, self.device)
        if message is not None:
            gc.collect()  # what the error's frames held may sit in reference cycles
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        return message

    def _measured_steps(self, size: int) -> tuple[int, int | None, str]:
        """The peak the budget is checked against, the resident growth (CPU), the figures for the log."""
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
            self._steps(size, self.steps)
            torch.cuda.synchronize(self.device)
            peak = int(torch.cuda.max_memory_allocated(self.device))
            reserved = int(torch.cuda.max_memory_reserved(self.device))
            return peak, None, f"allocated {format_bytes(peak)}, reserved {format_bytes(reserved)}"
        with CpuPeakMeter(profile=self.cpu_measure != "resident-only") as meter:
            self._steps(size, self.steps)
        tensors, resident = meter.tensor_bytes, meter.resident_bytes
        figures = f"resident +{format_bytes(resident)} ({meter.method})"
        if tensors is None:
            return resident, resident, figures + ("" if not meter.profile else ", no tensor figure from the profiler")
        figures = f"tensors {format_bytes(tensors)}, {figures}"
        return (tensors if self.cpu_measure == "tensors" else resident), resident, figures

    def _steps(self, size: int, steps: int) -> None:
        model = self.model
        batch = {k: v.to(self.device) for k, v in model.collate([self.longest] * size).items()}
        model.train()
        optimizer = trial_optimizer(model, self.lr, 0.0)  # the trials' own, so the memory matches
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            with autocast(self.device, self.bf16):
                loss = model(**batch).loss
            if loss is None:
                raise ValueError(
                    f"{type(model).__name__}.forward returned no loss: the probe's batch comes from "
                    "collate(..., with_targets=True), so the model must compute one."
                )
            loss.backward()
            optimizer.step()


def torch_probe(
    model: TaskModel, examples: Sequence[Example], device: str | torch.device = "cpu", **options: Any
) -> TorchProbe:
    """A probe for `find_max_batch_size(probe, budget_bytes=probe.budget_bytes)`; `options` as `TorchProbe`'s."""
    return TorchProbe(model, examples, device, **options)
