"""byte_dropout: the drop rate on a fixed seed, the expectation, eval = identity, gradients through the
same mask; the training attention against transformers' eager attention; the swap of nn.Dropout."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from automl.models.byte_dropout import ByteDropout, _train_attention, byte_dropout, use_byte_dropout


def test_drop_rate_is_p_rounded_to_a_256th_and_the_expectation_holds() -> None:
    torch.manual_seed(0)
    x = torch.ones(2_000_000)
    y = byte_dropout(x, 0.1)
    dropped = (y == 0).float().mean().item()
    assert dropped == pytest.approx(26 / 256, abs=1e-3)  # round(0.1 * 256) = 26 of 256 byte values
    assert y.unique().tolist() == [0.0, pytest.approx(256 / 230)]
    assert y.mean().item() == pytest.approx(1.0, abs=2e-3)


def test_eval_and_zero_p_are_the_identity_and_the_mask_is_seeded() -> None:
    x = torch.randn(64, 32)
    assert torch.equal(byte_dropout(x, 0.1, training=False), x)
    assert torch.equal(byte_dropout(x, 0.0), x)
    torch.manual_seed(3)
    a = byte_dropout(x, 0.3)
    torch.manual_seed(3)
    assert torch.equal(a, byte_dropout(x, 0.3))
    assert not torch.equal(a, byte_dropout(x, 0.3))


def test_gradient_goes_through_the_kept_elements_only() -> None:
    torch.manual_seed(1)
    x = torch.randn(50, 40, requires_grad=True)
    y = byte_dropout(x, 0.25)
    y.sum().backward()
    assert x.grad is not None
    kept = y.detach() != 0
    torch.testing.assert_close(x.grad[kept], torch.full_like(x.grad[kept], 256 / (256 - 64)))
    assert (x.grad[~kept] == 0).all()


def test_byte_dropout_module_is_a_drop_in_for_nn_dropout() -> None:
    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.2), nn.Sequential(nn.Dropout(0.1)))
    before = net.state_dict()
    assert use_byte_dropout(net) == 2
    assert all(isinstance(m, ByteDropout) for m in net.modules() if isinstance(m, nn.Dropout))
    assert net[1].p == 0.2 and net.state_dict().keys() == before.keys()
    net.eval()
    x = torch.randn(3, 4)
    torch.testing.assert_close(net(x), net[0](x))


def test_training_attention_is_transformers_eager_attention_without_dropout() -> None:
    from transformers.models.bert.modeling_bert import eager_attention_forward

    torch.manual_seed(0)
    module = nn.Module()
    q, k, v = (torch.randn(2, 3, 5, 8) for _ in range(3))
    mask = torch.zeros(2, 1, 5, 5)
    mask[1, ..., 3:] = torch.finfo(torch.float32).min  # the second row's last two tokens are padding
    ours, our_weights = _train_attention(module, q, k, v, mask, scaling=0.3, dropout=0.0)
    theirs, their_weights = eager_attention_forward(module, q, k, v, mask, scaling=0.3, dropout=0.0)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(our_weights, their_weights)
    module.train()
    _, dropped = _train_attention(module, q, k, v, mask, scaling=0.3, dropout=0.5)
    assert (dropped == 0).any() and (dropped[1, ..., 3:] == 0).all()


def test_training_attention_under_bf16_autocast_stays_close_to_eager() -> None:
    from transformers.models.bert.modeling_bert import eager_attention_forward

    torch.manual_seed(0)
    module = nn.Module().eval()
    q, k, v = (torch.randn(2, 3, 6, 8).bfloat16() for _ in range(3))
    mask = torch.zeros(2, 1, 6, 6)
    mask[0, ..., 4:] = torch.finfo(torch.float32).min
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours, weights = _train_attention(module, q, k, v, mask, scaling=0.35)
        theirs, _ = eager_attention_forward(module, q, k, v, mask, scaling=0.35)
    assert ours.dtype == theirs.dtype == torch.bfloat16
    torch.testing.assert_close(ours.float(), theirs.float(), atol=2e-2, rtol=2e-2)
    assert (weights[0, ..., 4:] == 0).all()
    torch.testing.assert_close(weights.float().sum(-1), torch.ones(2, 3, 6), atol=2e-2, rtol=0)
