"""Real probes: a few optimizer steps (the trials' own: the model's `configure_optimizer`, else AdamW) at
a batch size, on the longest examples, with the peak memory measured.

`is_out_of_memory` is the only place that decides whether an exception means "too big"; every other
exception is a bug in the model or the data and propagates.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import os
import re
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from automl.batch_size._policy import ProbeResult, format_bytes
from automl.training.optimizer import trial_optimizer
from automl.training.precision import autocast

if TYPE_CHECKING:
    import torch

    from advisor.dataset import Example
    from automl.models.base import TaskModel

# Messages of the errors that mean "this batch does not fit", as accelerate's `should_reduce_batch_size`
# recognises them, plus the cuBLAS and MPS spellings.  Matched on the message because extensions and older
# torch versions raise plain RuntimeErrors.
_OOM_MESSAGES = (
    "CUDA out of memory",
    "DefaultCPUAllocator: can't allocate memory",
    "cuDNN error: CUDNN_STATUS_NOT_SUPPORTED.",  # what cuDNN raises when it cannot get a workspace
    "CUBLAS_STATUS_ALLOC_FAILED",
    "XPU out of memory",
    "MPS backend out of memory",
)

DEFAULT_BUDGET_SHARE = 0.5  # of available RAM on CPU: the rest stays for the OS, data and a second job
CPU_MEASURES = ("tensors", "resident")
RAM_LIMIT_SHARE = 0.9  # of available RAM: a probe that grows the process more than this fails outright


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether `exc` means the batch did not fit in memory (CUDA, CPU allocator, cuBLAS, MPS)."""
    if isinstance(exc, MemoryError):
        return True
    torch_module = sys.modules.get("torch")
    if torch_module is not None:
        oom_type = getattr(torch_module, "OutOfMemoryError", None) or getattr(
            getattr(torch_module, "cuda", None), "OutOfMemoryError", None
        )
        if isinstance(oom_type, type) and isinstance(exc, oom_type):
            return True
    if not isinstance(exc, RuntimeError):
        return False
    message = str(exc)
    return any(text in message for text in _OOM_MESSAGES)


# --- peak memory on CPU ----------------------------------------------------------------------------------


