"""The largest batch that fits, found once per model, max length and device, before the sweep.

    probe = torch_probe(model, examples, "cuda")            # a few real optimizer steps per size
    result = find_max_batch_size(probe, budget_bytes=probe.budget_bytes)
    result.best, result.log_lines()

or, cached, `tune_batch_size(model, examples, model_name=..., device=...)`.

Modules: `_policy` (which size next: pure, tested with fake probes), `_probes` (the real probe and the
out-of-memory test), `_cache` (the JSON cache), `_tune` (the one call that ties them together).
"""

from automl.batch_size._cache import CACHE_ENV, cache_path, cached_max_batch_size, load_cached
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
from automl.batch_size._tune import device_label, tune_batch_size

__all__ = [
    "CACHE_ENV",
    "CpuPeakMeter",
    "Probe",
    "ProbeResult",
    "SearchResult",
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
    "torch_probe",
    "tune_batch_size",
]
