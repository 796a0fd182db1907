"""The search policy: which batch size to probe next. Pure Python, no torch.

A probe is any callable `probe(size) -> ProbeResult`; the policy never sees an exception, only whether the
size fitted and, when the probe could measure it, the peak memory it needed.  That keeps "is this an OOM?"
(`_probes.is_out_of_memory`) apart from "what do we try next?" (here), and lets tests drive the policy
with a fake probe and assert the exact sequence of sizes tried.

Why memory makes the search short
---------------------------------
Training memory is close to affine in the batch size: peak(n) = a + b*n, where a is the weights, gradients
and optimizer state (and allocator overhead) and b the activations of one sample at the longest length.
Two fitting probes give a and b; the largest n with a + b*n <= budget*(1 - margin) is then one division
away.  So the search is:

1. probe `start`, then double (never more than the memory measured so far says the budget allows) until two
   probes are far enough apart that their peaks differ by a clear signal (`min_signal` of the target);
2. aim: probe the largest size the fitted line puts within the target;
3. confirm: probe one grid step above the best size known to fit; the line says it does not fit;
4. bisect only the gap that is left when the line was wrong (a probe it predicted to fit failed).

Without memory figures (a probe that only reports out-of-memory, as a bare CUDA probe would) it is the
classic doubling-then-bisect.

Probe counts, for a largest fitting size M near 100
--------------------------------------------------
* Lightning `scale_batch_size(mode="binsearch")` starts at 2, doubles to the first failure and bisects to a
  gap of 1: 2, 4, 8, 16, 32, 64, 128 is 7 probes, then 96, 112, 104, 100, 102, 101 (log2(128 - 64) = 6) is
  6 more: 13 probes, about 2*log2(M/2) + 1.  `doubling_bisect_reference` reproduces it.
* The same doubling-then-bisect on our grid (start 8, multiples of 8 above 8): 8, 16, 32, 64, 128, then
  96, 112, 104: 8 probes (log2(128/8) + 1 = 5, plus log2(64/8) = 3).  This is also what
  `find_max_batch_size` does without memory figures.
* With memory figures: 8, 16 (the line), 88 (aimed), 96 (confirm): 4 probes for any M, as long as memory
  is affine and the peaks at 8 and 16 differ by `min_signal` of the target (with the test's 300 MiB fixed
  part and a 1000 MiB budget, M up to about 300); each doubling a weaker signal needs adds one probe
  (M = 1000: 8, 16, 32, 64, 928, 936 is 6, against Lightning's 19).  A wrong line costs the bisection of
  the remaining gap only.
The probes skipped are the large ones (128, 112, 104, 100, 102, 101 for M = 100), and a probe's time grows
with its size, so the probing time shrinks by more than the count does.

Grid: sizes up to `step` may be any positive integer (4 or 6 samples is a real difference); above `step`
only multiples of `step` are tried (88 vs 91 is not, and multiples of 8 suit tensor cores).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ProbeResult:
    """One probe: did `size` fit, and how much memory did it need.

    `peak_bytes` is in the same terms as the budget it is checked against (see `_probes.TorchProbe`), or
    None when the probe could not measure it (an out-of-memory failure, or an OOM-only probe).
    """

    size: int
    fits: bool
    peak_bytes: int | None = None
    seconds: float = 0.0
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeResult:
        peak = data.get("peak_bytes")
        return cls(
            size=int(data["size"]),
            fits=bool(data["fits"]),
            peak_bytes=None if peak is None else int(peak),
            seconds=float(data.get("seconds", 0.0)),
            reason=str(data.get("reason", "")),
        )


Probe = Callable[[int], ProbeResult]


@dataclass
class SearchResult:
    """The answer and how it was found: `probes[i]` was chosen by `moves[i]`.

    `best` is the largest size known to fit within the target (never a size that failed), clipped at
    `cap`; in "oom-only" mode, where no memory figure was available to apply the margin to, it is that size
    times (1 - margin), rounded down to the grid.  0 means not even a batch of 1 fits.
    """

    best: int
    probes: list[ProbeResult]
    moves: list[str] = field(default_factory=list)
    mode: str = "memory"  # "memory" (the margin is on memory) or "oom-only" (the margin is on the size)
    budget_bytes: int | None = None
    target_bytes: int | None = None  # budget * (1 - margin)
    margin: float = 0.0
    cap: int | None = None
    cached: bool = False
    stopped: str = ""  # why the search ended before it settled (the time for probing ran out); never cached
    fallback: str = ""  # why it probed in this process, not in its isolated child (it could not start); never cached

    @property
    def num_probes(self) -> int:
        return len(self.probes)

    def log_lines(self) -> list[str]:
        """The probe log, one line per probe, for the report."""
        lines = []
        for i, probe in enumerate(self.probes):
            move = self.moves[i] if i < len(self.moves) else ""
            peak = "peak n/a" if probe.peak_bytes is None else f"peak {format_bytes(probe.peak_bytes)}"
            verdict = "fits" if probe.fits else "fails"
            if probe.fits and self.target_bytes is not None and (probe.peak_bytes or 0) > self.target_bytes:
                verdict = "over"  # within the budget but not within the margin
            lines.append(
                f"probe {i + 1:2d} ({move:>7}): batch {probe.size:5d} {verdict:5}  {peak:18}"
                f" {probe.seconds:7.2f} s  {probe.reason}"
            )
        target = "" if self.target_bytes is None else f", target {format_bytes(self.target_bytes)}"
        source = " (cached)" if self.cached else ""
        stopped = f", stopped early: {self.stopped}" if self.stopped else ""
        lines.append(
            f"max batch size {self.best} after {self.num_probes} probes, {self.mode} mode{target}{source}{stopped}"
        )
        return lines + ([f"note: {self.fallback}"] if self.fallback else [])

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["probes"] = [p.to_dict() for p in self.probes]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchResult:
        return cls(
            best=int(data["best"]),
            probes=[ProbeResult.from_dict(p) for p in data["probes"]],
            moves=[str(m) for m in data.get("moves", [])],
            mode=str(data.get("mode", "memory")),
            budget_bytes=data.get("budget_bytes"),
            target_bytes=data.get("target_bytes"),
            margin=float(data.get("margin", 0.0)),
            cap=data.get("cap"),
            cached=bool(data.get("cached", False)),
            stopped=str(data.get("stopped", "")),
            fallback=str(data.get("fallback", "")),
        )


def format_bytes(n: float) -> str:
    return f"{n / 2**20:.1f} MiB" if abs(n) < 2**30 else f"{n / 2**30:.2f} GiB"


# --- the grid --------------------------------------------------------------------------------------------


def round_down(n: int, step: int) -> int:
    """The largest grid size <= n: any integer up to `step`, multiples of `step` above it."""
    if n <= step:
        return max(n, 0)
    return n - n % step


def grid_above(n: int, step: int) -> int:
    """The smallest grid size > n."""
    if n < step:
        return n + 1
    return (n // step + 1) * step


def grid_below(n: int, step: int) -> int:
    """The largest grid size < n."""
    return round_down(n - 1, step)


def _bisect(lo: int, hi: int, step: int) -> int:
    mid = round_down((lo + hi) // 2, step)
    return mid if lo < mid < hi else grid_above(lo, step)


def _check(start: int, cap: int | None, step: int, margin: float) -> None:
    if start < 1:
        raise ValueError(f"The first batch size must be at least 1, but got {start=}.")
    if cap is not None and cap < 1:
        raise ValueError(f"The cap must be at least 1, but got {cap=}.")
    if step < 1:
        raise ValueError(f"The grid step must be at least 1, but got {step=}.")
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"The margin is a fraction in [0, 1), but got {margin=}.")


# --- the policy ------------------------------------------------------------------------------------------


@dataclass
class _Search:
    """What a search knows so far; both policies (`find_max_batch_size`, the reference) step through it."""

    step: int
    cap: int | None
    target: int | None = None  # budget * (1 - margin); None: a size fits when the probe says it does
    probes: list[ProbeResult] = field(default_factory=list)
    moves: list[str] = field(default_factory=list)
    lo: int = 0  # the largest size known to fit within the target
    hi: int | None = None  # the smallest size known not to
    lo_peak: int | None = None
    aim_outcomes: list[bool] = field(default_factory=list)  # whether each line-guided probe fitted

    def within(self, result: ProbeResult) -> bool:
        if not result.fits:
            return False
        return self.target is None or result.peak_bytes is None or result.peak_bytes <= self.target

    def record(self, result: ProbeResult, move: str) -> None:
        self.probes.append(result)
        self.moves.append(move)
        fits = self.within(result)
        if fits:
            if result.size > self.lo:
                self.lo, self.lo_peak = result.size, result.peak_bytes
        elif self.hi is None or result.size < self.hi:
            self.hi = result.size
        if move in ("aim", "confirm"):
            self.aim_outcomes.append(fits)

    def settled(self) -> bool:
        """The cap fits, or no grid size is left between the best fit and the first failure."""
        if self.cap is not None and self.lo >= self.cap:
            return True
        return self.hi is not None and (grid_above(self.lo, self.step) >= self.hi or (self.lo == 0 and self.hi <= 1))

    def stalled(self) -> bool:
        """Two line-guided probes on the same side of a known failure: the line keeps missing."""
        outcomes = self.aim_outcomes
        return self.hi is not None and len(outcomes) >= 2 and outcomes[-1] == outcomes[-2]

    def next_size(self, aim: int | None, growth: float, max_jump: float | None = None) -> tuple[int, str]:
        """Halve until something fits; then `aim` where given, else double by `growth` (no failure yet) or
        bisect (between the best fit and the first failure); never past the cap, `max_jump` times the best
        fit, or a known failure."""
        lo, hi, step = self.lo, self.hi, self.step
        if lo == 0:
            assert hi is not None
            return max(1, round_down(hi // 2, step)), "halve"
        if aim is not None:
            size, move = aim, ("confirm" if aim == grid_above(lo, step) else "aim")
        elif hi is None:
            size, move = max(grid_above(lo, step), round_down(int(lo * growth), step)), "double"
        else:
            size, move = _bisect(lo, hi, step), "bisect"
        if max_jump is not None:
            size = min(size, max(grid_above(lo, step), round_down(int(lo * max_jump), step)))
        if self.cap is not None and size > self.cap:
            size = self.cap
        if hi is not None and size >= hi:
            size = _bisect(lo, hi, step)
        return size, move

    def run(self, probe: Probe, start: int, max_probes: int, choose: Callable[[], tuple[int, str]],
            should_stop: Callable[[], bool] | None = None) -> str:
        """Probe from `start` until settled, `max_probes` or `should_stop()`; "" or why it stopped early."""
        size, move = (start if self.cap is None else min(start, self.cap)), "start"
        while len(self.probes) < max_probes:
            if should_stop is not None and should_stop():
                return "the time for probing ran out"
            self.record(probe(size), move)
            if self.settled():
                break
            size, move = choose()
        return ""


def _shrunk(best: int, margin: float, step: int) -> int:
    """A size that fitted, less the margin (on the size, where no memory figure can take it)."""
    return max(1, round_down(math.floor(best * (1.0 - margin)), step))


def find_max_batch_size(
    probe: Probe,
    *,
    budget_bytes: int | None = None,
    start: int = 8,
    cap: int | None = 1024,
    step: int = 8,
    margin: float = 0.05,
    min_signal: float = 0.02,
    max_probes: int = 20,
    max_jump: float | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SearchResult:
    """The largest batch size that fits, found with as few probes as the memory figures allow.

    probe: runs a few real steps at a size and says whether it fitted (see `torch_probe`).
    budget_bytes: what the probes' `peak_bytes` are checked against; None (or probes that report no peak)
        gives the OOM-only doubling-then-bisect.
    start: the first size.  cap: never probe or answer more (None: no cap).  step: the grid above `step`.
    margin: the safety margin.  With memory figures a size counts as fitting only when its peak is within
        budget*(1 - margin) (5%, as Lightning's `margin`: headroom for longer real batches and allocator
        fragmentation); without them the answer is the largest fitting size times (1 - margin).
    min_signal: the line is trusted once the peaks of two probes differ by this share of the target; below
        that the difference is mostly measurement noise and the search keeps doubling.
    max_probes: a bound on the probes, whatever the probe reports.
    max_jump: never probe more than this many times the best size that fitted (None: no bound): a line
        fitted on small sizes may be far off 30x further out, and a probe learns that only by allocating.
    should_stop: asked before each probe; True ends the search with what it knows (a deadline).

    The probe counts against Lightning's binsearch are worked out in the module docstring.
    """
    _check(start, cap, step, margin)
    target = None if budget_bytes is None else int(budget_bytes * (1.0 - margin))
    search = _Search(step=step, cap=cap, target=target)

    def choose() -> tuple[int, str]:
        aim = None
        if target is not None and search.lo > 0:
            aim = _aim(search.probes, search.lo, search.lo_peak, search.hi, target, step, min_signal)
        growth = 2.0
        if budget_bytes is not None and search.lo_peak:
            # Through the origin the line overstates the cost per sample, so this never aims past
            # the budget: a probe does not allocate far more than it is allowed to.
            growth = min(growth, max(1.0, budget_bytes / search.lo_peak))
        return search.next_size(None if search.stalled() else aim, growth, max_jump)

    stopped = search.run(probe, start, max_probes, choose, should_stop)
    best = search.lo
    mode = "memory" if target is not None and search.lo_peak is not None else "oom-only"
    if mode == "oom-only" and best > 0:
        best = _shrunk(best, margin, step)
    if cap is not None:
        best = min(best, cap)
    return SearchResult(best=best, probes=search.probes, moves=search.moves, mode=mode, budget_bytes=budget_bytes,
                        target_bytes=target, margin=margin, cap=cap, stopped=stopped)


def _aim(probes: list[ProbeResult], lo: int, lo_peak: int | None, hi: int | None, target: int, step: int,
         min_signal: float) -> int | None:
    """The largest grid size the fitted line puts within `target`, kept inside (lo, hi); None when the
    line is not trustworthy (too little signal, no positive slope) or contradicts a failure."""
    line = _fit_line(probes)
    if line is None:
        return None
    intercept, slope, spread = line
    if slope <= 0 or spread < min_signal * target:
        return None
    # Anchored at the best fit's own peak: the line is only needed for the distance from there.
    anchor = lo_peak if lo_peak is not None else intercept + slope * lo
    predicted = lo + math.floor((target - anchor) / slope)
    if hi is not None and predicted >= hi:
        return None  # the line says hi fits, but it failed: memory is not what the line says there
    aim = max(round_down(predicted, step), grid_above(lo, step))
    return aim if hi is None else min(aim, grid_below(hi, step))


def _fit_line(probes: list[ProbeResult]) -> tuple[float, float, float] | None:
    """Least squares peak = a + b*size over the probes with a measured peak (the latest per size).

    Returns (a, b, spread of the peaks), or None with fewer than two sizes.
    """
    points = {p.size: float(p.peak_bytes) for p in probes if p.peak_bytes is not None}
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(points) / n
    mean_y = sum(points.values()) / n
    sxx = sum((x - mean_x) ** 2 for x in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points.items())
    slope = sxy / sxx
    spread = max(points.values()) - min(points.values())
    return mean_y - slope * mean_x, slope, spread


def doubling_bisect_reference(
    probe: Probe,
    *,
    start: int = 2,
    cap: int | None = None,
    step: int = 1,
    margin: float = 0.0,
    max_probes: int = 50,
) -> SearchResult:
    """Plain doubling-then-bisect on fits/fails only, as Lightning's `scale_batch_size(mode="binsearch")`.

    With the defaults (start 2, bisect to a gap of 1, no margin) it tries the sizes Lightning tries; the
    benchmark prints its probe count next to `find_max_batch_size`'s.  `step` and `margin` let it run on
    the same grid and margin for a like-for-like count.
    """
    _check(start, cap, step, margin)
    search = _Search(step=step, cap=cap)
    search.run(probe, start, max_probes, lambda: search.next_size(None, 2.0))
    best = search.lo
    if best > 0 and margin > 0:
        best = _shrunk(best, margin, step)
    return SearchResult(best=best, probes=search.probes, moves=search.moves, mode="oom-only", margin=margin, cap=cap)
