"""A data-parallel trial (DDP) as the training loop sees it: one `Group` of processes that train the same
model on different batches, their gradients averaged by `DistributedDataParallel` at every step.

Rank 0 leads: it alone evaluates dev, keeps the score, reports to Optuna and saves. Every choice that ends
or changes the loop is rank 0's and goes to the others in a collective, so all ranks take the same number
of steps and leave the trial at the same step: the eval decision (go on, stop early, or leave: pruned or
failed at eval), whether its weights are the new best (every rank keeps the same snapshot, so all end on
the same weights), bf16 after its check, and the time budget. The training loss is averaged over the ranks
at each step, so divergence is seen by all at once.

The process group itself (init, teardown, torchrun's environment) is automl/distributed.py's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import torch

from automl.training.config import TrialConfig
from automl.training.device import resolve_device


class TrialLeft(Exception):
    """On a follower: rank 0 left the trial at an eval (pruned, or its eval failed); leave it too."""


class GroupBroken(BaseException):
    """A rank failed inside a step (or its peer died there), where the others wait in a collective that
    will never complete: the group cannot go on, and this process must end (torchrun then ends the other
    ranks). A BaseException, as KeyboardInterrupt is, so that nothing handles it as a trial's own error: the
    Optuna trial is left running, as when its process is killed, and the same command retries it with
    its parameters (automl/workers.py)."""


@dataclass
class Group:
    rank: int
    world: int
    local_rank: int
    local_world: int
    backend: str  # "gloo" (CPU) or "nccl" (CUDA)
    broken: bool = False  # a rank failed mid-step: no further collective may be started
    released: bool = False  # rank 0 told the followers that the sweep is over

    @property
    def leader(self) -> bool:
        return self.rank == 0

    @property
    def comm_device(self) -> torch.device:
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")

    def adapt(self, config: TrialConfig) -> TrialConfig:
        """The trial's config on this rank: its own GPU; on a CPU an equal share of the cores; on NCCL
        dense gradients (DDP's sparse all-reduce of embedding rows is a Gloo feature)."""
        device = resolve_device(config.device)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", self.local_rank)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        threads = config.threads if device.type == "cuda" else max(1, cores // self.local_world)
        return replace(config, device=str(device), threads=threads,
                       model_optimizer=config.model_optimizer and self.backend == "gloo")

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """DDP around the model (after its optimizer chose sparse or dense embeddings: DDP reads that
        when it is built). Its constructor copies rank 0's weights to all ranks. Unused parameters are
        looked for: some models skip a head on some batches."""
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        with self.collective("DistributedDataParallel"):  # it checks shapes and copies weights: collectives
            return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)

    def shard_size(self, n: int) -> int:
        """Training examples one rank sees an epoch: the loop's schedule counts steps from it."""
        return -(-n // self.world)

    def shard(self, batches: list[list[int]]) -> list[list[int]]:
        """This rank's batches of an epoch (all ranks draw the same batches from the same seed): every
        world-th one, the list first padded by repeating its start to a multiple of the world size, as
        DistributedSampler pads, so every rank takes the same number of steps."""
        if not batches:
            return batches
        total = -(-len(batches) // self.world) * self.world
        padded = [batches[i % len(batches)] for i in range(total)]
        return padded[self.rank::self.world]

    def mean(self, value: float) -> float:
        import torch.distributed as dist

        tensor = torch.tensor([value], dtype=torch.float64, device=self.comm_device)
        with self.collective("all_reduce"):
            dist.all_reduce(tensor)
        return float(tensor.item()) / self.world

    def leader_says(self, flag: bool) -> bool:
        """Rank 0's flag, on every rank."""
        import torch.distributed as dist

        tensor = torch.tensor([int(flag)], dtype=torch.int32, device=self.comm_device)
        with self.collective("broadcast"):
            dist.broadcast(tensor, 0)
        return bool(tensor.item())

    def share(self, obj: Any) -> Any:
        """Rank 0's object (any picklable value), on every rank; the others pass None."""
        import torch.distributed as dist

        box = [obj if self.leader else None]
        with self.collective("broadcast_object_list"):
            dist.broadcast_object_list(box, 0, device=self.comm_device)
        return box[0]

    @contextmanager
    def collective(self, name: str) -> Iterator[None]:
        """A collective that fails (a peer died: Gloo's "connection closed") breaks the group."""
        try:
            yield
        except RuntimeError as exc:
            self.broken = True
            raise GroupBroken(f"rank {self.rank}: {name} failed, a rank is gone: {exc}") from exc


@dataclass(frozen=True)
class EvalDecision:
    """What rank 0 tells the others after each eval."""

    kept: bool  # the weights are the new best: snapshot them
    use_bf16: bool  # train on in bf16 (rank 0's bf16 check may have turned it off)
    action: str  # "" go on, "stop" (early stopping), "leave" (pruned, or the eval failed)
