"""Threads and the seeded random state a trial runs with, given back afterwards."""

from __future__ import annotations

import os

import pytest
import torch

from automl.training import resolve_device, resolve_threads
from automl.training.device import available_threads, trial_environment


def test_trial_environment_seeds_and_gives_the_callers_state_back() -> None:
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    before = torch.get_num_threads()
    with trial_environment(threads=1 if before != 1 else 2, seed=7, device=torch.device("cpu")):
        assert torch.get_num_threads() != before
        first = torch.rand(3)
    with trial_environment(threads=None, seed=7, device=torch.device("cpu")):
        assert torch.equal(torch.rand(3), first)  # the same seed, the same draws
    assert torch.get_num_threads() == before
    assert torch.equal(torch.rand(3), expected_next)  # the caller's generator went on as if untouched


def test_trial_environment_restores_after_an_error() -> None:
    before = torch.get_num_threads()
    with pytest.raises(KeyError), trial_environment(threads=1 if before != 1 else 2, seed=0,
                                                    device=torch.device("cpu")):
        raise KeyError("boom")
    assert torch.get_num_threads() == before


def test_threads_and_device_resolution() -> None:
    assert resolve_threads(3) == 3 and resolve_threads(None) is None
    assert 1 <= available_threads(0.01) <= len(os.sched_getaffinity(0))
    with pytest.raises(ValueError, match="threads='many'"):
        resolve_threads("many")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_free_cores_are_the_cores_others_leave_at_least_one() -> None:
    from automl.training.device import free_cores

    assert free_cores(2, busy=2.0, mine=2.0) == 2  # all the load is this process's own
    assert free_cores(2, busy=2.0, mine=1.0) == 1  # another process holds a core
    assert free_cores(2, busy=1.4, mine=1.0) == 2  # 0.4 of a core elsewhere rounds to none
    assert free_cores(2, busy=2.0, mine=0.0) == 1  # never fewer than one
    assert free_cores(16, busy=5.0, mine=1.0) == 12


def test_auto_threads_follow_the_load_through_a_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    """threads="auto" is re-read at each eval from psutil's readings since the previous one: a trial that
    started while something else was busy gets the core back once it is free (and gives it up again)."""
    import psutil

    from automl.training.device import AutoThreads

    readings = iter([(100.0, 100.0), (100.0, 200.0), (100.0, 100.0), (50.0, 100.0)])  # (machine %, this process %)
    current: dict[str, float] = {}

    def machine(interval: float | None = None) -> float:
        current["machine"], current["mine"] = next(readings)
        return current["machine"]

    monkeypatch.setattr(psutil, "cpu_percent", machine)
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 2)
    monkeypatch.setattr(psutil.Process, "cpu_percent", lambda self, interval=None: current.get("mine", 0.0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    previous = torch.get_num_threads()
    try:
        auto = AutoThreads()  # primes the counters: the first reading
        assert auto.update() == 2 and torch.get_num_threads() == 2  # both cores busy, both with this trial
        assert auto.update() == 1 and torch.get_num_threads() == 1  # both busy, one of them elsewhere
        assert auto.update() == 2 and torch.get_num_threads() == 2  # the other process is gone: one core busy, this trial's
    finally:
        torch.set_num_threads(previous)
