"""The batch-size probe in a child process under a hard memory limit: an overshoot ends the probe, never the run.

Why a child: a probe learns that a size is too big only by allocating it.  In the parent a wrong guess
(a line fitted on small sizes, extrapolated 30x) can take the whole machine: People's Daily NER's GRU
probe grew the run past 10 GB and the kernel's OOM killer ended it at 24 GB.  In a child, the address
space is capped with `resource.setrlimit(RLIMIT_AS)` at what it uses after a warm-up step plus the budget,
so an allocation past the budget fails inside the child (torch raises "DefaultCPUAllocator: can't allocate
memory", the size fails); should the child die instead, the size fails and the next probe starts a new
child.  The child is also the place for a time limit: a probe still running at its deadline is killed.

The child is started with "spawn" (forking a process whose OpenMP threads already ran is unsafe) and gets
the model pickled once.  It measures the resident peak only (`cpu_measure="resident-only"`), with glibc's
mmap threshold fixed at 128 KiB: large blocks are then always mapped and unmapped, so the resident peak
follows the tensors instead of glibc's adaptive heap (1.3-2.9x the tensors in the parent, see
`CpuPeakMeter`).  Linux only (RLIMIT_AS is not enforced on macOS); `can_isolate()` says whether it applies.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import pickle
import sys
import tempfile
import time
import types
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl.batch_size._policy import ProbeResult, format_bytes

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from advisor.dataset import Example
    from automl.models.base import TaskModel

MMAP_THRESHOLD = 128 * 1024  # glibc's own default before it adapts; fixed, it no longer adapts
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h


def can_isolate(device: str) -> bool:
    """CPU probes on Linux: RLIMIT_AS caps host memory only, and only Linux enforces it."""
    return device == "cpu" and sys.platform.startswith("linux")


def _fix_mmap_threshold() -> None:
    name = ctypes.util.find_library("c")
    if name:
        try:
            ctypes.CDLL(name).mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        except (OSError, AttributeError):
            pass


def _virtual_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


def _child(conn: Connection, payload_path: str, limit_bytes: int) -> None:
    """The child's loop: build the probe, warm it up, cap the address space, answer sizes until told to stop.
    An error that is not out-of-memory (a bug in the model or the data) goes back to the parent, which raises."""
    try:
        probe = _ready_probe(Path(payload_path).read_bytes(), limit_bytes)
    except Exception as exc:  # noqa: BLE001 - sent to the parent, raised there
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        message, size = conn.recv()
        if message != "probe":
            return
        try:
            conn.send(("result", probe(size).to_dict()))
        except MemoryError:  # outside torch's allocator (Python objects, the reply itself)
            conn.send(("result", ProbeResult(size, False, None, 0.0, "out of memory: MemoryError").to_dict()))
        except Exception as exc:  # noqa: BLE001 - sent to the parent, raised there
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            return


def _ready_probe(payload: bytes, limit_bytes: int) -> Any:
    import resource

    import torch

    _fix_mmap_threshold()
    from automl.batch_size._probes import TorchProbe

    model, longest, settings = pickle.loads(payload)
    del payload
    torch.set_num_threads(settings.pop("threads"))
    probe = TorchProbe(model, [longest], "cpu", cpu_measure="resident-only", warmup=False, **settings)
    probe._guarded(lambda: probe._steps(1, 1))  # one-time allocations (thread pools) before the cap
    cap = _virtual_bytes() + limit_bytes
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    return probe


def _start_without_main(process: BaseProcess, stderr: int) -> None:
    """Start a spawned child that does not run this process's `__main__` first, its stderr on `stderr`.

    Spawn re-runs the main script in the child (as `__mp_main__`), which fails or does harm where that script
    is a Streamlit page (the dashboard), a notebook or a user's script without a `__name__` guard; `_child`
    needs nothing from it.  The child inherits file descriptor 2, so it is pointed at `stderr` while the child
    is launched: a child that dies while starting leaves its traceback there, for `ProbeStartError`'s
    message, not on the user's console (what a running child writes there, warnings, is not shown either)."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()  # spawn's helper process, which lives as long as this one: not on `stderr`
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")  # no __spec__, no __file__: spawn prepares no main
    sys.stderr.flush()
    try:
        saved = os.dup(2)
        os.dup2(stderr, 2)
    except OSError:  # no stderr to move (a daemon's closed descriptor 2): the child gets none either
        saved = -1
    try:
        process.start()
    finally:
        if saved >= 0:
            os.dup2(saved, 2)
            os.close(saved)
        sys.modules["__main__"] = main


