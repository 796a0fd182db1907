"""Checks of what a user gives a command that need no data loading and no model: run first, in seconds.

Every failure is a `UserError` (one message with its fix, exit code 2, no traceback) raised before
anything is written, so a finished `--out` is never touched by a command that cannot run:

- files (`--data`, `--dev`, `--test`, `--answers`, ...): there, a file, readable, not empty;
- folders (`--out`) and output files (`predict --output`): not a file where a folder goes (and the
  reverse), under a folder that exists or can be made;
- `--storage`: a database URL SQLAlchemy can parse, its driver installed, a SQLite file that is a
  database, a server that answers;
- `--metric`: one the task computes (`check_metric`, from `automl.metrics.metric_names`, once the labels
  are known: a score or classes);
- `--models`: known tiers, local model folders or hub ids (`automl.models.resolve_model`);
- a model folder: automl's `automl_model.json`, readable, with the files it needs (loading checks the
  weights themselves: `automl.models.load_model`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from advisor.errors import UserError

DRIVERS = {"postgresql": "psycopg[binary]", "mysql": "pymysql", "mariadb": "pymysql", "mssql": "pyodbc",
           "oracle": "oracledb"}
STORAGE_FIX = ("Give a database URL: sqlite:////absolute/path/study.db (one process), or "
               "postgresql://USER:PASSWORD@HOST:5432/DB for several workers (`bash scripts/postgres.sh` starts one here).")
CONNECT_TIMEOUT_S = 5
SQLITE_MAGIC = b"SQLite format 3\x00"


def check_file(path: Path | None, flag: str) -> None:
    """A file to read: there, a file, readable and not empty."""
    if path is None:
        return
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"{flag} {path}: no such file.", "Check the path (relative paths start from the current folder).")
    if path.is_dir():
        raise UserError(f"{flag} {path}: a folder, not a file.", f"Give a file inside it as {flag}.")
    if not os.access(path, os.R_OK):
        raise UserError(f"{flag} {path}: not readable (permission denied).", f"Give a file you can read, or chmod +r {path}.")
    if path.stat().st_size == 0:
        raise UserError(f"{flag} {path}: the file is empty.", f"Give {flag} a file with rows.")


def check_folder(path: Path, flag: str) -> None:
    """A folder to write into: not a file, and it or its nearest existing parent writable."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path}: a file is there, and {flag} is a folder.",
                        f"Give a folder (a new path, or an existing folder) as {flag}.")
    _writable_parent(path, flag)


def check_output_file(path: Path | None, flag: str) -> None:
    """A file to write: its folder exists (nothing is made where the user did not ask), it is no folder."""
    if path is None:
        return
    path = Path(path).expanduser()
    if path.is_dir():
        raise UserError(f"{flag} {path}: a folder, and {flag} is a file.", f"Give a file path, e.g. {path / 'predictions.tsv'}.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{flag} {path}: the folder {parent} does not exist.", f"Create it first (mkdir -p {parent}), or give a path in a folder that exists.")
    if not os.access(parent, os.W_OK):
        raise UserError(f"{flag} {path}: cannot write in {parent} (permission denied).", "Give a path in a folder you can write to.")


def _writable_parent(path: Path, flag: str) -> None:
    probe = path.resolve()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"{flag} {path}: {probe} is a file, so no folder can be made under it.", f"Give {flag} a path under a folder.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: cannot write in {probe} (permission denied).", f"Give {flag} a folder you can write to.")


def check_storage(url: str | None, flag: str = "--storage") -> None:
    """A storage URL Optuna can open: parsed, its driver installed, its SQLite file a database, its server up."""
    if url is None:
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise UserError(f"{flag}: cannot open storage {url!r}: not a database URL.", STORAGE_FIX) from None
    backend = parsed.get_backend_name()
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise UserError(f"{flag}: cannot open storage {url!r}: {parsed.drivername!r} is no database SQLAlchemy knows.", STORAGE_FIX) from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        package = DRIVERS.get(backend, parsed.get_driver_name())
        raise UserError(f"{flag}: cannot open storage {url!r}: the {backend} driver {parsed.get_driver_name()!r} is not installed ({exc}).",
                        f"pip install '{package}' (for PostgreSQL, postgresql:// uses psycopg 3), or use sqlite:////path/study.db.") from None
    if backend == "sqlite":
        _check_sqlite_file(parsed.database, url, flag)
        return
    _check_reachable(parsed, url, flag)


