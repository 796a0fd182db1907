"""bf16 decisions: the hardware check and the per-family rule."""

from __future__ import annotations

import pytest
import torch

from automl.training import autocast, bf16_available, wants_bf16


def test_wants_bf16_follows_the_setting_and_skips_recurrent_nets_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    assert wants_bf16(True, cpu, "lstm") and not wants_bf16(False, cpu, "transformer")
    monkeypatch.setattr("automl.training.precision.bf16_available", lambda device: True)
    assert wants_bf16("auto", cpu, "transformer") and wants_bf16("auto", cpu, "bow")
    assert not wants_bf16("auto", cpu, "lstm") and not wants_bf16("auto", cpu, "gru")
    monkeypatch.setattr("automl.training.precision.bf16_available", lambda device: False)
    assert not wants_bf16("auto", cpu, "transformer")


def test_autocast_is_off_unless_enabled() -> None:
    cpu = torch.device("cpu")
    a, b = torch.ones(4, 4), torch.ones(4, 4)
    with autocast(cpu, False):
        assert (a @ b).dtype == torch.float32
    with autocast(cpu, True):
        assert (a @ b).dtype == torch.bfloat16
    assert bf16_available(torch.device("meta")) is False  # neither a CPU nor a GPU