def _last_line(path: str) -> str:
    """The last line a child wrote to its stderr file (the exception that ended it), or ""."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip()[:300] if lines else ""


class ProbeError(RuntimeError):
    """The probe failed in the child for another reason than memory: a bug in the model or the data."""

    def __init__(self, message: str) -> None:
        super().__init__(f"the batch-size probe failed in its child process: {message}")
        self.why = message


class ProbeStartError(ProbeError):
    """The child could not start at all (spawn failed, it died at import, its set-up raised): a child that
    cannot start never will, so `tune_batch_size` probes in this process instead."""


class IsolatedProbe:
    """`probe(size)` as `TorchProbe`'s, run in a child process whose memory is capped at `limit_bytes` over
    its size after a warm-up step (default: the budget).  `timeout_s` bounds each probe (None: no bound);
    `deadline` (time.monotonic()) bounds them all.  Use as a context manager, or call `close()`."""

    def __init__(
        self,
        model: TaskModel,
        examples: Sequence[Example],
        *,
        budget_bytes: int,
        limit_bytes: int | None = None,
        steps: int = 2,
        bf16: bool = False,
        lr: float = 1e-5,
        timeout_s: float | None = None,
        deadline: float | None = None,
        start_timeout_s: float = 300.0,
    ) -> None:
        if budget_bytes <= 0:
            raise ValueError(f"The memory budget must be positive, but got {budget_bytes=}.")
        if not examples:
            raise ValueError("The batch-size probe needs at least one example, but got none.")
        self.budget_bytes = int(budget_bytes)
        self.limit_bytes = int(limit_bytes if limit_bytes is not None else budget_bytes)
        self.timeout_s, self.deadline, self.start_timeout_s = timeout_s, deadline, start_timeout_s
        longest = max(examples, key=model.length)
        import torch

        settings = {"steps": steps, "bf16": bf16, "lr": lr, "memory_budget_bytes": self.budget_bytes,
                    "ram_limit_bytes": self.limit_bytes, "threads": torch.get_num_threads()}
        self._payload = pickle.dumps((model, longest, settings), protocol=pickle.HIGHEST_PROTOCOL)
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._stderr = ""  # the child's stderr (a file), removed with the child
        self.restarts = 0

    def __enter__(self) -> IsolatedProbe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _wait_s(self, default: float | None) -> float | None:
        left = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
        if default is None:
            return left
        return default if left is None else min(default, left)

    def _start(self) -> str | None:
        """Start the child; None when it is ready, else why not (it did not start in time).
        Raises `ProbeStartError` when it cannot start."""
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        # The model and data go through a file, not the spawn arguments: multiprocessing writes those into a
        # pipe whose read end it holds until the write ends, so a child that dies while starting (killed, or
        # a failed import) left a payload over the pipe's 64 KB blocking this process for ever (seen in a
        # test run: a zombie child, the parent in Popen._launch).
        fd, payload_path = tempfile.mkstemp(prefix="batch-size-probe-", suffix=".pkl")
        err_fd, self._stderr = tempfile.mkstemp(prefix="batch-size-probe-", suffix=".stderr")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self._payload)
            process = context.Process(target=_child, args=(child, payload_path, self.limit_bytes),
                                      name="batch-size-probe", daemon=True)
            try:
                _start_without_main(process, err_fd)
            except OSError as exc:  # no process (fork or exec failed, no memory, no such interpreter)
                child.close()
                parent.close()
                self._stop()
                raise ProbeStartError(f"it could not be started: {exc}") from None
            finally:
                os.close(err_fd)
            child.close()
            self._process, self._conn = process, parent
            wait = self._wait_s(self.start_timeout_s)
            reply = self._receive(wait)
        finally:
            os.unlink(payload_path)  # read by the child before it says ready; a late reader fails its start
        if reply is not None and reply[0] == "ready":
            return None
        if process.is_alive() and reply is None:
            return self._stop(f"the probe process did not start within {wait:.0f} s")
        last = _last_line(self._stderr)
        self._stop()
        # Not memory (the cap comes after the warm-up): a child that cannot start never will.
        raise ProbeStartError(reply[1] if reply is not None else
                              f"it ended while starting (exit code {process.exitcode}){f': {last}' if last else ''}")

    def _receive(self, wait: float | None) -> tuple[str, Any] | None:
        """The child's next message; None when it did not come in `wait` seconds or the child is gone.
        Polled in short steps: until the child has unpickled its end of the pipe, this process holds a
        copy of it (multiprocessing's fd sharer), so a child that dies before then never shows as EOF."""
        assert self._conn is not None and self._process is not None
        end = None if wait is None else time.monotonic() + wait
        while True:
            step = 0.2 if end is None else max(0.0, min(0.2, end - time.monotonic()))
            try:
                if self._conn.poll(step):
                    reply: tuple[str, Any] = self._conn.recv()
                    return reply
            except (EOFError, OSError):
                self._process.join(timeout=10)  # gone: its exit code comes with its reaping
                return None
            if not self._process.is_alive() or (end is not None and time.monotonic() >= end):
                return None

    def _stop(self, why: str = "") -> str:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=10)
        if self._conn is not None:
            self._conn.close()
        if self._stderr:
            Path(self._stderr).unlink(missing_ok=True)
        self._process, self._conn, self._stderr = None, None, ""
        return why

    def close(self) -> None:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            try:
                self._conn.send(("stop", 0))
                self._process.join(timeout=10)
            except (OSError, BrokenPipeError):
                pass
        self._stop()

    def __call__(self, size: int) -> ProbeResult:
        if size < 1:
            raise ValueError(f"A batch holds at least one example, but got {size=}.")
        began = time.perf_counter()
        if self._process is None:
            failed = self._start()
            if failed is not None:
                return ProbeResult(size, False, None, time.perf_counter() - began, failed)
        assert self._conn is not None and self._process is not None
        try:
            self._conn.send(("probe", size))
        except OSError:
            pass
        reply = self._receive(self._wait_s(self.timeout_s))
        if reply is not None and reply[0] == "result":
            return self._within_limit(ProbeResult.from_dict(reply[1]))
        if reply is not None:
            self._stop()
            raise ProbeError(reply[1])
        seconds = time.perf_counter() - began
        if self._process.is_alive():
            self._stop()
            return ProbeResult(size, False, None, seconds, f"still running after {seconds:.0f} s: stopped, "
                               "treated as too big (the time for probing ran out)")
        code = self._process.exitcode
        self._stop()
        self.restarts += 1
        return ProbeResult(size, False, None, seconds, f"the probe process ended (exit code {code}) under its "
                           f"memory limit of {format_bytes(self.limit_bytes)}: out of memory")

    def _within_limit(self, result: ProbeResult) -> ProbeResult:
        if not result.fits and result.reason.startswith("out of memory"):
            result.reason += f" (hard limit {format_bytes(self.limit_bytes)} over the child's size)"
        return result


def isolated_or_none(model: TaskModel, examples: Sequence[Example], **kwargs: Any) -> IsolatedProbe | None:
    """An `IsolatedProbe`, or None when the model cannot be sent to a child (it does not pickle)."""
    try:
        return IsolatedProbe(model, examples, **kwargs)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
