"""The Optuna study: one trial = one `run_trial` with a model, learning rate and batch size.

The trial function itself is pure (automl/training/); this module is the adapter: it suggests the
parameters, turns dev scores into `trial.report` / `should_prune`, records why a trial was pruned or
failed (out of memory, diverging loss) and keeps the best model on disk. Resuming is Optuna's own:
the same storage and study name load the finished trials, and `--trials N` counts the study's total.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import torch

from advisor.dataset import Example
from automl.batch_size import is_out_of_memory
from automl.metrics import higher_is_better
from automl.models import MODEL_JSON, build_model, resolve_model
from automl.models.base import LabelSpace
from automl.training import DivergedError, TrialConfig, run_trial, step_plan

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)


@dataclass
class Candidate:
    """A model the sweep may pick, with its search ranges and the largest batch that fits."""

    name: str
    lr_range: tuple[float, float]
    lr_default: float
    batch_start: int
    max_batch: int
    epochs: int


@dataclass
class SweepContext:
    task: str
    labels: LabelSpace
    train: list[Example]
    dev: list[Example]
    language: str
    max_lengths: dict[str, int]  # per model, in its own units
    metric: str
    candidates: dict[str, Candidate]
    models_dir: Path
    seed: int
    deadline: float | None  # time.time() after which trials stop
    device: str
    on_step: Callable[[int, str], None] | None = None  # progress: (trial number, message)
    keep: int = 5  # models of the best `keep` trials stay on disk: the ensemble's candidates
    kept: list[dict[str, Any]] = field(default_factory=list)  # {"score", "dir", "trial", "model"}, best first


def progress_resource(step: int, batch_size: int, n_train: int) -> int:
    """Pruning compares trials at equal *data seen*, in percent of an epoch, not at equal optimizer
    steps: a batch of 64 sees four times the data of a batch of 16 per step."""
    return max(1, round(100 * step * batch_size / max(n_train, 1)))


def patience_evals(n_train: int, batch_size: int, epochs: int) -> int:
    """Early stopping waits about 1.5 epochs without a better dev score (at least 3 evals): from-scratch
    nets and CRF taggers still climb slowly late in training, and the pruner already cuts hopeless trials."""
    _, eval_steps, _ = step_plan(n_train, batch_size, epochs)
    return max(3, math.ceil(1.5 * math.ceil(n_train / batch_size) / eval_steps))


def make_objective(ctx: SweepContext) -> Callable[[optuna.Trial], float]:
    def objective(trial: optuna.Trial) -> float:
        name = trial.suggest_categorical("model", sorted(ctx.candidates))
        cand = ctx.candidates[name]
        lr = trial.suggest_float("learning_rate", *cand.lr_range, log=True)
        low = min(8, cand.max_batch)
        batch = trial.suggest_int("batch_size", low, cand.max_batch, log=True)
        remaining = None if ctx.deadline is None else max(1.0, ctx.deadline - time.time())
        config = TrialConfig(learning_rate=lr, batch_size=batch, epochs=cand.epochs, seed=ctx.seed,
                             metric=ctx.metric, time_budget_s=remaining, device=ctx.device,
                             patience=patience_evals(len(ctx.train), batch, cand.epochs))
        torch.manual_seed(ctx.seed + trial.number)  # weights start from a seed the trial number fixes
        model = build_model(resolve_model(name), ctx.labels, ctx.train, ctx.max_lengths[name], ctx.language)

        def report(score: float, step: int) -> None:
            trial.report(score, progress_resource(step, batch, len(ctx.train)))
            if ctx.on_step:
                ctx.on_step(trial.number, f"{name} step {step}: dev {ctx.metric} {score:.4f}")
            if trial.should_prune():
                trial.set_user_attr("reason", f"pruned at step {step}: dev {ctx.metric} {score:.4f} behind other trials")
                raise optuna.TrialPruned()

        try:
            result = run_trial(config, model, ctx.train, ctx.dev, report)
        except DivergedError as exc:
            trial.set_user_attr("reason", f"diverged: {exc}")
            raise optuna.TrialPruned(f"diverged: {exc}") from None
        except RuntimeError as exc:
            if not is_out_of_memory(exc):
                raise
            trial.set_user_attr("reason", f"out of memory at batch {batch}")
            raise optuna.TrialPruned(f"out of memory at batch {batch}") from None
        score = float(result.score)
        trial.set_user_attr("dev", {k: float(v) for k, v in result.metrics.items()})
        trial.set_user_attr("stopped", result.stopped)
        trial.set_user_attr("bf16", result.bf16)
        trial.set_user_attr("seconds", round(result.seconds, 1))
        trial.set_user_attr("train_samples_per_s", round(result.train_samples_per_s, 1))
        trial.set_user_attr("steps", result.steps)
        trial.set_user_attr("best_step", result.best_step)
        keep_top(ctx, trial, model, score)
        return score

    return objective


def improves(score: float, best: float, metric: str) -> bool:
    return score > best if higher_is_better(metric) else score < best


def choose_kept(entries: list[dict[str, Any]], keep: int, metric: str) -> list[dict[str, Any]]:
    """Which models stay on disk, best first: the best of each model first (an ensemble gains from models
    that err differently; the top five of a sweep are often five of one kind), then the next best.
    Entries are {"score", "trial", "model", ...}; ties go to the earlier trial."""
    sign = -1 if higher_is_better(metric) else 1
    ordered = sorted(entries, key=lambda e: (sign * e["score"], e["trial"]))
    chosen: list[dict[str, Any]] = []
    for entry in ordered:
        if all(entry["model"] != c["model"] for c in chosen):
            chosen.append(entry)
    chosen = chosen[:keep]
    chosen += [e for e in ordered if e not in chosen][: keep - len(chosen)]
    return sorted(chosen, key=ordered.index)


def keep_top(ctx: SweepContext, trial: optuna.Trial, model: Any, score: float) -> None:
    """Save the model when `choose_kept` keeps the trial, and drop the model it displaces: a few models
    on disk (the ensemble's candidates), not one per trial."""
    directory = ctx.models_dir / f"trial-{trial.number}"
    entry = {"score": score, "dir": str(directory), "trial": trial.number, "model": trial.params["model"]}
    chosen = choose_kept([*ctx.kept, entry], ctx.keep, ctx.metric)
    if entry not in chosen:
        return
    model.save(directory)
    trial.set_user_attr("model_dir", str(directory))
    for dropped in ctx.kept:
        if dropped not in chosen and Path(dropped["dir"]).exists():
            shutil.rmtree(dropped["dir"])
    ctx.kept = chosen


def kept_models(study: optuna.Study, metric: str, keep: int) -> list[dict[str, Any]]:
    """The kept completed trials whose models are on disk, best first (at most `keep`; see choose_kept)."""
    done = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            if t.user_attrs.get("model_dir") and (Path(t.user_attrs["model_dir"]) / MODEL_JSON).is_file()]
    entries = [{"score": t.value, "dir": t.user_attrs["model_dir"], "trial": t.number, "model": t.params["model"]}
               for t in done]
    return choose_kept(entries, keep, metric)


