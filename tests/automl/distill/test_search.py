"""The distillation sweeps on the shared Optuna adapter (automl/distill/search.py)."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"


def test_distill_sweeps_prune_no_student_before_three_have_completed() -> None:
    """Students that start slower than the first one (a Twitter NER run: cut after TD1 at dev 0.46 against
    one completed trial) run to the end while fewer than 3 trials have completed; plain Hyperband cut one."""
    import optuna

    from automl.distill.search import new_study

    curves = [[0.30, 0.45, 0.50, 0.50], [0.20, 0.25, 0.30, 0.46], [0.10, 0.15, 0.20, 0.46]]

    def decisions(study: optuna.Study) -> list[bool]:
        made: list[bool] = []

        def objective(trial: optuna.Trial) -> float:
            for i, score in enumerate(curves[trial.number]):
                trial.report(score, 50 * (i + 1))
                made.append(trial.should_prune())
                if made[-1]:
                    raise optuna.TrialPruned()
            return curves[trial.number][-1]

        study.optimize(objective, n_trials=3)
        return made

    assert not any(decisions(new_study(0)))
    # Hyperband picks a trial's bracket from a hash of the study name: a fixed name, a fixed bracket
    plain = optuna.create_study(study_name="plain", direction="maximize", pruner=optuna.pruners.HyperbandPruner(
        min_resource=50, max_resource=3000, reduction_factor=3))
    assert any(decisions(plain))
