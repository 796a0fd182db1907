"""The batch-size search on the console, as the sweep's progress is: a spinner with the size being probed
and a line per finished probe (so a log, where the spinner does not show, still says what was probed)."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.markup import escape

from automl.batch_size._policy import ProbeResult, SearchResult


class ProbeProgress:
    """`tune_batch_size(..., progress=ProbeProgress(console, name))`, used as a context manager."""

    def __init__(self, console: Console, name: str, time_limit_s: float | None = None) -> None:
        self.console, self.name = console, name
        limit = "" if time_limit_s is None else f", at most {time_limit_s:.0f} s"
        self.status = console.status(f"probing {name}'s largest batch{limit}")
        self.began = time.monotonic()

    def __enter__(self) -> ProbeProgress:
        self.status.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.status.__exit__(*exc)

    def starting(self, size: int) -> None:
        self.status.update(f"probing {self.name}: batch {size} ({time.monotonic() - self.began:.0f} s so far)")

    def finished(self, result: ProbeResult) -> None:
        verdict = "fits" if result.fits else "does not fit"
        why = f": {result.reason}" if result.reason else ""
        self.console.print(f"[dim]    {self.name} batch {result.size} {verdict} ({result.seconds:.1f} s){why}[/]",
                           highlight=False)

    def summary(self, search: SearchResult, max_length: int, ceiling: int, default: int) -> int:
        """Print the model's answer; return the largest batch its trials may use: the answer, or, when the
        time for probing ran out before a size fitted, `default` (the family's first batch), below any size
        that failed (a trial that does not fit is pruned as out of memory, and the sweep goes on).
        A search that could not probe in its isolated child says so, once, before its answer."""
        if search.fallback:
            self.console.print(f"[yellow]  {self.name}: note: {escape(search.fallback)}[/]", highlight=False)
        probes = ", ".join(f"{p.size}{'✓' if p.fits else '✗'}" for p in search.probes)
        self.console.print(f"  {self.name}: max_length {max_length}, largest batch that fits (searched up to {ceiling}) "
                           f"{search.best} ({search.num_probes} probes{', cached' if search.cached else ''}: {probes})")
        if search.best or not search.stopped:
            return search.best
        fits = max(1, min([default, *(p.size - 1 for p in search.probes if not p.fits)]))
        self.console.print(f"[yellow]  {self.name}: {search.stopped} before a size fitted: its trials use batches "
                           f"up to {fits} (the family's first batch, below any size that failed)[/]")
        return fits
