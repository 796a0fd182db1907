"""One fine-tune trial: config, model and data in, a `TrialResult` out, progress through callbacks.

`run_trial` is pure in the minGPT sense: no globals (torch's thread count and random state are set for the
trial and given back), nothing written unless `config.checkpoint_dir` is set; the one outside fact it reads
is how busy the CPU is, for `threads="auto"`. The Optuna adapter passes `report`, which may raise
`optuna.TrialPruned`; that propagates unchanged, after the model got its best weights back and with no
checkpoint left half-written.

The loop: length-bucketed batches with dynamic padding (the field notes' 2.08x over padding to
max_length), fused AdamW (one kernel over all parameters; a model's own `configure_optimizer` first:
sparse embedding rows with `LazyAdam`) with linear warmup then linear decay, bf16 autocast where the
hardware has it (1.47x on this CPU, losses equal to 1e-4), gradient clipping at 1.0, dev evaluation a few
times an epoch, early stopping, the best weights kept in memory and restored at the end. Transformers on a
CPU train with `byte_dropout` (one random byte a mask element) and an attention with fewer passes over
the attention map.

Data-parallel (`group`, automl/training/ddp.py): the model trains wrapped in DDP, each rank on its share of
the batches, `batch_size` per process; rank 0 evaluates and decides, the others follow its decisions.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from advisor.dataset import Example
from advisor.steps import step_plan
from automl.metrics import default_metric, higher_is_better
from automl.models.base import TaskModel
from automl.training.batching import bucketed_batches
from automl.training.checkpoint import State, save_best, snapshot
from automl.training.config import DivergedError, HistoryEntry, Report, TrialConfig, TrialResult
from automl.training.ddp import EvalDecision, Group, GroupBroken, TrialLeft
from automl.training.device import AutoThreads, resolve_device, to_device, trial_environment
from automl.training.inference import bf16_check, dev_metrics
from automl.training.optimizer import clipped_parameters, trial_optimizer, warmup_linear_schedule
from automl.training.precision import autocast, wants_bf16


def run_trial(config: TrialConfig, model: TaskModel, train: list[Example], dev: list[Example],
              report: Report | None = None, *, on_log: Callable[[HistoryEntry], None] | None = None,
              group: Group | None = None) -> TrialResult:
    """Fine-tune `model` on `train`, evaluate on `dev`, return the best dev score (weights restored to it).

    `report(score, step)` runs after each eval; an exception it raises (optuna.TrialPruned) propagates.
    `on_log(entry)` runs at each log or eval step. Raises DivergedError on a NaN/inf or exploding loss.
    With a `group` every rank calls this with the same config; a follower raises TrialLeft when rank 0
    left at an eval, and a rank that failed mid-step raises GroupBroken (the group cannot go on).
    """
    if not train or not dev:
        raise ValueError(f"run_trial needs training and dev examples, but got {len(train)=} and {len(dev)=}.")
    config = group.adapt(config) if group is not None else config
    trial = TrialState.start(config, model, train, dev, report, on_log, group)
    with trial_environment(config.threads, config.seed, trial.device):
        trial.result.device, trial.result.threads = str(trial.device), torch.get_num_threads()
        try:
            trial.run()
        except BaseException as exc:
            if group is None or trial.together:
                raise
            group.broken = True  # the others may wait in a collective
            if isinstance(exc, (KeyboardInterrupt, GroupBroken)):
                raise
            raise GroupBroken(f"rank {group.rank} failed mid-step: {type(exc).__name__}: {exc}") from exc
        finally:
            trial.best.restore(trial.model)
    return trial.finish()


@dataclass(frozen=True)
class Schedule:
    """When a trial logs, evaluates, saves and stops, in optimizer steps."""

    log: int
    eval: int
    save: int
    total: int

    @classmethod
    def of(cls, config: TrialConfig, num_train: int) -> Schedule:
        """The config's own steps where given, else `step_plan`'s; save = 10 x eval as in the guide."""
        plan = step_plan(num_train, config.batch_size, config.epochs)
        eval_steps = config.eval_steps or plan[1]
        log_steps = config.log_steps or (plan[0] if config.eval_steps is None else max(1, eval_steps // 10))
        steps_per_epoch = math.ceil(num_train / config.batch_size)
        total = config.max_steps or max(1, math.ceil(steps_per_epoch * config.epochs))
        return cls(log_steps, eval_steps, config.save_steps or eval_steps * 10, total)


@dataclass
class Throughput:
    """Training samples and time (evals excluded), and the padding the batches carried."""

    samples: int = 0
    seconds: float = 0.0
    padded: int = 0  # tokens including padding
    real: int = 0

    def add(self, batch_lengths: list[int], seconds: float) -> None:
        self.samples += len(batch_lengths)
        self.padded += max(batch_lengths) * len(batch_lengths)
        self.real += sum(batch_lengths)
        self.seconds += seconds


@dataclass
class Optimization:
    """The optimizer, its learning-rate schedule and gradient clipping: one `step(loss)` a batch."""

    optimizer: torch.optim.Optimizer
    lr_schedule: torch.optim.lr_scheduler.LambdaLR
    clipped: list[torch.nn.Parameter]
    max_grad_norm: float
    foreach: bool  # one norm kernel over all gradients (torch's default does that on CUDA only)

    @classmethod
    def of(cls, model: TaskModel, config: TrialConfig, total_steps: int, device: torch.device) -> Optimization:
        optimizer = trial_optimizer(model, config.learning_rate, config.weight_decay, config.model_optimizer)
        clipped = clipped_parameters(model)
        return cls(optimizer, warmup_linear_schedule(optimizer, total_steps, config.warmup_ratio), clipped,
                   config.max_grad_norm, device.type in ("cpu", "cuda"))

    def step(self, loss: torch.Tensor) -> None:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.clipped, self.max_grad_norm, foreach=self.foreach)
        self.optimizer.step()
        self.lr_schedule.step()
        self.optimizer.zero_grad(set_to_none=True)


@dataclass
class BestWeights:
    """The weights of the best dev score so far, kept in memory, and the evals since it was reached."""

    higher_is_better: bool
    state: State | None = None
    evals_since: int = 0

    def offer(self, model: TaskModel, score: float, best: float) -> bool:
        """Keep the model's weights if `score` beats `best` (or nothing is kept yet); True when kept."""
        if self.state is None or (score > best if self.higher_is_better else score < best):
            self.state = snapshot(model)
            self.evals_since = 0
            return True
        self.evals_since += 1
        return False

    def restore(self, model: TaskModel) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)


