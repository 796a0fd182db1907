"""Rich progress for a sweep: a bar over trials with ETA, and the current trial's latest dev score."""

from __future__ import annotations

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


class SweepProgress:
    def __init__(self, console: Console, total: int, done: int = 0) -> None:
        self.progress = Progress(TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
                                 console=console, transient=False)
        self.task = self.progress.add_task("trials", total=max(total, done), completed=min(done, total), status="")

    def __enter__(self) -> SweepProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def step(self, trial: int, message: str) -> None:
        self.progress.update(self.task, status=f"#{trial} {message}")

    def trial_done(self, study: Any, trial: Any) -> None:
        from automl.results import TrialRecord

        value = f"{trial.value:.4f}" if trial.value is not None else TrialRecord.from_trial(trial).reason
        self.progress.advance(self.task)
        self.progress.console.print(f"  trial {trial.number} {trial.params.get('model', '')} "
                                    f"lr={trial.params.get('learning_rate', 0):.2e} batch={trial.params.get('batch_size', '')}: "
                                    f"{trial.state.name.lower()} {value}")
