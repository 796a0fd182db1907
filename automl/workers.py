"""Many `automl run` processes on one study: the worker loop and the storage it runs on.

Any number of workers, on one machine or many, join one study through Optuna's RDB storage
(`--storage postgresql://... --study NAME`). `--trials N` is the study's total of *finished* trials
(complete or pruned; a failed trial never counts). Each worker claims a trial only while finished plus
running trials are fewer than N, under a lock the database holds for the study, so several workers never
overshoot the total; a worker with nothing left to claim waits until the running trials end, because one
of them may belong to a dead worker.

Dead workers: every running trial records a heartbeat; a trial whose heartbeat is older than the grace
period is failed by the next worker that looks (Optuna's `fail_stale_trials`) and Optuna's retry callback
queues a copy with the same parameters, which the next claim picks up. SQLite serves one process (its file
lock, automl/run_guard.py), so when it opens a study every trial still marked running belongs to a process
that is gone: it is failed and retried the same way at once.

Optuna's file journal has no heartbeat, so a dead worker's trial would stay running for ever: not offered.
"""

from __future__ import annotations

import copy
import hashlib
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from advisor.errors import UserError

HEARTBEAT_ENV = "AUTOML_HEARTBEAT_SECONDS"
# A live trial writes one row every 10 s from a thread of its own (Python hands the lock between threads
# every few milliseconds, and torch's kernels release it, so training does not hold beats back); after
# 3 missed beats (30 s) the trial is taken for dead.
DEFAULT_HEARTBEAT_S = 10
MISSED_BEATS = 3
MAX_RETRIES = 2  # a trial that kills its worker every time (the kernel's OOM killer) is tried 3 times, then left failed
# Connections per worker: the trial's thread, the heartbeat thread and the claim lock each hold at most one
# at a time; 3 + 1 overflow bounds a worker at 4, so 40 workers stay under PostgreSQL's default 100.
POOL = {"pool_size": 3, "max_overflow": 1, "pool_pre_ping": True, "pool_recycle": 600}
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)
WORKER = "worker"  # trial user attribute: host:pid of the process that runs it
Callback = Callable[[optuna.Study, FrozenTrial], None]


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def sqlite_file(url: str) -> Path | None:
    """The database file of a sqlite URL (sqlite:///relative or sqlite:////absolute); None in memory."""
    if not is_sqlite(url):
        return None
    path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
    return Path(path).resolve() if path and path != ":memory:" else None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_seconds() -> int:
    raw = os.environ.get(HEARTBEAT_ENV, "")
    if not raw:
        return DEFAULT_HEARTBEAT_S
    if not raw.isdigit() or int(raw) < 1:
        raise UserError(f"{HEARTBEAT_ENV}={raw!r}: not a whole number of seconds >= 1.",
                        f"Unset it (default {DEFAULT_HEARTBEAT_S}) or give e.g. {HEARTBEAT_ENV}=5.")
    return int(raw)


def retry_callback() -> Callback:
    """Optuna's callback that queues a dead trial again with its parameters (renamed in Optuna 4.9)."""
    storages = optuna.storages
    factory = getattr(storages, "RetryHeartbeatStaleTrialCallback", None) or storages.RetryFailedTrialCallback
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return factory(max_retry=MAX_RETRIES)  # type: ignore[no-any-return]


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """The storage for `url`: SQLite as it is (one process), any other database with heartbeats, the
    retry callback and a bounded connection pool."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        if is_sqlite(url):  # a second connection waits for the file lock instead of failing at once
            return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
        beat = heartbeat_seconds()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, engine_kwargs=dict(POOL), heartbeat_interval=beat,
                                              grace_period=MISSED_BEATS * beat,
                                              heartbeat_stale_trial_callback=retry_callback())
    except UserError:
        raise
    except Exception as exc:  # bad URL, missing driver, unreachable server: SQLAlchemy raises many kinds
        first = str(exc).splitlines()[0][:300] if str(exc) else ""
        raise UserError(f"cannot open storage {url}: {type(exc).__name__}: {first}",
                        "Give a reachable database URL: sqlite:////path/study.db, or postgresql://user:password@host:5432/db "
                        "(driver: pip install 'psycopg[binary]').") from None


def backend(storage: optuna.storages.BaseStorage) -> optuna.storages.BaseStorage:
    """The storage a study wraps in its cache (Optuna's `_CachedStorage` keeps it as `_backend`)."""
    return getattr(storage, "_backend", storage)


def _lock_key(study_name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"automl-study:{study_name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def study_lock(storage: optuna.storages.BaseStorage, study_name: str) -> Iterator[None]:
    """Held while a worker counts the study's trials and claims one (and while it enqueues the default
    trials of a new study): the database's own lock, released by the server if the worker dies."""
    from sqlalchemy import text

    engine = getattr(backend(storage), "engine", None)
    dialect = engine.dialect.name if engine is not None else ""
    if dialect not in ("postgresql", "mysql", "mariadb"):
        yield  # SQLite: one process (automl/run_guard.py), nothing to race with
        return
    assert engine is not None
    with engine.connect() as conn:
        if dialect == "postgresql":
            # a holder cut off by the network (no kill, so no closed socket) is ended by the server after
            # 2 minutes, freeing the lock; a live worker holds it for milliseconds
            conn.execute(text("SET idle_in_transaction_session_timeout = '120s'"))
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _lock_key(study_name)})
        else:
            conn.execute(text("SELECT GET_LOCK(:k, 600)"), {"k": f"automl:{_lock_key(study_name)}"})
        try:
            yield
        finally:
            if dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(study_name)})
            else:
                conn.execute(text("SELECT RELEASE_LOCK(:k)"), {"k": f"automl:{_lock_key(study_name)}"})
            conn.commit()