@dataclass
class TrialState:
    """What a trial's loop changes as it goes, with the loop's steps: train a batch, evaluate, log, save."""

    config: TrialConfig
    model: TaskModel
    train: list[Example]
    dev: list[Example]
    report: Report | None
    on_log: Callable[[HistoryEntry], None] | None
    device: torch.device
    schedule: Schedule
    optimization: Optimization
    best: BestWeights
    lengths: list[int]
    dev_lengths: list[int]
    use_bf16: bool
    result: TrialResult
    started: float
    rng: random.Random  # the batches' order
    group: Group | None  # data-parallel ranks (automl/training/ddp.py); None: this process alone
    trainer: torch.nn.Module  # what the training forward runs through: the model, or DDP around it
    together: bool = False  # an exception now leaves every rank's trial at the same point
    step: int = 0
    first_loss: float | None = None
    window: list[float] = field(default_factory=list)  # training losses since the last history entry
    throughput: Throughput = field(default_factory=Throughput)
    last_eval_step: int = -1
    last_eval_s: float = 0.0
    saved_step: int = -1
    next_save: int = 0
    auto_threads: AutoThreads | None = None  # threads="auto" on CPU: re-read at each eval

    @classmethod
    def start(cls, config: TrialConfig, model: TaskModel, train: list[Example], dev: list[Example],
              report: Report | None, on_log: Callable[[HistoryEntry], None] | None,
              group: Group | None = None) -> TrialState:
        """The model on its device with its optimizer and schedule; nothing trained yet."""
        started = time.perf_counter()
        device = resolve_device(config.device)
        metric = config.metric or default_metric(model.labels.task, model.labels)
        schedule = Schedule.of(config, len(train) if group is None else group.shard_size(len(train)))
        use_bf16 = wants_bf16(config.bf16, device, model.family)
        rng = random.Random(config.seed)
        model.to(device)
        optimization = Optimization.of(model, config, schedule.total, device)
        trainer = model if group is None else group.wrap(model, device)
        higher = higher_is_better(metric)
        result = TrialResult(metric=metric, score=-math.inf if higher else math.inf, metrics={}, best_step=0,
                             steps=0, epochs_done=0.0, train_samples_per_s=0.0, seconds=0.0,
                             plan=(schedule.log, schedule.eval, schedule.save))
        return cls(config=config, model=model, train=train, dev=dev, report=report, on_log=on_log, device=device,
                   schedule=schedule, optimization=optimization, best=BestWeights(higher),
                   lengths=[model.length(e) for e in train], dev_lengths=[model.length(e) for e in dev],
                   use_bf16=use_bf16, result=result, started=started, rng=rng, group=group, trainer=trainer,
                   next_save=schedule.save,
                   auto_threads=AutoThreads() if config.threads == "auto" and device.type == "cpu" and group is None else None)

    def run(self) -> None:
        """Epochs of bucketed batches until the steps, the patience or the time budget run out; then a
        last eval if the last step had none, and a last checkpoint."""
        stop = ""
        while not stop:
            batches = bucketed_batches(self.lengths, self.config.batch_size, self.rng, self.config.bucket_chunk_batches)
            for indices in batches if self.group is None else self.group.shard(batches):
                self.train_step(indices)
                stop = self.after_step()
                if stop:
                    break
        if self.last_eval_step != self.step:
            self.evaluate()
        if self.config.checkpoint_dir is not None and (self.group is None or self.group.leader):
            self.save_checkpoint()
        self.result.stopped = stop

    def train_step(self, indices: list[int]) -> None:
        """One optimizer step on the examples at `indices`; DivergedError on a NaN/inf or exploding loss."""
        config = self.config
        step_started = time.perf_counter()
        self.model.train()
        batch = to_device(self.model.collate([self.train[i] for i in indices]), self.device)
        with autocast(self.device, self.use_bf16):
            out = self.trainer(**batch)
        assert out.loss is not None, "a training batch must give a loss"
        value = float(out.loss.detach())
        if self.group is not None:  # the mean over the ranks: all see a divergence at the same step
            value = self.group.mean(value)
        if self.first_loss is None:
            self.first_loss = value
        if not math.isfinite(value) or value > config.divergence_factor * max(self.first_loss, 1e-3):
            self.together = self.group is not None
            raise DivergedError(self.step + 1, value, config.learning_rate)
        self.optimization.step(out.loss)
        self.step += 1
        self.window.append(value)
        self.throughput.add([self.lengths[i] for i in indices], time.perf_counter() - step_started)

    def after_step(self) -> str:
        """Evaluate or log when the schedule says so; the reason to stop, or "" to go on."""
        stop = ""
        if self.step % self.schedule.eval == 0 or self.step == self.schedule.total:
            if self.evaluate():
                stop = "early_stopping"
            if self.auto_threads is not None:
                self.auto_threads.update()
        elif self.step % self.schedule.log == 0:
            self.log(None)
        if self.step >= self.schedule.total:
            return stop or "completed"
        budget = self.config.time_budget_s
        if budget is not None and not stop:
            over = time.perf_counter() - self.started + self.last_eval_s >= budget
            if over if self.group is None else self.group.leader_says(over):
                return "time_budget"
        return stop

    def evaluate(self) -> bool:
        """Score dev, keep the best weights, save when due, report; True when early stopping says stop.
        In a group rank 0 does that and tells the others (`EvalDecision`), also when its eval raised."""
        if self.group is None:
            return self.score_dev()
        if not self.group.leader:
            return self.follow_eval()
        try:
            stop = self.score_dev()
        except BaseException:  # pruned by the report, or the eval failed: the followers leave with it
            self.group.share(EvalDecision(kept=self.kept_now(), use_bf16=self.use_bf16, action="leave"))
            self.together = True
            raise
        self.group.share(EvalDecision(kept=self.kept_now(), use_bf16=self.use_bf16, action="stop" if stop else ""))
        return stop

    def kept_now(self) -> bool:
        """Whether this step's eval made its weights the best (rank 0 restores them if it leaves now)."""
        return self.last_eval_step == self.step and self.result.best_step == self.step and self.best.evals_since == 0

    def follow_eval(self) -> bool:
        """A follower's eval: rank 0's decision, and the same best weights as rank 0 keeps."""
        assert self.group is not None
        decision: EvalDecision = self.group.share(None)
        self.last_eval_step, self.use_bf16 = self.step, decision.use_bf16
        if decision.kept:
            self.best.state, self.result.best_step = snapshot(self.model), self.step
        if decision.action == "leave":
            self.together = True
            raise TrialLeft(f"rank 0 left the trial at step {self.step}")
        self.log(None)  # the same history entries as rank 0, without the dev score
        return decision.action == "stop"

    def score_dev(self) -> bool:
        config, result = self.config, self.result
        eval_started = time.perf_counter()
        batch_size = config.eval_batch_size or 2 * config.batch_size
        if self.use_bf16 and result.bf16_check is None:
            result.bf16_check = bf16_check(self.model, self.dev, batch_size)
            fp32, bf16 = result.bf16_check["fp32_loss"], result.bf16_check["bf16_loss"]
            self.use_bf16 = abs(bf16 - fp32) <= config.bf16_tolerance * max(abs(fp32), 0.1)
        scores = dev_metrics(self.model, self.dev, batch_size, self.use_bf16, self.dev_lengths)
        if result.metric not in scores:
            raise ValueError(f"metric {result.metric!r} is not computed for {self.model.labels.task}; "
                             f"choose one of {sorted(scores)}.")
        score = scores[result.metric]
        self.last_eval_step = self.step
        if self.best.offer(self.model, score, result.score):
            result.score, result.metrics, result.best_step = score, scores, self.step
        self.log(score)
        if self.step >= self.next_save:  # save steps fall on evals: the guide's save = 10 x eval
            self.save_checkpoint()
            self.next_save = self.step + self.schedule.save
        self.last_eval_s = time.perf_counter() - eval_started
        if self.report is not None:
            self.report(score, self.step)
        return config.patience is not None and self.best.evals_since >= config.patience

    def log(self, score: float | None) -> None:
        """A history entry: the mean training loss since the last one, and the dev score at evals."""
        history = self.result.history
        if history and history[-1].step == self.step:  # an eval right after a log at this step
            entry = HistoryEntry(self.step, history[-1].train_loss, score)
            history[-1] = entry
        else:
            entry = HistoryEntry(self.step, sum(self.window) / len(self.window) if self.window else math.nan, score)
            history.append(entry)
            self.window.clear()
        if self.on_log is not None:
            self.on_log(entry)

    def save_checkpoint(self) -> None:
        """The best weights to config.checkpoint_dir, when they changed since the last save."""
        if self.config.checkpoint_dir is not None and self.result.best_step != self.saved_step:
            save_best(self.model, self.best.state, self.config.checkpoint_dir)
            self.saved_step = self.result.best_step

    def finish(self) -> TrialResult:
        """The result with the step, speed and padding totals filled in."""
        result, done = self.result, self.throughput
        world = 1 if self.group is None else self.group.world  # every rank trains on as many samples
        result.steps = self.step
        result.epochs_done = world * done.samples / len(self.train)
        result.train_samples_per_s = world * done.samples / done.seconds if done.seconds > 0 else 0.0
        result.seconds = time.perf_counter() - self.started
        result.bf16 = self.use_bf16
        result.padding_ratio = done.padded / done.real if done.real else 1.0
        return result
