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
