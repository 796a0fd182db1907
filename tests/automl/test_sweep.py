"""The sweep's own pieces: which models stay on disk, early-stopping patience, time shares, the second look."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from automl.results import KeptModel
from automl.sweep import patience_evals, time_share

if TYPE_CHECKING:
    import optuna

    from automl.sweep import SweepContext


def test_patience_is_one_and_a_half_epochs_of_evals_at_least_three() -> None:
    assert patience_evals(35_000, 64, 8) == 9  # 547 steps an epoch, an eval every 100: ceil(1.5 * 547 / 100)
    assert patience_evals(600, 8, 2) == 12  # 75 steps an epoch, an eval every 10 (advisor.steps): ceil(11.25)
    assert patience_evals(64, 64, 1) == 3  # one step an epoch: ceil(1.5) = 2, raised to the floor of 3


def test_kept_models_are_the_best_of_each_kind_then_the_next_best() -> None:
    from automl.sweep import choose_kept

    scores = [("bow", 0.85), ("bow", 0.84), ("bow", 0.84), ("gru", 0.83), ("bow", 0.83), ("cnn", 0.82), ("lstm", 0.80)]
    entries = [KeptModel(score=s, trial=i, model=m) for i, (m, s) in enumerate(scores)]
    chosen = choose_kept(entries, 5, "accuracy")
    assert [e.trial for e in chosen] == [0, 1, 3, 5, 6]  # bow, bow (tie: earlier), gru, cnn, lstm
    assert [e.trial for e in choose_kept(entries, 2, "accuracy")] == [0, 3]
    assert [e.trial for e in choose_kept(entries, 1, "accuracy")] == [0]
    assert [e.trial for e in choose_kept(entries, 3, "loss")] == [6, 5, 3]  # lower is better: lstm, cnn, gru


def test_kept_models_come_from_the_trials_records_whose_models_are_on_disk(tmp_path: Path) -> None:
    """A resumed sweep goes on from the models its study's records name, if their folders still hold one."""
    import optuna

    from automl.models import MODEL_JSON
    from automl.results import RECORD, TrialRecord
    from automl.sweep import kept_models

    study = optuna.create_study(direction="maximize")
    models = optuna.distributions.CategoricalDistribution(["bow", "cnn"])
    for number, (name, score, saved) in enumerate([("bow", 0.8, True), ("cnn", 0.9, False), ("cnn", 0.7, True)]):
        folder = tmp_path / f"trial-{number}"
        if saved:
            folder.mkdir()
            (folder / MODEL_JSON).write_text("{}", encoding="utf-8")
        study.enqueue_trial({"model": name})
        trial = study.ask({"model": models})
        trial.set_user_attr(RECORD, TrialRecord(number=number, model_dir=str(folder)).model_dump(mode="json"))
        study.tell(trial, score)
    kept = kept_models(study, "accuracy", keep=5)
    assert [(k.trial, k.model, k.score) for k in kept] == [(0, "bow", 0.8), (2, "cnn", 0.7)]  # trial 1's folder is gone
    assert kept[0].dir == str(tmp_path / "trial-0")


def test_each_models_first_trial_gets_a_fair_share_of_the_time_left() -> None:
    models = ["lstm", "gru", "cnn", "bow", "multilingual-e5-small"]
    assert time_share(1200.0, "lstm", models, set()) == 240.0  # five models not tried yet: a fifth each
    assert time_share(600.0, "bow", models, {"lstm", "gru", "cnn"}) == 300.0  # what the others left, shared
    assert time_share(500.0, "multilingual-e5-small", models, {"lstm", "gru", "cnn", "bow"}) == 500.0
    assert time_share(500.0, "bow", models, set(models)) == 500.0  # later trials: all that remains


def test_time_held_back_for_the_second_look_leaves_the_first_trials_the_rest() -> None:
    from automl.sweep import reserve_for_second_look

    models = ["lstm", "gru", "cnn", "bow", "multilingual-e5-small"]
    assert reserve_for_second_look(5, 12, 1200.0) == 600.0  # half of what is left after probing
    assert time_share(1200.0, "lstm", models, set(), reserve_s=600.0) == 120.0  # (1200 - 600) / 5
    assert time_share(720.0, "multilingual-e5-small", models, set(models[:4]), reserve_s=600.0) == 120.0  # the last one too
    assert time_share(500.0, "multilingual-e5-small", models, set(models[:4]), reserve_s=600.0) == 50.0  # overrun: a tenth
    assert time_share(650.0, "lstm", models, set(models), reserve_s=600.0) == 650.0  # the second look: all that is left
    assert reserve_for_second_look(1, 12, 1200.0) == 0.0  # one model: its first trial has all the time
    assert reserve_for_second_look(5, 5, 1200.0) == 0.0  # --trials leaves no trial for a second look
    assert reserve_for_second_look(5, 12, None) == 0.0  # no budget: trials run to their epochs