class AfterStartup(optuna.pruners.BasePruner):
    """Another pruner, once `n_startup_trials` trials have completed. Before that a rung compares a trial
    with one or two others: noise, and from-scratch nets that start slowly (a BOW lags at half an epoch,
    then overtakes) were cut for it."""

    def __init__(self, pruner: optuna.pruners.BasePruner, n_startup_trials: int = 3) -> None:
        self.pruner = pruner
        self.n_startup_trials = n_startup_trials

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        return len(completed) >= self.n_startup_trials and self.pruner.prune(study, trial)


def hyperband(max_resource: int) -> AfterStartup:
    """Optuna's own advice: Hyperband beats the median rule, and TPE + Hyperband is a strong pair.
    Resource = percent of an epoch seen; nothing is pruned before half an epoch, nor before 3 trials completed."""
    return AfterStartup(optuna.pruners.HyperbandPruner(min_resource=50, max_resource=max_resource, reduction_factor=3))


def trials_so_far(storage: str, study_name: str) -> int:
    """A resumed study re-seeds its sampler past the trials it has, or TPE would replay the same draws."""
    try:
        return len(optuna.load_study(study_name=study_name, storage=storage).trials)
    except KeyError:  # a new study
        return 0


def open_study(storage: str, study_name: str, seed: int, max_resource: int, metric: str) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        direction="maximize" if higher_is_better(metric) else "minimize",
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed + trials_so_far(storage, study_name)),
        pruner=hyperband(max_resource),
    )
    # A run killed mid-trial leaves it RUNNING forever; it is over, so say so (it will not count as done).
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
    return study


def enqueue_defaults(study: optuna.Study, candidates: dict[str, Candidate]) -> None:
    """A new study first tries each model at the guide's defaults (TIME-8: start from the default)."""
    if study.trials:
        return
    for cand in candidates.values():
        study.enqueue_trial({"model": cand.name, "learning_rate": cand.lr_default,
                             "batch_size": min(cand.batch_start, cand.max_batch)})


def finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def run_study(study: optuna.Study, ctx: SweepContext, total_trials: int, timeout_s: float | None,
              callbacks: list[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] | None = None) -> int:
    """Run what is missing of `total_trials`; returns how many trials this call ran."""
    missing = max(0, total_trials - finished(study))
    ctx.kept = kept_models(study, ctx.metric, ctx.keep)  # a resumed study goes on from the models it kept
    if missing:
        study.optimize(make_objective(ctx), n_trials=missing, timeout=timeout_s, callbacks=callbacks or [])
    return missing
