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
    import psutil

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    me = psutil.Process()
    me.cpu_percent(None)
    psutil.cpu_percent(None)
    time.sleep(sample_s)
    busy = psutil.cpu_percent(None) / 100 * (psutil.cpu_count() or cores)
    busy_elsewhere = max(0.0, busy - me.cpu_percent(None) / 100)
    return max(1, min(cores, cores - int(busy_elsewhere + 0.5)))


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