def heartbeat_interval(study: optuna.Study) -> int | None:
    storage = backend(study._storage)
    return storage.heartbeat_interval if isinstance(storage, optuna.storages.RDBStorage) else None


def has_heartbeat(study: optuna.Study) -> bool:
    return heartbeat_interval(study) is not None


def counts(study: optuna.Study) -> dict[TrialState, int]:
    found: dict[TrialState, int] = {}
    for t in study.get_trials(deepcopy=False):
        found[t.state] = found.get(t.state, 0) + 1
    return found


def finished_trials(study: optuna.Study) -> int:
    """Trials that count toward `--trials`: complete or pruned."""
    found = counts(study)
    return sum(found.get(s, 0) for s in COUNTED)


def retry_orphans(study: optuna.Study) -> list[int]:
    """Fail every trial still marked running and queue it again with its parameters. Only for a study
    that this process alone may use (SQLite under its lock): there, a running trial's process is gone."""
    storage, callback, retried = study._storage, retry_callback(), []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_user_attr(t._trial_id, "reason", "interrupted (its process ended); retried with its parameters")
        if storage.set_trial_state_values(t._trial_id, TrialState.FAIL):
            callback(study, copy.deepcopy(storage.get_trial(t._trial_id)))
            retried.append(t.number)
    return retried


