"""Peak memory of a block of CPU work: torch's tensor peak (the profiler) and the resident growth (VmHWM)."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
import sys
import threading
from collections.abc import Iterator
from typing import Any


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

    def __init__(self, profile: bool = True) -> None:
        # The profiler keeps a record per operator: a recurrent tagger over 1,019 characters (People's Daily's
        # longest sentence) runs ~10^5 operators a step, and its records took 2.2 GB and 3-10x the step's time
        # here, memory the tensor figure does not show.  profile=False measures the resident peak only.
        self.profile = profile
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
        self._profiler = _start_profiler() if self.profile else None
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

