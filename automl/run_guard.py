"""An `--out` folder belongs to one sweep: a lock while processes use it, and the options it was made with.

- The lock (`flock` on `--out/.automl.lock`, released by the kernel when a process dies, even by kill -9):
  a run on SQLite holds it alone; workers of a shared study (PostgreSQL, MySQL) share it, so several
  workers may write into one folder (`trial-N` model folders never collide), but never beside a
  single-process run. A SQLite file outside `--out` gets the same exclusive lock next to it.
- The options (`--out/run.json`, written when the study opens): what makes the study what it is: the data files (path and content),
  task, models, metric, seed, epochs, lengths, batch ceiling, answers, storage and study name. The same
  ones again resume the study; others are refused with what differs, before anything is replaced.
  The trial count, time budget, memory share and ensemble size may change between runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from advisor.errors import UserError
from automl.results import REPORT_JSON

LOCK = ".automl.lock"
RUN_FILE = "run.json"
PATH_OPTIONS = ("data", "dev", "test", "answers")  # files: compared by content, named by path
VALUE_OPTIONS = ("task", "models", "metric", "seed", "epochs", "max_length", "max_batch", "storage", "study")
FLAGS = {"data": "--data", "dev": "--dev", "test": "--test", "answers": "--answers", "task": "--task",
         "models": "--models", "metric": "--metric", "seed": "--seed", "epochs": "--epochs",
         "max_length": "--max-length", "max_batch": "--max-batch", "storage": "--storage", "study": "--study"}
SHARED_HOW = ("To run several workers on one study, keep it in PostgreSQL: the same `automl run ... --storage "
              "postgresql://USER:PASSWORD@HOST:5432/DB --study NAME` on every worker (README: \"A sweep on several "
              "machines\"; `bash scripts/postgres.sh` starts one on this machine).")


def sha256(path: Path) -> str | None:
    """The file's content hash; None when it cannot be read (reading the data later says why)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def fingerprint(options: Any) -> dict[str, Any]:
    """The options that define the study of a run (`automl.run.RunOptions`), as JSON-ready values."""
    found: dict[str, Any] = {}
    for name in PATH_OPTIONS:
        path = getattr(options, name, None)
        found[name] = None if path is None else {"path": str(Path(path).resolve()),
                                                  "sha256": sha256(Path(path)) if Path(path).is_file() else None}
    for name in VALUE_OPTIONS:
        found[name] = getattr(options, name, None)
    return found


