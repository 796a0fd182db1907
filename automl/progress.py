"""Rich progress for a sweep: a bar over trials with ETA, and the current trial's latest dev score."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

REFRESH_S = 10.0  # while a trial runs, the study's count is read again at most this often (a database query)


class SweepProgress:
    """The bar counts the study's finished trials (complete or pruned), whichever worker ran them: with
    several workers on one study (automl/workers.py) it shows the study's total, not this worker's share."""

    def __init__(self, console: Console, total: int, done: int = 0, study: Any = None) -> None:
        self.progress = Progress(TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
                                 console=console, transient=False)
        self.total = total
        self.study = study
        self.counted_at = time.monotonic()
        self.task = self.progress.add_task("trials", total=max(total, done), completed=min(done, total), status="")

    def __enter__(self) -> SweepProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def count(self, study: Any) -> None:
        """Show the study's finished trials (other workers' included)."""
        from automl.sweep import finished

        self.study, self.counted_at = study, time.monotonic()
        done = finished(study)
        self.progress.update(self.task, total=max(self.total, done), completed=min(done, max(self.total, done)))

    def step(self, trial: int, message: str) -> None:
        self.progress.update(self.task, status=f"#{trial} {message}")
        if self.study is not None and time.monotonic() - self.counted_at >= REFRESH_S:
            self.count(self.study)

    def trial_done(self, study: Any, trial: Any) -> None:
        from automl.results import TrialRecord

        value = f"{trial.value:.4f}" if trial.value is not None else TrialRecord.from_trial(trial).reason
        self.count(study)
        self.progress.console.print(f"  trial {trial.number} {trial.params.get('model', '')} "
                                    f"lr={trial.params.get('learning_rate', 0):.2e} batch={trial.params.get('batch_size', '')}: "
                                    f"{trial.state.name.lower()} {value}")
