"""The `automl curve` command: a learning curve of the user's data, written to curve.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from advisor.cli import user_errors

console = Console()


@user_errors
def curve(
    data: Annotated[Path, typer.Option("--data", help="Training file in one of the guide's formats.")],
    dev: Annotated[Path | None, typer.Option(help="Dev file; without it a seeded 10% of train.")] = None,
    task: Annotated[str, typer.Option(help="auto, or an ABS id automl trains.")] = "auto",
    model: Annotated[str, typer.Option(help="The tier trained at each size; BOW is the quickest good one.")] = "bow",
    out: Annotated[Path, typer.Option(help="Folder (or .json path) for curve.json.")] = Path("runs/latest"),
    seed: Annotated[int, typer.Option(help="Seed for the split, the subsets and training.")] = 13,
    epochs: Annotated[int | None, typer.Option(min=1, help="Epochs at each size; default the family's.")] = None,
    threads: Annotated[int | None, typer.Option(min=1, help="Torch threads; default the cores free now.")] = None,
) -> None:
    """Train one tier on 10/20/40/80/100% of the rows, fit score = a - b*n^-c, say what doubling the labels buys."""
    from automl.curve.run import FRACTIONS, learning_curve, write_curve
    from automl.labels import label_space
    from automl.preflight import check_curve
    from automl.splits import load_splits

    check_curve(data, dev, model, out)
    splits = load_splits(data, dev, None, None if task == "auto" else task.upper(), seed)
    labels = label_space(splits.task, splits.train, splits.dev)
    console.print(f"[dim]{splits.task}, {len(splits.train):,} training rows, {len(splits.dev):,} dev rows; "
                  f"training {model} on {', '.join(f'{f:.0%}' for f in FRACTIONS)} of the rows[/]")
    result = learning_curve(splits.train, splits.dev, labels, splits.language, model=model, seed=seed,
                            epochs=epochs, threads=threads,
                            on_point=lambda p: console.print(f"  {p.rows:>7,} rows ({p.fraction:.0%}): dev {p.score:.4f}"))
    path = write_curve(result, out)
    console.print(result["summary"])
    check = result.get("check")
    if check:
        console.print(f"[dim]check: fitted on {', '.join(f'{f:.0%}' for f in check['from_fractions'])} only, the law "
                      f"predicts {check['predicted']:.4f} at {check['rows']:,} rows; measured {check['measured']:.4f}[/]")
    console.print(f"[green]wrote {path}[/]  (advisor recommend --curve {path} shows it in the data verdict)")
