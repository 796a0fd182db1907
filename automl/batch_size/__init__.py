"""The largest batch that fits, found once per model, max length and device, before the sweep.

    probe = torch_probe(model, examples, "cuda")            # a few real optimizer steps per size
    result = find_max_batch_size(probe, budget_bytes=probe.budget_bytes)
    result.best, result.log_lines()

or, cached, `tune_batch_size(model, examples, model_name=..., device=...)`.

Modules: `_policy` (which size next: pure, tested with fake probes), `_probes` (the real probe), `_oom`
(the out-of-memory test), `_isolated` (the probe in a child process under a hard memory limit, the default
on CPU under Linux), `_meter` (CPU peaks), `_cache` (the JSON cache), `_progress` (the console), `_tune`
(the one call that ties them together).
"""

from automl.batch_size._cache import CACHE_ENV, cache_path, cached_max_batch_size, load_cached
from automl.batch_size._isolated import IsolatedProbe
from automl.batch_size._meter import CpuPeakMeter
from automl.batch_size._oom import is_out_of_memory
from automl.batch_size._policy import (
    Probe,
    ProbeResult,
    SearchResult,
    doubling_bisect_reference,
    find_max_batch_size,
)
from automl.batch_size._probes import TorchProbe, default_budget, default_cpu_budget, torch_probe
from automl.batch_size._progress import ProbeProgress
from automl.batch_size._tune import (
    MAX_JUMP,
    PROBE_SHARE,
    ProbeWatcher,
    device_label,
    probe_time_limit,
    tune_batch_size,
)

__all__ = [
    "CACHE_ENV",
    "CpuPeakMeter",
    "IsolatedProbe",
    "MAX_JUMP",
    "PROBE_SHARE",
    "Probe",
    "ProbeProgress",
    "ProbeResult",
    "SearchResult",
    "ProbeWatcher",
    "TorchProbe",
    "cache_path",
    "cached_max_batch_size",
    "default_budget",
    "default_cpu_budget",
    "device_label",
    "doubling_bisect_reference",
    "find_max_batch_size",
    "is_out_of_memory",
    "load_cached",
    "probe_time_limit",
    "torch_probe",
    "tune_batch_size",
]
