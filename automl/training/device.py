"""Where a trial runs: the device, torch's thread count, and a seeded random state given back afterwards."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """A collated batch on `device` (collate builds it on the CPU)."""
    if device.type == "cpu":
        return batch
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def available_threads(sample_s: float = 0.2) -> int:
    """Cores this process may use that other processes are not busy on now (at least 1).

    Samples system-wide CPU use for `sample_s` seconds, minus this process's own."""
    meter = AutoThreads()
    time.sleep(sample_s)
    return meter.free()


def free_cores(cores: int, busy: float, mine: float) -> int:
    """Cores left when `busy` cores are in use machine-wide, `mine` of them by this process (at least 1)."""
    return max(1, min(cores, cores - int(max(0.0, busy - mine) + 0.5)))


class AutoThreads:
    """threads="auto" kept true through a trial: at each eval, torch's thread count becomes the cores other
    processes left free since the previous eval. A count fixed from the 0.2 s sample at the trial's start
    stayed wrong for the whole trial when that moment was not typical (a 22-minute e5 trial ran on 1 of 2
    idle cores because something was busy as it started); psutil's interval-since-last-call readings cost
    nothing here, no sleep."""

    def __init__(self) -> None:
        import psutil

        self.cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        self.logical = psutil.cpu_count() or self.cores
        self.me = psutil.Process()
        self.me.cpu_percent(None)
        psutil.cpu_percent(None)

    def free(self) -> int:
        """The cores other processes left free since the previous reading."""
        import psutil

        return free_cores(self.cores, psutil.cpu_percent(None) / 100 * self.logical, self.me.cpu_percent(None) / 100)

    def update(self) -> int:
        count = self.free()
        if count != torch.get_num_threads():
            torch.set_num_threads(count)
        return count


def resolve_threads(threads: int | str | None) -> int | None:
    """An explicit count, "auto" (available_threads) or None (leave torch's setting)."""
    if threads == "auto":
        return available_threads()
    if threads is None or isinstance(threads, int):
        return threads
    raise ValueError(f"threads must be a count, 'auto' or None, but got {threads=}.")


@contextmanager
def trial_environment(threads: int | str | None, seed: int, device: torch.device) -> Iterator[None]:
    """torch's thread count and random state set for one trial and given back after it.

    Dropout draws from torch's global generator: seeded here, so a trial repeats with its seed, and the
    caller's generator state is untouched."""
    previous = torch.get_num_threads()
    count = resolve_threads(threads)
    if count:
        torch.set_num_threads(count)
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(previous)
