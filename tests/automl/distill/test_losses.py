"""Each distillation loss against a hand computation on tiny tensors (automl/distill/losses.py)."""

from __future__ import annotations

import math
import os

import pytest
import torch

from automl.distill.losses import hidden_mse, kd_loss, relation_kl, relations, soft_cross_entropy

os.environ["HF_HUB_OFFLINE"] = "1"


def test_soft_cross_entropy_matches_hand_computation() -> None:
    student = torch.tensor([[2.0, 0.0]])
    teacher = torch.tensor([[0.0, 2.0]])
    t = 2.0
    # softened: teacher softmax([0, 1]), student log_softmax([1, 0])
    p1 = math.exp(1) / (1 + math.exp(1))
    p = [1 - p1, p1]
    log_q = [1 - math.log(1 + math.exp(1)), -math.log(1 + math.exp(1))]
    expected = -(p[0] * log_q[0] + p[1] * log_q[1]) * t * t
    assert soft_cross_entropy(student, teacher, t).item() == pytest.approx(expected, rel=1e-6)

def test_soft_cross_entropy_mask_averages_real_tokens_only() -> None:
    student = torch.tensor([[[1.0, 0.0], [5.0, -5.0]]])
    teacher = torch.tensor([[[0.0, 1.0], [-9.0, 9.0]]])
    mask = torch.tensor([[True, False]])
    only_first = soft_cross_entropy(student[:, :1], teacher[:, :1], 1.0)
    assert soft_cross_entropy(student, teacher, 1.0, mask).item() == pytest.approx(only_first.item())
    # T = 1: plain cross-entropy against the teacher's probabilities
    p = torch.softmax(torch.tensor([0.0, 1.0]), -1)
    expected = -(p * torch.log_softmax(torch.tensor([1.0, 0.0]), -1)).sum()
    assert only_first.item() == pytest.approx(expected.item(), rel=1e-6)

def test_multi_label_soft_loss_is_bce_against_sigmoid() -> None:
    student, teacher = torch.tensor([[0.0]]), torch.tensor([[2.0]])
    q = 1 / (1 + math.exp(-1.0))  # sigmoid(2 / 2)
    expected = -(q * math.log(0.5) + (1 - q) * math.log(0.5)) * 4
    assert soft_cross_entropy(student, teacher, 2.0, multi_label=True).item() == pytest.approx(expected, rel=1e-6)

def test_kd_loss_is_the_weighted_sum() -> None:
    assert kd_loss(torch.tensor(2.0), torch.tensor(3.0), 0.7, 0.3).item() == pytest.approx(0.7 * 2 + 0.3 * 3)
    assert kd_loss(torch.tensor(2.0), None, 0.7, 0.3).item() == pytest.approx(1.4)

def test_relation_kl_matches_hand_computation() -> None:
    # one sequence of 2 tokens, hidden 1, one relation head: relations are softmax(x_i * y_j) over j
    tq = torch.tensor([[[1.0], [0.0]]])
    sq = torch.tensor([[[0.0], [2.0]]])
    teacher = {"q": tq, "k": tq, "v": tq}
    student = {"q": sq, "k": sq, "v": sq}

    def rel(x: list[float]) -> list[list[float]]:
        rows = []
        for a in x:
            z = [math.exp(a * b) for b in x]
            rows.append([v / sum(z) for v in z])
        return rows

    t, s = rel([1.0, 0.0]), rel([0.0, 2.0])
    kl = sum(t[i][j] * math.log(t[i][j] / s[i][j]) for i in range(2) for j in range(2)) / 2
    got = relation_kl(student, teacher, heads=1)
    assert got.item() == pytest.approx(2 * kl, rel=1e-5)  # the q-k and the v-v pair are the same here
    assert relation_kl(teacher, teacher, heads=1).item() == pytest.approx(0.0, abs=1e-7)

def test_relation_kl_handles_other_widths_and_padding() -> None:
    torch.manual_seed(0)
    teacher = {k: torch.randn(2, 5, 8) for k in "qkv"}
    student = {k: torch.randn(2, 5, 4) for k in "qkv"}
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    value = relation_kl(student, teacher, heads=2, mask=mask)
    assert value.item() > 0 and math.isfinite(value.item())
    # padded keys get no weight: changing a padded token does not change the loss
    changed = {k: v.clone() for k, v in teacher.items()}
    changed["k"][0, 4] += 10
    changed["v"][0, 4] += 10
    changed["q"][0, 4] += 10
    assert relation_kl(student, changed, heads=2, mask=mask).item() == pytest.approx(value.item(), rel=1e-5)
    assert relations(teacher["q"], teacher["k"], 2, mask).shape == (2, 2, 5, 5)

def test_temperature_must_be_positive() -> None:
    with pytest.raises(ValueError, match="temperature"):
        soft_cross_entropy(torch.zeros(1, 2), torch.zeros(1, 2), 0.0)

def test_hidden_mse_matches_hand_computation() -> None:
    # one pair of layers, 2 tokens of width 2, the second token padding
    s = [torch.tensor([[[1.0, 2.0], [5.0, 5.0]]])]
    t = [torch.tensor([[[0.0, 4.0], [0.0, 0.0]]])]
    mask = torch.tensor([[1, 0]])
    assert hidden_mse(s, t, mask).item() == pytest.approx((1.0 + 4.0) / 2)
    assert hidden_mse(s, t).item() == pytest.approx(((1.0 + 4.0) / 2 + 25.0) / 2)
    # two pairs: the mean of the pairs
    assert hidden_mse(s + s, t + s, mask).item() == pytest.approx((2.5 + 0.0) / 2)
    with pytest.raises(ValueError, match="one teacher layer per student layer"):
        hidden_mse(s, t + t)
