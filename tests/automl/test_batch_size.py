"""automl.batch_size: the search policy on fake probes (exact sequences), the real probe on real CPU memory,
the out-of-memory test and the JSON cache."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advisor.dataset import Example
from automl.batch_size import (
    CACHE_ENV,
    ProbeResult,
    SearchResult,
    TorchProbe,
    cache_path,
    cached_max_batch_size,
    default_cpu_budget,
    doubling_bisect_reference,
    find_max_batch_size,
    is_out_of_memory,
    torch_probe,
    tune_batch_size,
)
from automl.models.base import LabelSpace, Output, TaskModel

MiB = 2**20

# --- fake probes ---------------------------------------------------------------------------------------


class AffineMemory:
    """peak = fixed + per_sample * size; fits while the peak is within the budget.

    With the defaults the largest fitting size is exactly 100 ((1000 - 300) / 7), and with a 5% margin the
    largest within the target of 950 MiB is 92, i.e. 88 on the grid of 8.
    """

    def __init__(
        self,
        fixed: float = 300 * MiB,
        per_sample: float = 7 * MiB,
        budget: int = 1000 * MiB,
        peak_on_failure: bool = True,
    ) -> None:
        self.fixed, self.per_sample, self.budget = fixed, per_sample, budget
        self.peak_on_failure = peak_on_failure
        self.tried: list[int] = []

    def __call__(self, size: int) -> ProbeResult:
        self.tried.append(size)
        peak = int(self.fixed + self.per_sample * size)
        if peak <= self.budget:
            return ProbeResult(size, True, peak, 0.0, "fits")
        return ProbeResult(size, False, peak if self.peak_on_failure else None, 0.0, "over budget")


class OomOnly:
    """As accelerate's test: the step raises "CUDA out of memory." above `limit`; the probe turns the error
    into a failed ProbeResult through `is_out_of_memory`, and reports no memory figure."""

    def __init__(self, limit: int = 100) -> None:
        self.limit = limit
        self.tried: list[int] = []

    def step(self, size: int) -> None:
        if size > self.limit:
            raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB")

    def __call__(self, size: int) -> ProbeResult:
        self.tried.append(size)
        try:
            self.step(size)
        except RuntimeError as exc:
            if not is_out_of_memory(exc):
                raise
            return ProbeResult(size, False, None, 0.0, str(exc))
        return ProbeResult(size, True, None, 0.0, "fits")


LIGHTNING_SEQUENCE = [2, 4, 8, 16, 32, 64, 128, 96, 112, 104, 100, 102, 101]
GRID_REFERENCE_SEQUENCE = [8, 16, 32, 64, 128, 96, 112, 104]


# --- the policy ------------------------------------------------------------------------------------------


def test_memory_line_aims_then_confirms() -> None:
    probe = AffineMemory()
    result = find_max_batch_size(probe, budget_bytes=1000 * MiB)
    # 8 and 16 give the line (300 MiB + 7 MiB/sample); (950 - 412) / 7 = 76.9 past 16 -> 92 -> 88 on the grid;
    # 96 (972 MiB) is over the 950 MiB target: done.
    assert probe.tried == [8, 16, 88, 96]
    assert result.moves == ["start", "double", "aim", "confirm"]
    assert result.best == 88
    assert result.mode == "memory"
    assert result.target_bytes == 950 * MiB
    assert [p.size for p in result.probes] == probe.tried


def test_reference_reproduces_lightning_binsearch() -> None:
    probe = AffineMemory()
    result = doubling_bisect_reference(probe)
    assert probe.tried == LIGHTNING_SEQUENCE  # 13 probes for a maximum of 100, as the field notes say
    assert result.best == 100


def test_fewer_probes_than_the_reference() -> None:
    ours = find_max_batch_size(AffineMemory(), budget_bytes=1000 * MiB)
    lightning = doubling_bisect_reference(AffineMemory())
    same_grid = doubling_bisect_reference(AffineMemory(), start=8, step=8, margin=0.05)
    assert [p.size for p in same_grid.probes] == GRID_REFERENCE_SEQUENCE
    assert same_grid.best == ours.best == 88  # same answer: 100 * 0.95 = 95 -> 88, and 92 -> 88
    assert (ours.num_probes, same_grid.num_probes, lightning.num_probes) == (4, 8, 13)


def test_oom_only_is_doubling_then_bisect() -> None:
    probe = OomOnly(limit=100)
    result = find_max_batch_size(probe)  # no budget, no memory figures
    assert probe.tried == GRID_REFERENCE_SEQUENCE
    assert result.moves == ["start", "double", "double", "double", "double", "bisect", "bisect", "bisect"]
    assert result.mode == "oom-only"
    assert result.best == 88  # 96 fits; 96 * (1 - 0.05) = 91.2 -> 88 on the grid
    reference = doubling_bisect_reference(OomOnly(limit=100), start=8, step=8, margin=0.05)
    assert [p.size for p in reference.probes] == probe.tried
    assert result.num_probes < len(LIGHTNING_SEQUENCE)


def test_budget_without_memory_figures_falls_back_to_bisection() -> None:
    probe = OomOnly(limit=100)
    result = find_max_batch_size(probe, budget_bytes=1000 * MiB)
    assert probe.tried == GRID_REFERENCE_SEQUENCE
    assert result.mode == "oom-only"
    assert result.best == 88


def test_line_contradicted_by_a_failure_bisects_the_gap() -> None:
    # The line says 88 fits, but the device fails above 60 (fragmentation) and says nothing about memory.
    tried: list[int] = []

    def probe(size: int) -> ProbeResult:
        tried.append(size)
        if size > 60:
            return ProbeResult(size, False, None, 0.0, "CUDA out of memory")
        return ProbeResult(size, True, 300 * MiB + 7 * MiB * size, 0.0, "fits")

    result = find_max_batch_size(probe, budget_bytes=1000 * MiB)
    assert tried == [8, 16, 88, 48, 64, 56]
    assert result.moves == ["start", "double", "aim", "bisect", "bisect", "bisect"]
    assert result.best == 56


def test_failure_with_a_peak_refits_the_line() -> None:
    # Memory convex above 50 sizes: the first aim (88: 1384 MiB) is over; its measured peak steepens the
    # least-squares line (13 MiB/sample), which aims at 56 (721 MiB), then 72 (1010 MiB, over); refitted
    # on four points the line now puts 72 within the target, which contradicts the failure, so the last
    # probe bisects: 64 (853 MiB).  6 probes against 8 for doubling-then-bisect on the same grid.
    tried: list[int] = []

    def probe(size: int) -> ProbeResult:
        tried.append(size)
        peak = 300 * MiB + 7 * MiB * size + 2 * MiB * max(0, size - 50) ** 1.5
        return ProbeResult(size, peak <= 1000 * MiB, int(peak), 0.0, "")

    result = find_max_batch_size(probe, budget_bytes=1000 * MiB)
    assert tried == [8, 16, 88, 56, 72, 64]
    assert result.moves == ["start", "double", "aim", "aim", "aim", "bisect"]
    assert result.best == 64
    reference = doubling_bisect_reference(probe, start=8, step=8, margin=0.05)
    assert tried[6:] == [8, 16, 32, 64, 128, 96, 80, 72]
    assert reference.best == 56  # 64 fits, * 0.95 -> 60.8 -> 56


def test_first_size_too_big_halves() -> None:
    probe = OomOnly(limit=5)
    result = find_max_batch_size(probe)
    assert probe.tried == [8, 4, 6, 5]
    assert result.moves == ["start", "halve", "bisect", "bisect"]
    assert result.best == 4  # 5 fits; 5 * 0.95 = 4.75 -> 4


def test_nothing_fits() -> None:
    probe = OomOnly(limit=0)
    result = find_max_batch_size(probe, budget_bytes=1000 * MiB)
    assert probe.tried == [8, 4, 2, 1]
    assert result.best == 0


def test_cap_stops_the_search() -> None:
    probe = AffineMemory(per_sample=3 * MiB)  # the line aims at 216; the cap says 64
    result = find_max_batch_size(probe, budget_bytes=1000 * MiB, cap=64)
    assert probe.tried == [8, 16, 64]
    assert result.moves == ["start", "double", "aim"]
    assert result.best == 64


def test_weak_signal_keeps_doubling() -> None:
    # 0.7 MiB per sample: 8 more samples add 5.6 MiB, under 2% of the 950 MiB target, so the search doubles
    # until the peaks differ by more (64: 44.8 MiB over 8), then aims at (950 - 300) / 0.7 = 928.
    probe = AffineMemory(per_sample=0.7 * MiB)
    result = find_max_batch_size(probe, budget_bytes=1000 * MiB, cap=None)
    assert probe.tried == [8, 16, 32, 64, 928, 936]
    assert result.best == 928
    lightning = doubling_bisect_reference(AffineMemory(per_sample=0.7 * MiB))
    assert (result.num_probes, lightning.num_probes) == (6, 19)


def test_doubling_never_outruns_the_budget() -> None:
    # 600 MiB at 8 and no fixed part: doubling would ask for 1200 MiB; through the origin the budget allows
    # 8 * 1000/600 = 13.  (On the default grid of 8 the smallest step up, 16, is the only choice.)
    probe = AffineMemory(fixed=0, per_sample=75 * MiB)
    result = find_max_batch_size(probe, budget_bytes=1000 * MiB, step=1, min_signal=10.0)  # no line
    assert probe.tried == [8, 13, 10, 11, 12]
    assert result.moves == ["start", "double", "bisect", "bisect", "bisect"]
    assert result.best == 12  # 12 * 75 = 900 <= 950; 13 is 975


@pytest.mark.parametrize("maximum", [12, 37, 100, 250, 1000])
def test_never_more_probes_than_the_reference(maximum: int) -> None:
    per_sample = 700 * MiB / maximum
    ours = find_max_batch_size(AffineMemory(per_sample=per_sample), budget_bytes=1000 * MiB, cap=None)
    same_grid = doubling_bisect_reference(AffineMemory(per_sample=per_sample), start=8, step=8, margin=0.05)
    lightning = doubling_bisect_reference(AffineMemory(per_sample=per_sample))
    assert ours.num_probes <= same_grid.num_probes < lightning.num_probes
    assert ours.best <= maximum and all(p.fits for p in ours.probes if p.size <= ours.best)
    assert 300 * MiB + per_sample * ours.best <= 950 * MiB


def test_invalid_arguments_say_what_was_wrong() -> None:
    with pytest.raises(ValueError, match="margin=1.0"):
        find_max_batch_size(AffineMemory(), margin=1.0)
    with pytest.raises(ValueError, match="start=0"):
        find_max_batch_size(AffineMemory(), start=0)


def test_result_round_trips_and_logs_every_probe() -> None:
    result = find_max_batch_size(AffineMemory(), budget_bytes=1000 * MiB)
    again = SearchResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result
    lines = result.log_lines()
    assert len(lines) == 5
    assert "batch    88 fits" in lines[2] and "batch    96 over" in lines[3]  # 972 MiB: fits 1000, not 950
    assert lines[-1].startswith("max batch size 88 after 4 probes")


# --- is_out_of_memory ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.15 GiB total capacity)"),
        RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: 8 GB"),
        RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
        torch.OutOfMemoryError("CUDA out of memory."),
        MemoryError(),
    ],
)
def test_out_of_memory_errors_are_recognised(exc: BaseException) -> None:
    assert is_out_of_memory(exc)


@pytest.mark.parametrize(
    "exc",
    [RuntimeError("mat1 and mat2 shapes cannot be multiplied"), ValueError("out of memory"), KeyError("x")],
)
def test_other_errors_are_not(exc: BaseException) -> None:
    assert not is_out_of_memory(exc)


def test_a_real_cpu_allocator_failure_is_recognised() -> None:
    with pytest.raises(RuntimeError) as caught:
        torch.empty(2**50, dtype=torch.uint8)  # a petabyte: malloc refuses at once, nothing is touched
    assert is_out_of_memory(caught.value)


# --- the real probe, on real CPU memory ------------------------------------------------------------------


class CharClassifier(TaskModel):
    """Characters -> embedding -> dense layer -> mean pool -> classes: about 1 MiB of activations per
    sample of 256 characters, so a budget of tens of MiB puts the maximum batch at a few dozen."""

    family = "cnn"

    def __init__(self, max_length: int = 256, oom_above: int | None = None, fail_on_call: int | None = None):
        super().__init__()
        self.labels = LabelSpace("ABS-1", ["neg", "pos"])
        self.max_length = max_length
        self.embed = nn.Embedding(257, 32, padding_idx=0)
        self.hidden = nn.Linear(32, 256)
        self.dropout = nn.Dropout(0.1)
        self.out = nn.Linear(256, 2)
        self.oom_above = oom_above  # a real allocator failure above this batch size
        self.fail_on_call = fail_on_call  # a bug (ValueError) on this forward call
        self.calls = 0

    def length(self, example: Example) -> int:
        return min(len(example.text), self.max_length)

    def collate(self, examples: list[Example], with_targets: bool = True) -> dict[str, torch.Tensor]:
        width = max(self.length(e) for e in examples)
        ids = torch.zeros(len(examples), width, dtype=torch.long)
        for row, example in enumerate(examples):
            codes = [min(ord(c), 255) + 1 for c in example.text[:width]]
            ids[row, : len(codes)] = torch.tensor(codes)
        batch = {"ids": ids}
        if with_targets:
            batch["target"] = torch.tensor([self.labels.names.index(e.label or "neg") for e in examples])
        return batch

    def forward(self, ids: torch.Tensor, target: torch.Tensor | None = None) -> Output:  # type: ignore[override]
        self.calls += 1
        if self.fail_on_call == self.calls:
            raise ValueError("a bug in the model")
        if self.oom_above is not None and ids.shape[0] > self.oom_above:
            torch.empty(2**50, dtype=torch.uint8)  # raises: DefaultCPUAllocator: can't allocate memory
        mask = (ids > 0).unsqueeze(-1).float()
        hidden = self.dropout(torch.relu(self.hidden(self.embed(ids))))
        logits = self.out((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0))
        return Output(None if target is None else F.cross_entropy(logits, target), logits)

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        return [self.labels.names[i] for i in logits.argmax(-1).tolist()]

    def save(self, directory: Path) -> None:
        raise NotImplementedError

    @classmethod
    def load(cls, directory: Path) -> TaskModel:
        raise NotImplementedError


EXAMPLES = [
    Example("short", label="neg"),
    Example("a longer review " * 20, label="pos"),
    Example("ok", label="pos"),
]


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared; memory does not depend on the thread count
    yield
    torch.set_num_threads(threads)


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


# --- the cache -------------------------------------------------------------------------------------------


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    return tmp_path


def counting(result: SearchResult) -> tuple[Callable[[], SearchResult], list[int]]:
    calls: list[int] = []

    def compute() -> SearchResult:
        calls.append(1)
        return result

    return compute, calls


def test_cache_path_default_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_path() == tmp_path / ".cache" / "nlp-advisor" / "batch_size.json"
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "elsewhere"))
    assert cache_path() == tmp_path / "elsewhere" / "batch_size.json"


def test_second_call_is_served_from_the_cache(cache_dir: Path) -> None:
    found = find_max_batch_size(AffineMemory(), budget_bytes=1000 * MiB)
    compute, calls = counting(found)
    key = ("char-cnn", 256, "cpu", "1048576000 B")
    first = cached_max_batch_size(key, compute)
    second = cached_max_batch_size(key, compute)
    assert len(calls) == 1
    assert not first.cached and second.cached
    assert second.best == 88 and second.probes == found.probes
    assert "(cached)" in second.log_lines()[-1]
    assert (cache_dir / "batch_size.json").exists()

    cached_max_batch_size(("char-cnn", 512, "cpu", "1048576000 B"), compute)  # another max length
    cached_max_batch_size(key, compute, refresh=True)
    assert len(calls) == 3


def test_damaged_cache_is_recomputed_and_rewritten(cache_dir: Path) -> None:
    (cache_dir / "batch_size.json").write_text("{not json")
    compute, calls = counting(find_max_batch_size(AffineMemory(), budget_bytes=1000 * MiB))
    cached_max_batch_size("k", compute)
    cached_max_batch_size("k", compute)
    assert len(calls) == 1
    assert json.loads((cache_dir / "batch_size.json").read_text())["version"] == 1


def test_nothing_fits_is_not_cached(cache_dir: Path) -> None:
    compute, calls = counting(find_max_batch_size(OomOnly(limit=0)))
    cached_max_batch_size("k", compute)
    cached_max_batch_size("k", compute)
    assert len(calls) == 2


def test_tune_batch_size_probes_once(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = CharClassifier()
    first = tune_batch_size(model, EXAMPLES, model_name="char-cnn", memory_budget_bytes=60 * MiB, margin=0.0)
    assert first.best > 16 and not first.cached

    def no_probing(self: TorchProbe, size: int) -> ProbeResult:
        raise AssertionError("probed although cached")

    real_probe = TorchProbe.__call__
    monkeypatch.setattr(TorchProbe, "__call__", no_probing)
    second = tune_batch_size(model, EXAMPLES, model_name="char-cnn", memory_budget_bytes=60 * MiB, margin=0.0)
    assert second.cached and second.best == first.best
    stored = json.loads((cache_dir / "batch_size.json").read_text())["entries"]
    assert len(stored) == 1 and list(stored)[0].startswith(f"char-cnn|256|cpu|{60 * MiB} B|cap 1024|")
    monkeypatch.setattr(TorchProbe, "__call__", real_probe)  # another cap is another question: probed again
    capped = tune_batch_size(model, EXAMPLES, model_name="char-cnn", memory_budget_bytes=60 * MiB, margin=0.0, cap=16)
    assert not capped.cached and capped.best <= 16


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
