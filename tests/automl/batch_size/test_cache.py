"""automl.batch_size's JSON cache, and `tune_batch_size`, which probes once and caches."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from automl.batch_size import (
    CACHE_ENV,
    ProbeResult,
    SearchResult,
    TorchProbe,
    cache_path,
    cached_max_batch_size,
    find_max_batch_size,
    tune_batch_size,
)
from tests.automl.batch_size.helpers import EXAMPLES, AffineMemory, CharClassifier, MiB, OomOnly


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
    first = tune_batch_size(model, EXAMPLES, model_name="char-cnn", memory_budget_bytes=60 * MiB, margin=0.0,
                            isolate=False)  # in this process, where probing can be forbidden below
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
    capped = tune_batch_size(model, EXAMPLES, model_name="char-cnn", memory_budget_bytes=60 * MiB, margin=0.0, cap=16,
                             isolate=False)
    assert not capped.cached and capped.best <= 16


def test_a_search_stopped_by_its_deadline_is_not_cached(cache_dir: Path) -> None:
    probe = AffineMemory()
    compute, calls = counting(find_max_batch_size(probe, budget_bytes=1000 * MiB, should_stop=lambda: len(probe.tried) >= 2))
    assert cached_max_batch_size("k", compute).best == 16
    cached_max_batch_size("k", compute)
    assert len(calls) == 2 and not (cache_dir / "batch_size.json").exists()
