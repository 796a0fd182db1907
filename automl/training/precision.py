"""bf16 or fp32: whether the hardware has bf16 matmuls, whether a trial uses them, and the autocast."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch

# Families whose CPU training bf16 does not speed up (field notes: "bf16 does not help a 128-unit LSTM").
_BF16_SLOW_ON_CPU = frozenset({"gru", "lstm"})


def bf16_available(device: torch.device) -> bool:
    """bf16 matmuls in hardware: a CUDA GPU that supports them, or a CPU with AMX or AVX512-BF16."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = set(next((line for line in f if line.startswith("flags")), "").split())
    except OSError:
        return False
    return bool(flags & {"amx_bf16", "avx512_bf16"})


def wants_bf16(setting: bool | str, device: torch.device, family: str) -> bool:
    """Whether a trial trains under bf16 autocast: "auto" where the hardware has bf16 matmuls, except
    GRU/LSTM on CPU (their bf16 kernels are slower there)."""
    if setting == "auto":
        if device.type == "cpu" and family in _BF16_SLOW_ON_CPU:
            return False
        return bf16_available(device)
    return bool(setting)


def autocast(device: torch.device, enabled: bool) -> AbstractContextManager[Any]:
    if not enabled:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
