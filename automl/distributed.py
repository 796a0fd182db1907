"""Data-parallel trials: `torchrun --nproc-per-node N -m automl run ...` (or `automl run --nproc N`, which
starts torchrun itself) runs each trial of the sweep on N processes with DistributedDataParallel.

Rank 0 is the sweep: it alone reads the options' files, probes the batch size, opens the study, asks
Optuna for each trial, saves models and writes the report. The other ranks follow: rank 0 sends them the
training data once (`Setup`), then each trial's model and config (`TrialSpec`, the parameters Optuna
sampled), and `None` when the sweep is over; they build the same model from the same seed and train it
beside rank 0 (automl/training/ddp.py: each rank its share of the batches, rank 0's eval decisions).

`batch_size` is per process: N processes train on N x batch_size examples a step. The batch-size probe
runs on rank 0 alone, on its device, and so finds what fits one process.

A rank that fails mid-step leaves the others in a collective: the trial fails on rank 0, its process
exits, and torchrun ends the rest; the same command resumes the study (automl/sweep.py).
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch

from advisor.dataset import Example
from advisor.errors import UserError
from automl.models import ModelSpec, build_model
from automl.models.base import LabelSpace
from automl.training import DivergedError, TrialConfig, run_trial
from automl.training.ddp import Group, GroupBroken, TrialLeft

# Followers wait in a broadcast while rank 0 loads data, probes batch sizes and evaluates dev, which may
# take long on a big data set; torchrun ends every rank when one dies, so a long wait never outlives a crash.
WAIT = timedelta(hours=12)


@dataclass
class Setup:
    """What followers need from rank 0 once: the data its trials train and evaluate on."""

    labels: LabelSpace
    train: list[Example]
    dev: list[Example]
    language: str


@dataclass
class TrialSpec:
    """One trial as rank 0's Optuna trial sampled it: every rank builds and trains the same model."""

    number: int
    spec: ModelSpec
    max_length: int
    config: TrialConfig
    init_seed: int  # torch's seed for the model's initial weights


def launched() -> bool:
    """Whether torchrun (or another launcher with its environment) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init() -> Group:
    """This process's place in the group torchrun's environment describes (Gloo on CPU, NCCL on CUDA)."""
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"]))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        if torch.cuda.device_count() < local_world:  # NCCL refuses two ranks on one GPU
            raise UserError(f"{local_world} processes on this machine need a GPU each, but it has {torch.cuda.device_count()}.",
                            f"Give at most --nproc {torch.cuda.device_count()}, or train on the CPU with "
                            "CUDA_VISIBLE_DEVICES= (Gloo).")
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend, timeout=WAIT)
    return Group(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=local_rank, local_world=local_world,
                 backend=backend)


@contextmanager
def joined() -> Iterator[Group | None]:
    """The process group of a torchrun launch, torn down after; None for a single process, which runs
    exactly as without torchrun. On leaving, rank 0 releases followers still waiting for a trial."""
    if not launched():
        yield None
        return
    import torch.distributed as dist

    group = init()
    try:
        yield group
        release(group)
    except BaseException:
        # rank 0 failed between trials (a user error, a failed trial): let the followers end; after a
        # failure mid-step (group.broken) or with the followers gone, torchrun ends them
        with suppress(Exception):
            release(group)
        raise
    finally:
        dist.destroy_process_group()


def release(group: Group) -> None:
    """Rank 0: the sweep is over, the followers may exit (before rank 0's own last stage: test, QPS)."""
    if group.leader and not group.released and not group.broken:
        with suppress(GroupBroken):  # a follower died after the last trial: nothing is lost
            group.share(None)
        group.released = True


def follow(group: Group) -> int:
    """A follower rank: train every trial rank 0 sends until it sends None; returns the trials trained."""
    setup: Setup | None = None
    done = 0
    while (message := group.share(None)) is not None:
        if isinstance(message, Setup):
            setup = message
            continue
        assert isinstance(message, TrialSpec) and setup is not None, f"unexpected message {message!r}"
        torch.manual_seed(message.init_seed)
        model = build_model(message.spec, setup.labels, setup.train, message.max_length, setup.language)
        try:
            run_trial(message.config, model, setup.train, setup.dev, group=group)
        except (TrialLeft, DivergedError):  # rank 0 prunes it, or every rank saw the loss diverge
            pass
        done += 1
        del model
    return done


def launch(nproc: int, argv: Sequence[str]) -> int:
    """`automl run --nproc N ...`: the same command on N processes of this machine, as `torchrun --standalone`
    starts them (a free port, no rendezvous server), each without --nproc. Returns the exit code of the
    first rank that failed (2 for a user error, whose message that rank printed), else 0; torchrun's own
    summary of a failure, a traceback, is not printed."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    if launched():
        raise UserError("--nproc was given to a process that torchrun already started.",
                        "Use either `torchrun --nproc-per-node N -m automl run ...` or `automl run --nproc N ...`, not both.")
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=str(uuid.uuid4()),
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0)
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)  # this process only launches
    try:
        elastic_launch(config, sys.executable)("-m", "automl", *argv)
    except ChildFailedError as exc:
        rank, first = min(exc.failures.items(), key=lambda item: item[1].timestamp)
        if first.exitcode != 2:  # a user error said what it was; anything else gets a line here
            print(f"automl run --nproc {nproc}: rank {rank} failed with exit code {first.exitcode} "
                  "(its output is above); the other ranks were stopped.", file=sys.stderr)
        return first.exitcode if first.exitcode > 0 else 128 - first.exitcode  # a signal: 128 + its number
    return 0


def command_args(ctx: Any) -> list[str]:
    """The running CLI command (`run`, its typer/click context) and the options it was given, as a command
    line without --nproc: rebuilt from the parsed values, so it holds however the command was called."""
    args = [ctx.info_name or ""]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if param.name == "nproc" or value is None or value == param.default:
            continue
        if getattr(param, "is_flag", False):
            args.append(param.opts[0] if value else param.secondary_opts[0])
        else:
            args += [param.opts[0], str(value)]
    return args