def _check_sqlite_file(database: str | None, url: str, flag: str) -> None:
    if not database or database == ":memory:":
        return
    path = Path(database)
    if not path.parent.is_dir():
        raise UserError(f"{flag}: the folder {path.parent} does not exist.", "Create it, or give a path in a folder that exists.")
    if path.is_dir():
        raise UserError(f"{flag}: cannot open storage {url}: {path} is a folder, not a database file.", f"Give a file path, e.g. sqlite:///{path / 'study.db'}.")
    if path.is_file() and path.stat().st_size:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
        if head != SQLITE_MAGIC:
            raise UserError(f"{flag}: cannot open storage {url}: {path} is not a SQLite database; opening it as one would fail (or damage it).",
                            "Give a new file name (the study is created there) or the study.db of an earlier run.")


def _check_reachable(parsed: Any, url: str, flag: str) -> None:
    from sqlalchemy import create_engine, text

    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if parsed.get_backend_name() in ("postgresql", "mysql", "mariadb") else {}
    try:
        engine = create_engine(parsed, connect_args=connect_args, poolclass=_null_pool())
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # refused, unknown host, bad password, no such database: many driver types
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        raise UserError(f"{flag}: cannot open storage {parsed.render_as_string(hide_password=True)}: cannot connect: {first}",
                        "Start the database server, or check the URL's host, port, user, password and database. "
                        + STORAGE_FIX) from None


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


def check_metric(metric: str | None, task: str, regression: bool | None = None, tag_types: Iterable[str] = (),
                 origin: str = "--metric") -> None:
    if metric is None:
        return
    from automl.metrics import metric_names  # its table beside the code computing them; imports no torch

    tag_types = list(tag_types)
    known = metric_names(task, regression, tag_types)
    if known is None or metric in known:
        return
    if "/" in metric and not tag_types and metric.split("/")[0] in ("precision", "recall", "f1"):
        from presets.catalog import task as task_type

        if task_type(task).is_tagging:
            return  # an entity type's score (f1/LOC): the types are known once the data is read
    from presets.catalog import did_you_mean

    what = "a similarity score" if regression else task
    raise UserError(f"{origin} {metric!r}: not a metric automl computes for {what}.{did_you_mean(metric, list(known))}",
                    f"Use one of: {', '.join(known)}.")


def check_model_folder(path: Path, flag: str) -> None:
    """A folder automl saved a model in: automl_model.json there and readable. The weights are checked by
    `automl.models.load_model`, which turns a missing or cut file into the same kind of message."""
    from automl.models import MODEL_JSON

    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"{flag} {path}: no such folder.", "Give the folder `automl run` saved a model in (its --out/models/trial-N).")
    if not path.is_dir():
        raise UserError(f"{flag} {path}: a file, not a model folder.", "Give the folder that holds it (the one with automl_model.json).")
    meta = path / MODEL_JSON
    if not meta.is_file():
        return  # load_model says what it is not (it names the file it looks for)
    try:
        json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{meta}: unreadable ({type(exc).__name__}): the model folder is damaged or cut short.",
                        "Copy the whole folder again from the run's --out/models, or retrain it.") from None


def check_models(names: list[str] | None) -> None:
    """--models: every name a tier, a local model folder or a hub id, before any data is read."""
    if not names:
        return
    from automl.models import resolve_model

    for name in names:
        resolve_model(name)


def check_run(options: Any) -> None:
    """`automl run`: every option checked before data loading and probing (automl.run.RunOptions)."""
    for flag in ("data", "dev", "test", "answers"):
        check_file(getattr(options, flag), f"--{flag}")
    check_folder(options.out, "--out")
    check_storage(options.storage)
    if options.answers is not None:  # its syntax now; its values once the data says what they complete
        from advisor.answers import load_answers

        load_answers(options.answers)
    if options.task is not None:
        from presets.catalog import tasks

        if options.task not in tasks():
            from presets.catalog import did_you_mean

            raise UserError(f"--task {options.task!r}: no such task.{did_you_mean(options.task, [str(t) for t in tasks()])}",
                            f"Use auto, or one of: {', '.join(tasks())}.")
        check_metric(options.metric, options.task)
    check_models(options.models)


def check_predict(model: Path, data: Path, output: Path | None) -> None:
    check_model_folder(model, "--model")
    check_file(data, "--data")
    check_output_file(output, "--output")


def check_distill(options: Any) -> None:
    """`automl distill` (automl.distill.run.DistillOptions), before the teacher loads."""
    check_model_folder(options.teacher, "--teacher")
    for flag in ("data", "dev", "test", "unlabeled"):
        check_file(getattr(options, flag), f"--{flag}")
    check_folder(options.out, "--out")


def check_curve(data: Path, dev: Path | None, model: str, out: Path) -> None:
    check_file(data, "--data")
    check_file(dev, "--dev")
    check_models([model])
    if out.suffix != ".json":
        check_folder(out, "--out")
    elif out.parent.is_dir():
        check_output_file(out, "--out")
    else:  # curve.json under a folder the command makes
        check_folder(out.parent, "--out")
