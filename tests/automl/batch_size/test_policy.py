"""automl.batch_size's search policy on fake probes: the exact sequences of sizes tried."""

from __future__ import annotations

import json

import pytest

from automl.batch_size import ProbeResult, SearchResult, doubling_bisect_reference, find_max_batch_size
from tests.automl.batch_size.helpers import (
    GRID_REFERENCE_SEQUENCE,
    LIGHTNING_SEQUENCE,
    AffineMemory,
    MiB,
    OomOnly,
)


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


def test_max_jump_bounds_the_extrapolation() -> None:
    # As test_weak_signal_keeps_doubling, but no probe may be more than 8x the best fit: 64 -> 512, then the
    # line (refitted on five sizes) aims at 928 as before.
    probe = AffineMemory(per_sample=0.7 * MiB)
    result = find_max_batch_size(probe, budget_bytes=1000 * MiB, cap=None, max_jump=8.0)
    assert probe.tried == [8, 16, 32, 64, 512, 928, 936]
    assert result.best == 928
    assert all(b <= 8 * a for a, b in zip(probe.tried, probe.tried[1:], strict=False))


def test_should_stop_ends_the_search_with_what_it_knows() -> None:
    probe = AffineMemory()
    result = find_max_batch_size(probe, budget_bytes=1000 * MiB, should_stop=lambda: len(probe.tried) >= 2)
    assert probe.tried == [8, 16]
    assert result.best == 16 and result.stopped == "the time for probing ran out"
    assert result.log_lines()[-1].endswith("stopped early: the time for probing ran out")
    assert SearchResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    nothing = find_max_batch_size(AffineMemory(), should_stop=lambda: True)
    assert nothing.num_probes == 0 and nothing.best == 0 and nothing.stopped
