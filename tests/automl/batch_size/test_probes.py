"""automl.batch_size's real probe on real CPU memory (in this process), and the out-of-memory test."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from automl.batch_size import (
    TorchProbe,
    default_cpu_budget,
    find_max_batch_size,
    is_out_of_memory,
    torch_probe,
)
from automl.models.base import Output
from tests.automl.batch_size.helpers import EXAMPLES, CharClassifier, MiB

# --- is_out_of_memory ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.15 GiB total capacity)"),
        RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: 8 GB"),
        RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
        torch.OutOfMemoryError("CUDA out of memory."),
        MemoryError(),
        RuntimeError("could not create a primitive"),  # oneDNN when the process is at its memory limit
    ],
)
def test_out_of_memory_errors_are_recognised(exc: BaseException) -> None:
    assert is_out_of_memory(exc)


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("mat1 and mat2 shapes cannot be multiplied"),
        ValueError("out of memory"),
        KeyError("x"),
        RuntimeError("could not create a primitive descriptor for the matmul primitive. Run workload with ..."),
    ],
)
def test_other_errors_are_not(exc: BaseException) -> None:
    assert not is_out_of_memory(exc)


def test_a_real_cpu_allocator_failure_is_recognised() -> None:
    with pytest.raises(RuntimeError) as caught:
        torch.empty(2**50, dtype=torch.uint8)  # a petabyte: malloc refuses at once, nothing is touched
    assert is_out_of_memory(caught.value)


# --- the real probe, on real CPU memory ------------------------------------------------------------------


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_unchanged(model: nn.Module, before: dict[str, torch.Tensor]) -> None:
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], before[k]) for k in before)
    assert all(p.grad is None for p in model.parameters())


def test_real_search_finds_a_size_that_fits_and_the_next_that_does_not() -> None:
    torch.manual_seed(0)
    model = CharClassifier().eval()
    before, rng = snapshot(model), torch.get_rng_state()
    probe = torch_probe(model, EXAMPLES, "cpu", memory_budget_bytes=60 * MiB)
    result = find_max_batch_size(probe, budget_bytes=probe.budget_bytes, margin=0.0)

    assert result.mode == "memory"
    assert 16 < result.best < 128  # about 1 MiB per sample against 60 MiB
    assert result.num_probes <= 5
    again, above = probe(result.best), probe(result.best + 8)
    assert again.fits and again.peak_bytes is not None and again.peak_bytes <= 60 * MiB
    assert not above.fits and above.peak_bytes is not None and above.peak_bytes > 60 * MiB
    # The tensor peak is affine in the batch: the line through two probes predicts a third within 2%.
    peaks = {p.size: p.peak_bytes for p in result.probes if p.peak_bytes is not None}
    (s1, p1), (s2, p2) = sorted(peaks.items())[:2]
    slope = (p2 - p1) / (s2 - s1)
    assert abs(p1 + slope * (above.size - s1) - above.peak_bytes) < 0.02 * above.peak_bytes
    assert "resident +" in above.reason  # the resident figure is in the log too

    assert_unchanged(model, before)
    assert not model.training  # mode restored
    assert torch.equal(torch.get_rng_state(), rng)


def test_resident_growth_over_the_ram_limit_fails() -> None:
    model = CharClassifier()
    probe = TorchProbe(model, EXAMPLES, memory_budget_bytes=2**40, ram_limit_bytes=MiB)
    result = probe(64)  # some 66 MiB of tensors: the resident set grows far past 1 MiB
    assert not result.fits
    assert "over the RAM limit" in result.reason


def test_resident_measure_checks_the_budget_against_the_resident_peak() -> None:
    model = CharClassifier()
    tensors = TorchProbe(model, EXAMPLES, memory_budget_bytes=2**30)(32)
    resident = TorchProbe(model, EXAMPLES, memory_budget_bytes=2**30, cpu_measure="resident")(32)
    assert tensors.peak_bytes is not None and resident.peak_bytes is not None
    assert f"resident +{resident.peak_bytes / MiB:.1f} MiB" in resident.reason
    assert resident.peak_bytes > 0.9 * tensors.peak_bytes  # the tensors were written, so resident
    with pytest.raises(ValueError, match="cpu_measure"):
        TorchProbe(model, EXAMPLES, cpu_measure="rss")


def test_real_allocator_failure_fails_the_size_and_restores_the_model() -> None:
    model = CharClassifier(oom_above=40)
    before = snapshot(model)
    probe = torch_probe(model, EXAMPLES, "cpu", memory_budget_bytes=64 * MiB)  # the line aims near 56
    failed = probe(48)
    assert not failed.fits and failed.peak_bytes is None
    assert "DefaultCPUAllocator" in failed.reason
    assert_unchanged(model, before)
    result = find_max_batch_size(probe, budget_bytes=probe.budget_bytes)
    assert result.best == 40
    assert all(not p.fits and "out of memory" in p.reason for p in result.probes if p.size > 40)


def test_other_errors_propagate_and_the_model_is_restored() -> None:
    model = CharClassifier(fail_on_call=3)  # call 1: warm-up; 2: first step (updates weights); 3: raises
    before = snapshot(model)
    probe = torch_probe(model, EXAMPLES, "cpu", memory_budget_bytes=2**30)
    with pytest.raises(ValueError, match="a bug in the model"):
        probe(8)
    assert_unchanged(model, before)


def test_probe_rejects_a_model_on_another_device() -> None:
    with pytest.raises(ValueError, match="move it first"):
        TorchProbe(CharClassifier(), EXAMPLES, "meta")


def test_default_cpu_budget_is_a_share_of_available_memory() -> None:
    import psutil

    available = psutil.virtual_memory().available
    assert abs(default_cpu_budget(0.5) - available / 2) < 0.05 * available
    with pytest.raises(ValueError, match="share=0"):
        default_cpu_budget(0)


@pytest.mark.parametrize("bf16", [False, True])
def test_probe_steps_run_in_the_trials_precision(bf16: bool) -> None:
    model = CharClassifier()
    seen: list[bool] = []
    forward = model.forward

    def recording(**batch: torch.Tensor) -> Output:
        seen.append(torch.is_autocast_enabled("cpu"))
        return forward(**batch)

    model.forward = recording  # type: ignore[method-assign]
    TorchProbe(model, EXAMPLES, "cpu", steps=1, memory_budget_bytes=60 * MiB, warmup=False, bf16=bf16)(4)
    assert seen and set(seen) == {bf16}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_default_cpu_budget_stays_within_the_address_space_limit() -> None:
    """In a child under RLIMIT_AS (never set in pytest's process): the budget is half of what the limit leaves."""
    code = (
        "import resource\n"
        "from automl.batch_size import default_cpu_budget\n"
        "size = next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmSize:'))\n"
        "resource.setrlimit(resource.RLIMIT_AS, (size + 2**30, resource.RLIM_INFINITY))\n"
        "print(default_cpu_budget(0.5))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert 0.4 * 2**30 < int(done.stdout) <= 0.5 * 2**30
