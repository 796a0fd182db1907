"""The batch-size probe in a child process under a real RLIMIT_AS (set in the child, never in this process):
an allocation past the limit fails the size, not the run; a killed or hung child fails the size and the next
probe starts a new one; `tune_batch_size` probes this way by default on CPU under Linux, within its time."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import pytest

from advisor.dataset import Example
from automl.batch_size import IsolatedProbe, ProbeResult, TorchProbe, _isolated, tune_batch_size
from automl.batch_size._isolated import ProbeError, ProbeStartError
from tests.automl.batch_size.helpers import EXAMPLES, CharClassifier, MiB, child_that_cannot_import

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux only")


def test_an_allocation_past_the_hard_limit_fails_in_the_child_and_the_parent_goes_on() -> None:
    """CharClassifier needs about 1 MiB a sample: 8 fits in 64 MiB; 1024 (~1 GiB) cannot be allocated under it."""
    limit_before = resource.getrlimit(resource.RLIMIT_AS)
    with IsolatedProbe(CharClassifier(), EXAMPLES, budget_bytes=2**40, limit_bytes=64 * MiB) as probe:
        small = probe(8)
        big = probe(1024)
        again = probe(8)
    assert small.fits and small.peak_bytes is not None and 0 < small.peak_bytes < 64 * MiB
    assert not big.fits and "out of memory" in big.reason
    assert "hard limit 64.0 MiB" in big.reason or "probe process ended" in big.reason
    assert again.fits
    assert "resident +" in small.reason and "tensors" not in small.reason  # no profiler in the child
    assert resource.getrlimit(resource.RLIMIT_AS) == limit_before  # the limit was the child's only


def test_a_killed_child_fails_the_size_and_the_next_probe_starts_a_new_one() -> None:
    with IsolatedProbe(CharClassifier(die_above=16), EXAMPLES, budget_bytes=2**30) as probe:
        killed = probe(32)  # SIGKILL in the step, as the kernel's OOM killer would
        after = probe(16)
    assert not killed.fits and "exit code -9" in killed.reason and "out of memory" in killed.reason
    assert after.fits and probe.restarts == 1


def test_a_probe_past_its_time_is_stopped() -> None:
    with IsolatedProbe(CharClassifier(sleep_above=8), EXAMPLES, budget_bytes=2**30, timeout_s=60) as probe:
        assert probe(8).fits  # starts the child, whose start is not timed by timeout_s
        probe.timeout_s = 2.0
        began = time.monotonic()
        slow = probe(16)
        assert time.monotonic() - began < 20
        probe.timeout_s = 60
        assert probe(4).fits  # a new child
    assert not slow.fits and slow.reason.startswith("still running after")


def test_a_bug_in_the_model_is_raised_here_not_taken_for_memory() -> None:
    with IsolatedProbe(CharClassifier(fail_on_call=3), EXAMPLES, budget_bytes=2**30) as probe:
        with pytest.raises(ProbeError, match="ValueError: a bug in the model"):
            probe(8)


def test_a_child_that_dies_while_starting_fails_the_probe_instead_of_hanging(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child gone before it read its start-up data (killed, or a failed import) once left this process
    blocked for ever writing a payload bigger than a pipe's 64 KB; `true` as the interpreter is that child."""
    import multiprocessing.spawn
    import threading

    monkeypatch.setattr(multiprocessing.spawn, "_python_exe", multiprocessing.spawn.get_executable())  # restored after
    multiprocessing.spawn.set_executable("/bin/true")
    long_texts = [Example(e.text * 2000, label=e.label) for e in EXAMPLES]  # the longest: 640 KB
    outcome: list[BaseException | ProbeResult] = []

    def start() -> None:
        try:
            with IsolatedProbe(CharClassifier(), long_texts, budget_bytes=2**30, start_timeout_s=30) as probe:
                outcome.append(probe(8))
        except ProbeError as error:
            outcome.append(error)

    thread = threading.Thread(target=start, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the probe hung on a child that died while starting"
    assert len(outcome) == 1 and isinstance(outcome[0], ProbeStartError) and "ended while starting" in str(outcome[0])


@pytest.mark.parametrize("broken", ["import", "interpreter"])
def test_a_child_that_cannot_start_falls_back_to_probing_here_and_says_why(
        broken: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """Real children that cannot start: one dies at an import (its entry point imports a module that is not
    installed), one never runs Python (the interpreter spawn runs does not exist). The search probes in this
    process instead, its answer says why, is not cached (the next run tries the child again), and the
    child's traceback stays off the console. With isolate=True there is no fallback: ProbeStartError."""
    if broken == "import":
        monkeypatch.setattr(_isolated, "_child", child_that_cannot_import)
        why = "exit code 1): ModuleNotFoundError: No module named 'automl_module_that_is_not_installed'"
    else:
        import multiprocessing.spawn

        monkeypatch.setattr(multiprocessing.spawn, "_python_exe", multiprocessing.spawn.get_executable())  # restored after
        multiprocessing.spawn.set_executable(str(tmp_path / "no-such-python"))
        why = "(it ended while starting (exit code 255))"  # what fork_exec's child exits with when exec fails
    cache = tmp_path / "cache.json"
    result = tune_batch_size(CharClassifier(), EXAMPLES, model_name="char", memory_budget_bytes=60 * MiB,
                             cache_file=cache)
    assert 8 <= result.best < 128 and all(p.reason.startswith("resident +") for p in result.probes if p.fits)
    assert result.fallback.startswith("probed in this process, without a hard memory limit: its child process "
                                      "could not start (") and why in result.fallback, result.fallback
    assert result.log_lines()[-1] == f"note: {result.fallback}" and not cache.exists()
    assert "Traceback" not in capfd.readouterr().err
    with pytest.raises(ProbeStartError, match="could not be started|ended while starting"):
        tune_batch_size(CharClassifier(), EXAMPLES, model_name="char", memory_budget_bytes=60 * MiB, isolate=True,
                        use_cache=False)


def test_the_child_does_not_run_this_process_main_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Spawn re-runs the parent's main script in the child; under Streamlit (the dashboard) that script is a
    page that cannot run there (its AppTest failed the probe child with a NameError). A main that raises
    when run stands for it."""
    import types

    script = tmp_path / "page.py"
    script.write_text("raise RuntimeError('the main script ran in the probe child')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    with IsolatedProbe(CharClassifier(), EXAMPLES, budget_bytes=2**30) as probe:
        assert probe(8).fits
    assert sys.modules["__main__"] is main


def test_tune_batch_size_probes_in_a_child_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process probe is made to fail: the answer can only come from the child, and it is within the
    budget on the child's resident figure."""

    def not_here(self: TorchProbe, size: int) -> ProbeResult:
        raise AssertionError("probed in the pytest process")

    monkeypatch.setattr(TorchProbe, "__call__", not_here)
    seen: list[int] = []

    class Watch:
        def starting(self, size: int) -> None:
            seen.append(size)

        def finished(self, result: ProbeResult) -> None:
            assert result.size == seen[-1]

    result = tune_batch_size(CharClassifier(), EXAMPLES, model_name="char", memory_budget_bytes=60 * MiB, margin=0.0,
                             use_cache=False, progress=Watch())
    assert 8 <= result.best < 128 and seen == [p.size for p in result.probes]
    assert all(p.peak_bytes is not None and p.peak_bytes <= 60 * MiB for p in result.probes if p.fits)
    assert all("resident +" in p.reason for p in result.probes if p.peak_bytes is not None)


@pytest.mark.slow
def test_tune_batch_size_within_its_time(tmp_path: Path) -> None:
    """A step that hangs above 8: the search ends at its time limit, answers what fitted and is not cached.
    The limit leaves the child's start (importing torch: 20 s once on a loaded 2-core machine) room to spare."""
    cache = tmp_path / "cache.json"
    began = time.monotonic()
    result = tune_batch_size(CharClassifier(sleep_above=8), EXAMPLES, model_name="char", memory_budget_bytes=2**30,
                             cache_file=cache, time_limit_s=60.0)
    assert time.monotonic() - began < 100
    assert result.best == 8 and result.stopped and not cache.exists()
    assert [p.fits for p in result.probes] == [True, False]
