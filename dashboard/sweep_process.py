"""A sweep started from the page: `automl run` as a process of its own session, so closing the page (or
stopping the dashboard) does not stop it. It logs to `<out>/sweep.log` and leaves `<out>/sweep.json`
(pid, command, start) for the page to find it again. No Streamlit here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from advisor.errors import UserError

LOG = "sweep.log"
STATE = "sweep.json"
TAIL_BYTES = 64 * 1024
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}  # started by this server: polled, so they are reaped


@dataclass
class Sweep:
    out: str
    pid: int
    command: list[str]
    started: float
    trials: int | None = None


def sweep_command(data: str, out: Path, *, dev: str | None = None, test: str | None = None,
                  answers: Path | None = None, models: list[str] | None = None, trials: int = 12,
                  budget_minutes: float | None = 20.0, epochs: int | None = None) -> list[str]:
    """The `automl run` command line (the CLI's own options; its defaults where none is given)."""
    cmd = [sys.executable, "-m", "automl.cli", "run", "--data", data, "--out", str(out), "--trials", str(trials)]
    for flag, value in (("--dev", dev), ("--test", test), ("--answers", answers),
                        ("--models", ",".join(models or []) or None), ("--budget-minutes", budget_minutes),
                        ("--epochs", epochs)):
        if value is not None:
            cmd += [flag, str(value)]
    return cmd


def trials_of(command: list[str]) -> int | None:
    return int(command[command.index("--trials") + 1]) if "--trials" in command else None


def start(command: list[str], out: Path) -> Sweep:
    """Start the command in a new session, appending to out/sweep.log; refuse while one runs there."""
    out.mkdir(parents=True, exist_ok=True)
    running = find(out)
    if running is not None and is_running(running):
        raise UserError(f"a sweep is already running in {out} (pid {running.pid}).",
                        "Wait for it, stop it, or choose another output folder.")
    with open(out / LOG, "ab") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "110"})
    _CHILDREN[proc.pid] = proc
    sweep = Sweep(out=str(out), pid=proc.pid, command=command, started=time.time(), trials=trials_of(command))
    (out / STATE).write_text(json.dumps(asdict(sweep), indent=2) + "\n", encoding="utf-8")
    return sweep


def find(out: Path) -> Sweep | None:
    """The last sweep started in `out` from the dashboard, if any."""
    try:
        return Sweep(**json.loads((out / STATE).read_text(encoding="utf-8")))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


def exit_code(sweep: Sweep) -> int | None:
    """The exit code, where this server started it and it has ended."""
    proc = _CHILDREN.get(sweep.pid)
    return proc.poll() if proc is not None else None


def is_running(sweep: Sweep) -> bool:
    proc = _CHILDREN.get(sweep.pid)
    if proc is not None:
        return proc.poll() is None
    try:  # started by an earlier server: alive, not a zombie, and still an automl process (pids are reused)
        stat = Path(f"/proc/{sweep.pid}/stat").read_text()
        cmdline = Path(f"/proc/{sweep.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z" and b"automl.cli" in cmdline


def stop(sweep: Sweep) -> None:
    """Ask the sweep's whole process group to stop (SIGINT: Optuna finishes the trial's bookkeeping)."""
    if is_running(sweep):
        os.killpg(sweep.pid, signal.SIGINT)


def tail(out: Path, lines: int = 40) -> str:
    """The last lines of out/sweep.log (rich's progress redraws with \\r: keep each line's last state)."""
    path = out / LOG
    if not path.is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - TAIL_BYTES))
        text = f.read().decode("utf-8", errors="replace")
    kept = [line.rsplit("\r", 1)[-1] for line in text.splitlines()]
    return "\n".join(kept[-lines:])
