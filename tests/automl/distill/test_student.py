"""Students: layer cutting and feed-forward pruning of a tiny random BERT (automl/distill/student.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from advisor.dataset import Example
from automl.distill.student import (
    build_student,
    cut_layers,
    encoder_layers,
    ffn_importance,
    parse_layers,
    split_ffn,
    spread_layers,
)
from automl.labels import label_space
from automl.models import build_model, resolve_model

os.environ["HF_HUB_OFFLINE"] = "1"


def test_spread_layers_keeps_the_top_layer() -> None:
    assert spread_layers(6, 3) == [1, 3, 5]
    assert spread_layers(6, 2) == [2, 5]
    assert spread_layers(12, 4) == [2, 5, 8, 11]
    assert parse_layers("layers:3") == 3 and parse_layers("2") == 2 and parse_layers("bow") is None
    assert parse_layers("layers:0,5") == [0, 5] and parse_layers("lstm") is None
    with pytest.raises(ValueError, match="keep"):
        spread_layers(6, 7)

def test_cut_layers_copies_the_chosen_layers(tiny_dir: Path, ner: list[Example]) -> None:
    labels = label_space("ABS-6", ner)
    teacher = build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en")
    student = cut_layers(teacher, 2)
    assert len(encoder_layers(student)) == 2 and len(encoder_layers(teacher)) == 4
    for s_layer, t_index in zip(encoder_layers(student), [1, 3], strict=True):
        t_layer = encoder_layers(teacher)[t_index]
        for (name, a), (_, b) in zip(s_layer.state_dict().items(), t_layer.state_dict().items(), strict=True):
            assert torch.equal(a, b), name
    assert getattr(student, "network").config.num_hidden_layers == 2  # noqa: B009
    batch = student.collate(ner[:3])
    assert student(**batch).logits.shape[:2] == batch["input_ids"].shape

def test_cut_layers_by_index_remembers_them_and_rejects_bad_ones(tiny_dir: Path, ner: list[Example]) -> None:
    from advisor.errors import UserError

    teacher = build_model(resolve_model(str(tiny_dir)), label_space("ABS-6", ner), ner, 64, "en")
    student = cut_layers(teacher, [3, 0])
    assert student.cut_from == [0, 3]  # type: ignore[attr-defined]
    assert torch.equal(encoder_layers(student)[1].output.dense.weight, encoder_layers(teacher)[3].output.dense.weight)
    for bad in ([0, 4], [1, 1], []):
        with pytest.raises(UserError, match="cannot keep layers"):
            cut_layers(teacher, bad)

def test_pruning_drops_the_ffn_neurons_that_contribute_nothing(tiny_dir: Path, ner: list[Example],
                                                                tmp_path: Path) -> None:
    """Neurons whose output weights are zero have importance 0: pruning them leaves the logits as they were;
    the narrow student saves and loads as itself."""
    from advisor.errors import UserError
    from automl.models import load_model

    labels = label_space("ABS-6", ner)
    teacher = build_model(resolve_model(str(tiny_dir)), labels, ner, 64, "en")
    full = encoder_layers(teacher)[0].intermediate.dense.out_features  # 128
    dead = torch.arange(0, full, 2)  # every other neuron, in every layer
    with torch.no_grad():
        for layer in encoder_layers(teacher):
            layer.output.dense.weight[:, dead] = 0.0
    getattr(teacher, "network").eval()  # noqa: B009
    batch = teacher.collate(ner[:5], with_targets=False)
    before = teacher(**batch).logits
    for scores in ffn_importance(teacher, ner):
        assert scores.shape == (full,) and torch.all(scores[dead] == 0) and torch.all(scores[1::2] > 0)

    assert split_ffn("layers:0,3,ffn:64") == ("layers:0,3", 64) and split_ffn("layers:2") == ("layers:2", None)
    student = build_student("layers:0,1,2,3,ffn:64", teacher, labels, ner, "en")
    student.eval()
    for layer, t_layer in zip(encoder_layers(student), encoder_layers(teacher), strict=True):
        assert layer.intermediate.dense.out_features == 64 and layer.output.dense.in_features == 64
        assert torch.equal(layer.intermediate.dense.weight, t_layer.intermediate.dense.weight[1::2])
    assert torch.allclose(student(**batch).logits, before, atol=1e-5)
    assert getattr(student, "network").config.intermediate_size == 64  # noqa: B009
    student.save(tmp_path / "narrow")
    again = load_model(tmp_path / "narrow")
    again.eval()
    assert torch.allclose(again(**batch).logits, before, atol=1e-5)

    narrower = build_student("layers:2,ffn:8", teacher, labels, ner, "en")  # live neurons only, the top 8
    kept = encoder_layers(narrower)[1].output.dense.weight
    assert kept.shape == (32, 8) and torch.all(kept.abs().sum(0) > 0)
    with pytest.raises(UserError, match="does not fit"):
        build_student(f"layers:2,ffn:{full + 1}", teacher, labels, ner, "en")
    reviews = [Example(text=" ".join(e.tokens), label="B" if any(t != "O" for t in e.tags) else "O") for e in ner]
    classifier = build_model(resolve_model(str(tiny_dir)), label_space("ABS-1", reviews), reviews, 64, "en")
    with torch.no_grad():
        for layer in encoder_layers(classifier):
            layer.output.dense.weight[:, dead] = 0.0
    classifier.eval()
    sample = classifier.collate(reviews[:5], with_targets=False)
    small = build_student("layers:0,1,2,3,ffn:64", classifier, classifier.labels, reviews, "en")
    small.eval()
    assert torch.allclose(small(**sample).logits, classifier(**sample).logits, atol=1e-5)
    assert split_ffn("layers:3, ffn: 64") == ("layers:3", 64)
    with pytest.raises(UserError, match="ffn"):
        build_student("layers:2,ffn", teacher, labels, ner, "en")
    with pytest.raises(UserError, match="narrows a student cut from the teacher"):
        build_student("bow,ffn:8", teacher, labels, ner, "en")