def _told(study: optuna.Study, model: str, lr: float, score: float, stopped: str,
          curve: dict[int, float] | None = None) -> None:
    import optuna

    from automl.results import RECORD, TrialRecord

    trial = study.ask({"model": optuna.distributions.CategoricalDistribution(["bow", "cnn", "lstm"]),
                       "learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)})
    del model, lr  # the enqueued parameters decide
    for resource, value in (curve or {100: score}).items():
        trial.report(value, resource)
    trial.set_user_attr(RECORD, TrialRecord(number=trial.number, stopped=stopped).model_dump(mode="json"))
    study.tell(trial, score)


def _sweep_context(reserve_s: float) -> SweepContext:
    from automl.models.base import LabelSpace
    from automl.sweep import Candidate, SweepContext

    candidates = {m: Candidate(name=m, lr_range=(1e-4, 1e-2), lr_default=2e-3, batch_start=32, max_batch=64, epochs=10)
                  for m in ("bow", "cnn", "lstm")}
    return SweepContext(task="ABS-6", labels=LabelSpace(task="ABS-6", names=["O"]), train=[], dev=[], language="zh", max_lengths={},
                        metric="entity_f1", candidates=candidates, models_dir=Path("unused"), seed=0, deadline=None, device="cpu",
                        reserve_s=reserve_s)


@pytest.mark.parametrize(("stopped", "queued"), [("time_budget", True), ("early_stopping", False)])
def test_the_best_first_trial_cut_by_its_time_share_is_queued_once_more(stopped: str, queued: bool) -> None:
    """Once every model has had its first trial, the best one's parameters run again with the time held back,
    if its share (not its epochs) ended it; once per study."""
    import optuna

    from automl.sweep import second_look

    study = optuna.create_study(direction="maximize")
    look = second_look(_sweep_context(reserve_s=600.0))
    for model, lr, score in [("lstm", 2e-3, 0.947), ("cnn", 2e-3, 0.937)]:
        study.enqueue_trial({"model": model, "learning_rate": lr})
        _told(study, model, lr, score, stopped if model == "lstm" else "time_budget")
        look(study, study.trials[-1])
    assert "second_look" not in study.user_attrs  # bow not tried yet
    study.enqueue_trial({"model": "bow", "learning_rate": 5e-3})
    _told(study, "bow", 5e-3, 0.945, "completed")
    look(study, study.trials[-1])
    assert study.user_attrs["second_look"] == {"of_trial": 0, "queued": queued}
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == ([{"model": "lstm", "learning_rate": 2e-3}] if queued else [])
    assert all(t.user_attrs == {"second_look": True} for t in waiting)  # the objective does not prune it
    look(study, study.trials[-1])  # a later trial: nothing queued again
    assert len(study.get_trials(states=(optuna.trial.TrialState.WAITING,))) == len(waiting)


def test_no_second_look_without_time_held_back() -> None:
    import optuna

    from automl.sweep import second_look

    study = optuna.create_study(direction="maximize")
    look = second_look(_sweep_context(reserve_s=0.0))
    for model in ("lstm", "cnn", "bow"):
        study.enqueue_trial({"model": model, "learning_rate": 2e-3})
        _told(study, model, 2e-3, 0.9, "time_budget")
        look(study, study.trials[-1])
    assert "second_look" not in study.user_attrs and not study.get_trials(states=(optuna.trial.TrialState.WAITING,))


# dev entity F1 by progress (percent of an epoch seen) of the first trials of the default People's Daily NER
# run (runs/pd-ner-quiet, 2026-12-06, 2 threads), cut where a 2.6-minute share would have cut each
LSTM = {73: 0.677, 128: 0.86, 183: 0.898, 238: 0.918}  # 59 s an epoch
BOW = {73: 0.674, 128: 0.828, 183: 0.87, 238: 0.898, 292: 0.909, 347: 0.919, 402: 0.925, 457: 0.925}  # 31 s
E5 = {9: 0.0}  # a tenth of an epoch


def test_the_second_look_goes_to_the_model_ahead_at_equal_progress_not_the_fastest() -> None:
    import optuna

    from automl.sweep import look_at

    study = optuna.create_study(direction="maximize")
    for model, curve in [("lstm", LSTM), ("bow", BOW), ("cnn", E5)]:
        study.enqueue_trial({"model": model, "learning_rate": 2e-3})
        _told(study, model, 2e-3, max(curve.values()), "time_budget", curve)
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert (complete[1].value or 0.0) > (complete[0].value or 0.0)  # the BOW's final score leads ...
    assert look_at(complete, "entity_f1").params["model"] == "lstm"  # ... but at 2.38 epochs: 0.918 vs 0.898
    assert look_at(complete[1:], "entity_f1").params["model"] == "bow"  # a model under one epoch only if all are
    assert look_at(complete[2:], "entity_f1").params["model"] == "cnn"
