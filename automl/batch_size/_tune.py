"""One call for the training code: probe a model once per (name, max length, device, budget), cached."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from automl.batch_size._cache import cached_max_batch_size
from automl.batch_size._policy import SearchResult, find_max_batch_size
from automl.batch_size._probes import DEFAULT_BUDGET_SHARE, TorchProbe, default_budget
from automl.training.precision import wants_bf16

if TYPE_CHECKING:
    import torch

    from advisor.dataset import Example
    from automl.models.base import TaskModel


def device_label(device: str | torch.device) -> str:
    """The device as cached: "cpu", or "cuda:0 NVIDIA H100 80GB HBM3" (another GPU is another entry)."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return device.type
    index = torch.cuda.current_device() if device.index is None else device.index
    return f"cuda:{index} {torch.cuda.get_device_name(index)}"


def tune_batch_size(
    model: TaskModel,
    examples: Sequence[Example],
    *,
    model_name: str,
    device: str | torch.device = "cpu",
    memory_budget_bytes: int | None = None,
    budget_share: float = DEFAULT_BUDGET_SHARE,
    steps: int = 2,
    start: int = 8,
    cap: int | None = 1024,
    step: int = 8,
    margin: float = 0.05,
    use_cache: bool = True,
    cache_file: Path | None = None,
    bf16: bool | str = "auto",
) -> SearchResult:
    """The largest batch size for `model` on `examples` (at their longest), probed with real optimizer steps.

    Cached under (model_name, model.max_length, device, budget, cap, precision): a search capped lower
    or higher is another question. `bf16` as in `TrialConfig`: the probe steps run in the precision the
    trials will train in (autocast keeps bf16 copies of activations, so the peaks differ). A budget left to
    the default is keyed by the share and the budget in whole GiB, so a machine with about as much memory
    free reuses the answer and a busier one probes again.  `result.log_lines()` is the probe log for the report.
    """
    if memory_budget_bytes is None:
        budget = default_budget(device, budget_share)
        budget_label = f"auto {budget_share:g}: {budget // 2**30} GiB"
    else:
        budget = memory_budget_bytes
        budget_label = f"{budget} B"
    import torch

    use_bf16 = wants_bf16(bf16, torch.device(device), model.family)
    key = (model_name, model.max_length, device_label(device), budget_label, f"cap {cap}", "bf16" if use_bf16 else "fp32")

    def compute() -> SearchResult:
        probe = TorchProbe(model, examples, device, steps=steps, memory_budget_bytes=budget, bf16=use_bf16)
        return find_max_batch_size(
            probe, budget_bytes=probe.budget_bytes, start=start, cap=cap, step=step, margin=margin
        )

    if not use_cache:
        return compute()
    return cached_max_batch_size(key, compute, path=cache_file)