def _read_status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            match = re.search(rf"^{field}:\s+(\d+) kB", status.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def _malloc_trim() -> None:
    """Give the heap's free memory back to the OS (glibc only), so that the resident baseline is what is
    in use: glibc keeps freed chunks under its (adaptive, up to 32 MiB) mmap threshold in the heap, and a
    probe that reuses them would not raise the resident size at all."""
    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return


class CpuPeakMeter:
    """Two peaks of one block of CPU work, each over its level at the start.

    `tensor_bytes`: the most memory torch's tensors held at once.  torch.profiler(profile_memory=True)
    reports every CPU allocation and free with its size and time; their running sum's maximum is the peak,
    exact to the byte and the CPU counterpart of CUDA's max_memory_allocated.  On the test model it is
    affine in the batch: 8.41, 16.66, 33.26, 66.35, 99.48, 132.63 MiB at 8, 16, 32, 64, 96, 128, repeated
    to 0.1 MiB, at the cost of a few milliseconds per probe (one record per operator).
    `resident_bytes`: how much the process's resident memory grew.  Linux keeps its high-water mark (VmHWM
    in /proc/self/status), updated on every unmap so a peak of a microsecond counts, and resets it to the
    current size when "5" is written to /proc/self/clear_refs (Linux >= 4.0).  Against tensors of known size
    it is exact to a page (3 x 64 MiB -> 191.98 MiB).  But it includes the allocator: glibc raises its
    mmap threshold (up to 32 MiB) after each free of a large chunk and serves later chunks from its heap,
    where freed memory is kept and fragments, so on the test model the resident peak of one training step
    is 1.3 to 2.9 times the tensor peak at 8 to 96 samples and varies by up to 40% from one probe to the
    next (96 samples: 150 to 223 MiB for 99.5 MiB of tensors); at 192 samples, where the big tensors pass
    32 MiB and glibc maps them directly, it is 1.06 times.
    That is real RAM, but too noisy to fit a line to or to cache; see `TorchProbe` for how each is used.

    Rejected: a thread sampling psutil's RSS misses peaks shorter than its interval and is itself the noisy
    resident figure; a subprocess reading ru_maxrss needs the model rebuilt or forked (fork once OpenMP runs
    is unsafe).  The sampling thread remains the fallback for the resident peak where clear_refs is
    unavailable (not Linux, locked-down /proc), with ru_maxrss when the block raised the lifetime peak.
    Where the profiler cannot give allocation events, `tensor_bytes` is None.
    """

    interval_s = 0.001

    def __init__(self) -> None:
        self.method = ""
        self.baseline = 0
        self.tensor_bytes: int | None = None
        self.resident_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sampled = 0
        self._maxrss_before = 0
        self._profiler: Any = None

    def __enter__(self) -> CpuPeakMeter:
        _malloc_trim()
        self._start_resident()
        self._profiler = _start_profiler()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.tensor_bytes = _stop_profiler(self._profiler)
        self._profiler = None
        self.resident_bytes = self._stop_resident()

    def _start_resident(self) -> None:
        if self._reset_hwm():
            self.method = "VmHWM"
            self.baseline = _read_status_kib("VmHWM") or 0
            return
        import psutil

        self.method = "sampled RSS"
        process = psutil.Process()
        self.baseline = self._sampled = int(process.memory_info().rss)
        self._maxrss_before = _maxrss_bytes()
        self._stop.clear()

        def sample() -> None:
            while not self._stop.wait(self.interval_s):
                self._sampled = max(self._sampled, int(process.memory_info().rss))

        self._thread = threading.Thread(target=sample, name="batch-size-peak-meter", daemon=True)
        self._thread.start()

    def _stop_resident(self) -> int:
        if self.method == "VmHWM":
            return max(0, (_read_status_kib("VmHWM") or 0) - self.baseline)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        peak = self._sampled
        maxrss = _maxrss_bytes()
        if maxrss > self._maxrss_before:
            peak = max(peak, maxrss)
        return max(0, peak - self.baseline)

    @staticmethod
    def _reset_hwm() -> bool:
        if _read_status_kib("VmHWM") is None:
            return False
        try:
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")
        except OSError:
            return False
        return True


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Kineto prints "profiler_start"/"profiler_stop" lines to the C-level stderr; only its start and stop
    run under this, never the model, so no real message is lost."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _start_profiler() -> Any:
    try:
        from torch.profiler import ProfilerActivity, profile

        profiler = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
        with _quiet_stderr():
            profiler.__enter__()
    except Exception:  # noqa: BLE001 - no profiler, no tensor peak: the resident peak still stands
        return None
    return profiler


def _stop_profiler(profiler: Any) -> int | None:
    if profiler is None:
        return None
    try:
        import torch

        with _quiet_stderr():
            profiler.__exit__(None, None, None)
        events = profiler.profiler.kineto_results.events()
        cpu = torch.autograd.DeviceType.CPU
        changes = sorted(
            (event.start_ns(), event.nbytes())
            for event in events
            if event.name() == "[memory]" and event.device_type() == cpu
        )
    except Exception:  # noqa: BLE001 - an older or newer profiler without these events
        return None
    level = peak = 0
    for _, nbytes in changes:
        level += nbytes
        peak = max(peak, level)
    return peak


def _maxrss_bytes() -> int:
    try:
        import resource
    except ImportError:  # Windows
        return 0
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(maxrss if sys.platform == "darwin" else maxrss * 1024)


def default_cpu_budget(share: float = DEFAULT_BUDGET_SHARE) -> int:
    """`share` of the memory available now (psutil's `available`: free plus reclaimable cache)."""
    if not 0.0 < share <= 1.0:
        raise ValueError(f"The budget share is a fraction in (0, 1], but got {share=}.")
    import psutil

    return int(psutil.virtual_memory().available * share)


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
        with CpuPeakMeter() as meter:
            self._steps(size, self.steps)
        tensors, resident = meter.tensor_bytes, meter.resident_bytes
        figures = f"resident +{format_bytes(resident)} ({meter.method})"
        if tensors is None:
            return resident, resident, f"{figures}, no tensor figure from the profiler"
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
    model: TaskModel,
    examples: Sequence[Example],
    device: str | torch.device = "cpu",
    steps: int = 2,
    memory_budget_bytes: int | None = None,
    *,
    budget_share: float = DEFAULT_BUDGET_SHARE,
    cpu_measure: str = "tensors",
    ram_limit_bytes: int | None = None,
) -> TorchProbe:
    """A probe for `find_max_batch_size(probe, budget_bytes=probe.budget_bytes)`; see `TorchProbe`."""
    return TorchProbe(
        model,
        examples,
        device,
        steps=steps,
        memory_budget_bytes=memory_budget_bytes,
        budget_share=budget_share,
        cpu_measure=cpu_measure,
        ram_limit_bytes=ram_limit_bytes,
    )