def differences(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    said = []
    for name in (*PATH_OPTIONS, *VALUE_OPTIONS):
        old, new = before.get(name), now.get(name)
        if old == new:
            continue
        flag = FLAGS[name]
        if name in PATH_OPTIONS and old and new and old["path"] == new["path"]:
            said.append(f"{flag} {new['path']}: the file changed since that run (its content differs)")
        else:
            show = {k: (v["path"] if isinstance(v, dict) else v) for k, v in (("old", old), ("new", new))}
            said.append(f"{flag}: {show['old'] if show['old'] is not None else 'not given'} there, "
                        f"{show['new'] if show['new'] is not None else 'not given'} now")
    return said


def check_options(out: Path, options: Any) -> dict[str, Any]:
    """Refuse a run whose options differ from those `--out` was made with (exit 2, with what differs).
    Returns the fingerprint; `record_options` writes it when the run's study opens."""
    now = fingerprint(options)
    path = out / RUN_FILE
    if path.is_file():
        try:
            before = json.loads(path.read_text(encoding="utf-8"))["options"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise UserError(f"{path}: unreadable (not the JSON `automl run` writes).",
                            f"Use a new --out, or delete {path} if this folder's study is the one you mean to resume.") from None
        changed = differences(before, now)
        if changed:
            raise UserError(f"--out {out} holds a sweep made with other options, and this run would mix its trials "
                            f"and replace its models and report: " + "; ".join(changed) + ".",
                            f"Rerun with the options of that sweep to resume it, or give a new --out (delete {out} "
                            "to start over there).")
        return now
    changed = legacy_differences(out, options)
    if changed:
        raise UserError(f"--out {out} holds a sweep of other data, and this run would replace its models and report: "
                        + "; ".join(changed) + ".", f"Give a new --out (delete {out} to start over there).")
    return now


def record_options(out: Path, options: Any) -> None:
    """From the moment a study opens in it, `--out` belongs to these options (a run that fails on its data
    before that leaves nothing to protect, and binds nothing)."""
    path = out / RUN_FILE
    if path.is_file():
        return
    out.mkdir(parents=True, exist_ok=True)
    record = {"options": fingerprint(options), "created": time.strftime("%Y-%m-%d %H:%M:%S")}
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def legacy_differences(out: Path, options: Any) -> list[str]:
    """A folder from before runs recorded their options: its report names the data files it was run on."""
    report = out / REPORT_JSON
    if not report.is_file():
        return []  # a study without a report (or an empty folder): the sweep resumes as it always did
    try:
        files = json.loads(report.read_text(encoding="utf-8"))["data"]["files"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return [f"{report} is unreadable, so what it was run on is unknown"]
    said = []
    for split in ("train", "dev", "test"):
        given = getattr(options, "data" if split == "train" else split, None)
        if given is not None and split in files and Path(files[split]).resolve() != Path(given).resolve():
            said.append(f"{FLAGS['data' if split == 'train' else split]}: {files[split]} there, {given} now")
    return said


def _holder(path: Path) -> str:
    try:
        said = path.read_text(encoding="utf-8").strip()
    except OSError:
        said = ""
    return f" ({said})" if said else ""


class FolderLock:
    """`flock` on a file: exclusive for a single-process run, shared between workers of a shared study."""

    def __init__(self, path: Path, shared: bool) -> None:
        self.path = path
        self.shared = shared
        self.handle: IO[str] | None = None

    def acquire(self) -> bool:
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        if not self.shared:  # who holds it, for the message another process prints
            handle.truncate(0)
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%H:%M:%S')}")
            handle.flush()
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def lock_run(out: Path, storage: str, sqlite_file: Path | None, shared: bool) -> list[FolderLock]:
    """The locks of a run (held until the process ends, or `release_all`); UserError when another
    process holds what this one needs. `shared`: the study lives in a database many workers may use."""
    locks: list[FolderLock] = []
    folder = FolderLock(out / LOCK, shared=shared)
    if not _acquire(folder, "--out", out, create=True):
        who = _holder(folder.path)
        if shared:
            raise UserError(f"--out {out} is in use by a single-process run{who} on its SQLite study.",
                            "Give this worker its own --out, or wait for that run to end.")
        raise UserError(f"--out {out} is in use by another `automl run`{who}; SQLite serves one process, and two runs "
                        "into one folder would replace each other's models and report.",
                        f"Wait for it to end (then the same command resumes the study), or use another --out. {SHARED_HOW}")
    locks.append(folder)
    if sqlite_file is not None and sqlite_file.parent.resolve() != out.resolve():
        beside = FolderLock(sqlite_file.with_name(sqlite_file.name + ".lock"), shared=False)
        try:
            free = _acquire(beside, "--storage", sqlite_file.parent, create=False)
        except UserError:
            release_all(locks)
            raise
        if not free:
            release_all(locks)
            raise UserError(f"the SQLite study {storage} is in use by another `automl run`{_holder(beside.path)}; "
                            "SQLite serves one process.", SHARED_HOW)
        locks.append(beside)
    return locks


def _acquire(lock: FolderLock, flag: str, folder: Path, create: bool) -> bool:
    """The lock, or False when another process holds it; a folder that cannot hold it is the user's to fix."""
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise UserError(f"{flag}: the folder {folder} does not exist.", "Create it, or give a path in a folder that exists.")
        return lock.acquire()
    except OSError as exc:
        raise UserError(f"{flag} {folder}: cannot write there ({exc.strerror or type(exc).__name__}).",
                        "Give a folder you can write to (not a file).") from None


def release_all(locks: list[FolderLock]) -> None:
    for lock in locks:
        lock.release()


@contextmanager
def guarded(out: Path, options: Any, storage: str) -> Iterator[None]:
    """The run's locks, then its options checked against the folder's (or recorded in a new one), before
    anything is written; the locks go when the run ends, however it ends."""
    from automl.workers import is_sqlite, sqlite_file

    locks = lock_run(out, storage, sqlite_file(storage), shared=not is_sqlite(storage))
    try:
        check_options(out, options)
        yield
    finally:
        release_all(locks)
