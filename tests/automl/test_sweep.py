"""The sweep's own pieces: which models stay on disk, early-stopping patience."""

from __future__ import annotations

from pathlib import Path

from automl.results import KeptModel
from automl.sweep import patience_evals, time_share


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
