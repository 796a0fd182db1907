"""The sweep's own pieces: pruning only after a few trials, resources in data seen, the metric's direction."""

from __future__ import annotations

import optuna

from automl.sweep import AfterStartup, improves, patience_evals, progress_resource


class Always(optuna.pruners.BasePruner):
    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return True


def test_no_pruning_before_three_trials_completed() -> None:
    study = optuna.create_study(pruner=AfterStartup(Always(), n_startup_trials=3))
    decisions = []

    def objective(trial: optuna.Trial) -> float:
        trial.report(0.5, 1)
        decisions.append(trial.should_prune())
        return 0.5

    study.optimize(objective, n_trials=5)
    assert decisions == [False, False, False, True, True]


def test_progress_is_data_seen_not_steps() -> None:
    assert progress_resource(step=10, batch_size=64, n_train=640) == 100  # one epoch
    assert progress_resource(step=10, batch_size=16, n_train=640) == 25


def test_direction_and_patience() -> None:
    assert improves(0.9, 0.8, "accuracy") and not improves(0.7, 0.8, "accuracy")
    assert patience_evals(35_000, 64, 8) >= 3 and patience_evals(600, 8, 2) >= 3


def test_kept_models_are_the_best_of_each_kind_then_the_next_best() -> None:
    from automl.sweep import choose_kept

    scores = [("bow", 0.85), ("bow", 0.84), ("bow", 0.84), ("gru", 0.83), ("bow", 0.83), ("cnn", 0.82), ("lstm", 0.80)]
    entries = [{"score": s, "trial": i, "model": m} for i, (m, s) in enumerate(scores)]
    chosen = choose_kept(entries, 5, "accuracy")
    assert [e["trial"] for e in chosen] == [0, 1, 3, 5, 6]  # bow, bow (tie: earlier), gru, cnn, lstm
    assert [e["trial"] for e in choose_kept(entries, 2, "accuracy")] == [0, 3]
    assert [e["trial"] for e in choose_kept(entries, 1, "accuracy")] == [0]
    assert [e["trial"] for e in choose_kept(entries, 3, "loss")] == [6, 5, 3]  # lower is better: lstm, cnn, gru
