"""The one Optuna adapter of `automl run` and `automl distill`: trial functions stay pure (`run_trial`),
and this module turns them into Optuna objectives.

- `Pacer` is the `report` callback of `run_trial`: it reports each dev score at equal *data seen* and asks
  `should_prune`, as Optuna's pruning protocol wants (`trial.report`, then `TrialPruned`).
- `objective(body)` wraps a trial body: a diverging loss or an out-of-memory error becomes a pruned trial
  with its reason, and the trial's typed `TrialRecord` is written to it once, whatever the outcome.
- `hyperband` is the pruner both commands use; `direction` / `improves` read the metric's direction.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import optuna

from automl.batch_size import is_out_of_memory
from automl.metrics import higher_is_better
from automl.results import RECORD, TrialRecord
from automl.training import DivergedError, TrialResult

Body = Callable[[optuna.Trial, TrialRecord], float]  # fills the record, returns the dev score


def direction(metric: str) -> Literal["maximize", "minimize"]:
    return "maximize" if higher_is_better(metric) else "minimize"


def improves(score: float, best: float, metric: str) -> bool:
    return score > best if higher_is_better(metric) else score < best


def progress_resource(step: int, batch_size: int, n_train: int) -> int:
    """Pruning compares trials at equal *data seen*, in percent of an epoch, not at equal optimizer
    steps: a batch of 64 sees four times the data of a batch of 16 per step."""
    return max(1, round(100 * step * batch_size / max(n_train, 1)))


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


@dataclass
class Pacer:
    """`run_trial`'s report callback: each dev score goes to the trial at the share of an epoch seen."""

    trial: optuna.Trial
    batch_size: int
    n_train: int
    metric: str
    label: str  # what progress messages start with: a model name, "student trial 3 TD2"
    on_message: Callable[[str], None] | None = None
    prunable: bool = True  # False for the sweep's second look (automl/sweep.py): a decision, not a guess to check

    def __call__(self, score: float, step: int) -> None:
        self.trial.report(score, progress_resource(step, self.batch_size, self.n_train))
        if self.on_message:
            self.on_message(f"{self.label} step {step}: dev {self.metric} {score:.4f}")
        if self.prunable and self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {step}: dev {self.metric} {score:.4f} behind other trials")


def record_result(record: TrialRecord, result: TrialResult) -> None:
    """What a finished `run_trial` tells about the trial."""
    record.dev = {k: float(v) for k, v in result.metrics.items()}
    record.stopped, record.bf16, record.steps, record.best_step = result.stopped, result.bf16, result.steps, result.best_step
    record.seconds = round(result.seconds, 1)
    record.train_samples_per_s = round(result.train_samples_per_s, 1)


def release_memory() -> None:
    """After an out-of-memory error the failed trial's tensors are garbage: free them before the next trial
    (called once the error is gone: inside its except block, its traceback still holds them)."""
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _out_of_memory_reason(trial: optuna.Trial, exc: BaseException) -> str:
    batch = trial.params.get("batch_size")
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
    return f"out of memory{'' if batch is None else f' at batch {batch}'}: {first}"


def objective(body: Body, kind: str = "trial",
              on_record: Callable[[TrialRecord], None] | None = None) -> Callable[[optuna.Trial], float]:
    """An Optuna objective around `body`; its record is stored in the trial (`RECORD`) once, at the end."""

    def run(trial: optuna.Trial) -> float:
        record = TrialRecord(number=trial.number, kind=kind)
        started = time.perf_counter()
        try:
            record.value = float(body(trial, record))
            record.state = "COMPLETE"
            return record.value
        except optuna.TrialPruned as exc:
            record.state, record.reason = "PRUNED", str(exc) or "pruned"
            raise
        except DivergedError as exc:
            record.state, record.reason = "PRUNED", f"diverged: {exc}"
            raise optuna.TrialPruned(record.reason) from None
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                record.state, record.reason = "FAIL", f"{type(exc).__name__}: {exc}"[:300]
                raise
            record.state, record.reason = "PRUNED", _out_of_memory_reason(trial, exc)
        except Exception as exc:
            record.state, record.reason = "FAIL", f"{type(exc).__name__}: {exc}"[:300]
            raise
        finally:
            record.params = dict(trial.params)
            if record.seconds is None:
                record.seconds = round(time.perf_counter() - started, 1)
            trial.set_user_attr(RECORD, record.model_dump(mode="json"))
            if on_record is not None:
                on_record(record)
        # Out of memory. Only here, past the except block, are the error and its traceback gone, and with them
        # the failed step's frames, which hold its model, batch and activations: now gc can free them.
        release_memory()
        raise optuna.TrialPruned(record.reason)

    return run
