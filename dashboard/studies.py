"""Optuna studies for the Sweeps page: where they are, their trials as rows, and Optuna's own plots.

No Streamlit here. A missing database or study is a UserError with what to do, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from advisor.errors import UserError
from automl.results import TrialRecord
from dashboard.settings import UPLOADS

SQLITE = "sqlite:///"


def sqlite_url(path: Path) -> str:
    return SQLITE + str(path.resolve())


def find_storages(root: Path) -> list[str]:
    """The embedded SQLite studies under the output folder (`automl run` writes --out/study.db)."""
    if not root.is_dir():
        return []
    return [sqlite_url(p) for p in sorted(root.rglob("*.db")) if p.is_file() and UPLOADS not in p.relative_to(root).parts]


def sqlite_path(storage: str) -> Path | None:
    return Path(storage[len(SQLITE):]) if storage.startswith(SQLITE) else None


def run_folder(storage: str) -> Path | None:
    """The `--out` folder of a run whose study is the default SQLite file in it."""
    path = sqlite_path(storage)
    return path.parent if path is not None else None


_OPEN: dict[str, optuna.storages.BaseStorage] = {}  # one engine per URL for the life of the server


def _storage(storage: str) -> optuna.storages.BaseStorage:
    path = sqlite_path(storage)
    if path is not None and not path.is_file():  # Optuna would create an empty database: say it is missing
        raise UserError(f"{path}: no study database here.",
                        "Pick one found under the output folder, or start a sweep first.")
    if storage not in _OPEN:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:  # read only: never create Optuna's tables in a database that is not a study
            _OPEN[storage] = optuna.storages.RDBStorage(storage, skip_table_creation=True)
        except Exception as exc:  # bad URL, not a database, missing driver: SQLAlchemy raises many kinds
            raise _unreadable(storage, exc) from None
    return _OPEN[storage]


def _unreadable(storage: str, exc: Exception) -> UserError:
    return UserError(f"cannot read storage {storage}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                     "Give an Optuna storage URL such as sqlite:////path/study.db, one `automl run` wrote.")


def study_names(storage: str) -> list[str]:
    try:
        return sorted(optuna.study.get_all_study_names(storage=_storage(storage)))
    except UserError:
        raise
    except Exception as exc:  # not Optuna's tables, a locked or broken file
        _OPEN.pop(storage, None)
        raise _unreadable(storage, exc) from None


def load(storage: str, name: str) -> optuna.Study:
    try:
        return optuna.load_study(study_name=name, storage=_storage(storage))
    except KeyError:
        raise UserError(f"no study named {name!r} in {storage}.",
                        "Pick one of the studies listed, or start a sweep with that name.") from None


@dataclass
class Progress:
    finished: int  # complete or pruned: what `automl run --trials` counts
    running: int
    total: int  # trials that count or will; a failed one never counts (a dead worker's is retried as a new one)
    failed: int = 0


def progress(study: optuna.Study) -> Progress:
    states = [t.state for t in study.get_trials(deepcopy=False)]
    running = sum(s == optuna.trial.TrialState.RUNNING for s in states)
    failed = sum(s == optuna.trial.TrialState.FAIL for s in states)
    waiting = sum(s == optuna.trial.TrialState.WAITING for s in states)
    finished = len(states) - running - waiting - failed
    return Progress(finished=finished, running=running, total=len(states) - failed, failed=failed)


def table(study: optuna.Study) -> list[dict[str, Any]]:
    """One row a trial (its typed `TrialRecord`), flat for a table: params and dev scores as columns."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        r = TrialRecord.from_trial(t)
        row: dict[str, Any] = {"#": r.number, "state": r.state.lower(), "model": r.params.get("model", ""),
                               "learning rate": r.params.get("learning_rate"), "batch size": r.params.get("batch_size"),
                               "value": r.value}
        row.update({f"dev {k}": v for k, v in r.dev.items()})
        row.update({"seconds": r.seconds or r.duration_s, "samples/s": r.train_samples_per_s, "note": r.reason})
        rows.append(row)
    return rows


PLOTS = ("optimization history", "intermediate values", "parameter importances", "learning rate vs batch size")


def plot(study: optuna.Study, which: str) -> Any:
    """One of Optuna's plots (a plotly figure); a UserError says why it cannot be drawn yet."""
    from optuna import visualization as vis

    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if which == "optimization history":
        return vis.plot_optimization_history(study)
    if which == "intermediate values":
        if not any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
            raise UserError("no trial has reported a dev score yet.", "Wait for the first evaluation step.")
        return vis.plot_intermediate_values(study)
    if which == "parameter importances":
        varied = [name for name in ("model", "learning_rate", "batch_size")
                  if len({t.params.get(name) for t in complete if name in t.params}) > 1]
        if len(complete) < 2 or not varied:
            raise UserError("importances need two finished trials that differ in a parameter.",
                            "Wait for more trials.")
        return vis.plot_param_importances(study, params=varied)
    if which == "learning rate vs batch size":
        pairs = {(t.params.get("learning_rate"), t.params.get("batch_size")) for t in complete}
        if len(complete) < 2 or len(pairs) < 2:
            raise UserError("this plot needs two finished trials.", "Wait for more trials.")
        return vis.plot_contour(study, params=["learning_rate", "batch_size"])
    raise ValueError(f"plot is one of {PLOTS}, but got {which=}.")