def fail_stale(study: optuna.Study) -> None:
    """Optuna's `fail_stale_trials`, with the reason in each failed trial: fail every running trial whose
    heartbeat is older than the grace period, then queue it again (the storage's retry callback)."""
    if not has_heartbeat(study):
        return
    storage = study._storage
    callback = backend(storage).heartbeat_stale_trial_callback  # type: ignore[attr-defined]
    for trial_id in storage._get_stale_trial_ids(study._study_id):  # type: ignore[attr-defined]
        try:
            worker = storage.get_trial(trial_id).user_attrs.get(WORKER, "its worker")
            storage.set_trial_user_attr(trial_id, "reason", f"{worker} stopped sending heartbeats (ended or cut off); "
                                                            "retried with its parameters")
            if not storage.set_trial_state_values(trial_id, TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker failed it first
            continue
        if callback is not None:  # a copy: the callback extends the trial's retry history in place
            callback(study, copy.deepcopy(storage.get_trial(trial_id)))


class Heartbeat:
    """Records the trial's heartbeat every interval on a thread of its own (Optuna's protocol, public API)."""

    def __init__(self, study: optuna.Study, trial_id: int) -> None:
        self.storage = backend(study._storage)
        self.interval = heartbeat_interval(study)
        self.trial_id = trial_id
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if self.interval is not None:
            interval = self.interval
            self.thread = threading.Thread(target=self._beat, args=(interval,), daemon=True)
            self.thread.start()
        return self

    def _beat(self, interval: int) -> None:
        while not self.stop.wait(interval):
            self.storage.record_heartbeat(self.trial_id)  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


def claim(study: optuna.Study, total: int) -> optuna.Trial | None:
    """A new trial (Optuna's `ask` takes a queued retry first) while finished plus running trials are
    fewer than `total`; None when the total is claimed."""
    with study_lock(study._storage, study.study_name):
        found = counts(study)
        if sum(found.get(s, 0) for s in (*COUNTED, TrialState.RUNNING)) >= total:
            return None
        with warnings.catch_warnings():  # Optuna warns that heartbeats are meant for `optimize`: this loop is its equivalent
            warnings.filterwarnings("ignore", message="Heartbeat of storage")
            trial = study.ask()
        trial.set_user_attr(WORKER, worker_name())
        if has_heartbeat(study):  # its first beat before the lock goes: a trial is never running unwatched
            study._storage.record_heartbeat(trial._trial_id)  # type: ignore[attr-defined]
        return trial


def say_interrupted(trial: optuna.Trial) -> None:
    """The reason in the trial's record (automl/results.py), or alone when the trial stored none yet."""
    from automl.results import RECORD

    reason = "interrupted (Ctrl-C); retried with its parameters on the next run"
    record = trial.user_attrs.get(RECORD)
    if isinstance(record, dict):
        trial.set_user_attr(RECORD, {**record, "state": "FAIL", "reason": reason})
    else:
        trial.set_user_attr("reason", reason)


def run_one(study: optuna.Study, trial: optuna.Trial, objective: Callable[[optuna.Trial], float],
            callbacks: Sequence[Callback]) -> FrozenTrial:
    """The trial's objective under its heartbeat, then `tell`, as Optuna's `optimize` does. Ctrl-C fails
    the trial and queues it again, so the same command resumes it; any other error fails it and is raised."""
    value: float | None = None
    error: BaseException | None = None
    with Heartbeat(study, trial._trial_id):
        try:
            value = objective(trial)
            state = TrialState.COMPLETE
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except (Exception, KeyboardInterrupt) as exc:
            state, error = TrialState.FAIL, exc
    if isinstance(error, KeyboardInterrupt):
        say_interrupted(trial)
    frozen = study.tell(trial, value, state=state)
    if isinstance(error, KeyboardInterrupt):
        retry_callback()(study, frozen)
    if error is not None:
        raise error
    for callback in callbacks:
        callback(study, frozen)
    return frozen


@dataclass
class WorkResult:
    ran: int  # trials this worker ran
    finished: int  # the study's finished trials when it left
    reached: bool  # the study has its total


def work(study: optuna.Study, objective: Callable[[optuna.Trial], float], total: int, deadline: float | None,
         callbacks: Sequence[Callback] = (), poll_s: float = 2.0) -> WorkResult:
    """Claim and run trials until the study has `total` finished trials or `deadline` (time.time()) passes."""
    ran = 0
    while deadline is None or time.time() < deadline:
        fail_stale(study)
        trial = claim(study, total)
        if trial is None:
            if finished_trials(study) >= total:
                break
            time.sleep(poll_s)  # the last trials run elsewhere; one may be a dead worker's, to retry
            continue
        run_one(study, trial, objective, callbacks)
        ran += 1
    done = finished_trials(study)
    return WorkResult(ran=ran, finished=done, reached=done >= total)


REPORTED = "automl:report_finished"  # study user attr: the finished-trial count of the last written report


def claim_report(study: optuna.Study) -> bool:
    """Whether this worker writes the report of a shared study: no other worker still runs a trial (that
    one writes when it ends) and no report was claimed for this many finished trials yet. Decided under
    the study lock, so of several workers that end together exactly one writes. (One SQLite process
    always writes its own report.)"""
    with study_lock(study._storage, study.study_name):
        fail_stale(study)
        found = counts(study)
        done = sum(found.get(s, 0) for s in COUNTED)
        if found.get(TrialState.RUNNING, 0) or study.user_attrs.get(REPORTED) == done:
            return False
        study.set_user_attr(REPORTED, done)
        return True


def worker_sampler(seed: int, shared: bool, done: int) -> optuna.samplers.TPESampler:
    """TPE, re-seeded past the `done` trials a resumed study has (or it would replay its draws). Workers of a
    shared study also take the trials running elsewhere as if they had scored badly (Optuna's constant
    liar, its advice for parallel workers), so they do not all sample around the same point."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=worker_seed(seed, shared) + done, constant_liar=shared)


def worker_seed(seed: int, shared: bool) -> int:
    """Workers of a shared study sample from different seeds: the same seed would draw the same random
    start-up trials in every worker. One process keeps the user's seed, so a run can be repeated."""
    if not shared:
        return seed
    return seed + int.from_bytes(os.urandom(2), "big")
