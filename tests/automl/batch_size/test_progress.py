"""The batch-size search on the console: a line per probe, the answer, and what a model not probed in time uses."""

from __future__ import annotations

from rich.console import Console

from automl.batch_size import ProbeProgress, ProbeResult, SearchResult


def test_each_probe_and_the_answer_are_printed() -> None:
    console = Console(record=True, width=200)
    with ProbeProgress(console, "gru", 30.0) as watch:
        watch.starting(8)
        watch.finished(ProbeResult(8, True, 2**20, 1.5, "resident +1.0 MiB"))
        watch.starting(16)
        watch.finished(ProbeResult(16, False, None, 0.5, "out of memory: MemoryError"))
    search = SearchResult(best=8, probes=[ProbeResult(8, True), ProbeResult(16, False)])
    assert watch.summary(search, 96, 512, default=32) == 8
    text = console.export_text()
    assert "gru batch 8 fits (1.5 s): resident +1.0 MiB" in text
    assert "gru batch 16 does not fit (0.5 s): out of memory: MemoryError" in text
    assert "gru: max_length 96, largest batch that fits (searched up to 512) 8 (2 probes: 8✓, 16✗)" in text


def test_a_model_not_probed_in_time_uses_its_default_below_any_failure() -> None:
    console = Console(record=True, width=200)
    watch = ProbeProgress(console, "lstm")
    none = SearchResult(best=0, probes=[], stopped="the time for probing ran out")
    assert watch.summary(none, 64, 512, default=32) == 32
    failed = SearchResult(best=0, probes=[ProbeResult(16, False)], stopped="the time for probing ran out")
    assert watch.summary(failed, 64, 512, default=32) == 15
    assert "the time for probing ran out before a size fitted" in console.export_text()
    nothing_fits = SearchResult(best=0, probes=[ProbeResult(1, False)])  # a real answer: nothing fits at all
    assert watch.summary(nothing_fits, 64, 512, default=32) == 0
