"""What a trial takes and gives back: `TrialConfig` in, `TrialResult` (with its `HistoryEntry` rows) out,
`DivergedError` when the learning rate blew the weights away."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

# report(dev_score, step) after each eval; an exception it raises (optuna.TrialPruned) ends the trial.
Report = Callable[[float, int], None]


@dataclass
class TrialConfig:
    """Hyperparameters and budget of one trial. Defaults are the common fine-tuning recipe."""

    learning_rate: float = 5e-5  # BERT's fine-tuning grid is {5e-5, 3e-5, 2e-5}; small data likes the top
    batch_size: int = 32  # BERT's {16, 32}; 32 x ~62 padded tokens keeps 2 CPU cores busy (field notes)
    epochs: float = 3.0  # BERT's {2, 3, 4}; fractions allowed (0.5 = half the data once)
    warmup_ratio: float = 0.1  # 10% of the steps, as in BERT and the HF examples
    weight_decay: float = 0.01  # AdamW's usual 0.01, not on biases and LayerNorm weights
    max_grad_norm: float = 1.0  # clip: one bad batch cannot blow the weights away
    seed: int = 42
    bf16: bool | Literal["auto"] = "auto"  # "auto": on with avx512_bf16/AMX or a bf16 GPU, checked against fp32
    bf16_tolerance: float = 0.1  # fall back to fp32 when the bf16 dev-batch loss is off by more than 10%
    log_steps: int | None = None  # None: from step_plan, the guide's log:eval:save = 10:100:1000 scaled
    eval_steps: int | None = None
    save_steps: int | None = None
    patience: int | None = 3  # evals without a better dev score before stopping; None: never stop early
    metric: str | None = None  # None: default_metric(task)
    device: str = "auto"  # "auto": cuda when available, else cpu
    # torch intra-op threads. "auto": the cores other processes leave free right now (available_threads).
    # Measured here, MiniLM with one of the 2 cores busy elsewhere: 2 threads 3.4 samples/s, 1 thread 12.1
    # (threads wait for each other at every op). None keeps the process setting.
    threads: int | Literal["auto"] | None = "auto"
    max_steps: int | None = None  # caps the steps the epochs imply
    time_budget_s: float | None = None  # stop cleanly before this, final eval included, keeping the best
    eval_batch_size: int | None = None  # None: 2 x batch_size (no gradients, twice the room)
    bucket_chunk_batches: int = 50  # sort by length within shuffled chunks of 50 batches
    divergence_factor: float = 1e3  # a loss 1000x the first step's has diverged, even if finite
    checkpoint_dir: Path | None = None  # write the best model here at save steps (atomically); None: never
    # A model's own optimizer where it has one (`configure_optimizer`): scratch nets update only the
    # embedding rows a batch touched (sparse gradients, LazyAdam). False: AdamW over everything.
    model_optimizer: bool = True


class HistoryEntry(NamedTuple):
    step: int
    train_loss: float  # mean since the previous entry
    dev_score: float | None  # at eval steps


@dataclass
class TrialResult:
    metric: str
    score: float  # best dev score
    metrics: dict[str, float]  # every dev metric at the best eval
    best_step: int
    steps: int
    epochs_done: float
    train_samples_per_s: float  # training steps only, evals excluded
    seconds: float  # the whole trial
    history: list[HistoryEntry] = field(default_factory=list)
    stopped: str = "completed"  # completed | early_stopping | time_budget
    bf16: bool = False  # what training ended up using
    bf16_check: dict[str, float] | None = None  # {"fp32_loss", "bf16_loss"} at the first eval
    padding_ratio: float = 1.0  # padded tokens / real tokens over the training batches
    plan: tuple[int, int, int] = (0, 0, 0)  # (log, eval, save) steps used
    device: str = "cpu"
    threads: int = 0  # torch intra-op threads the trial ran with


class DivergedError(RuntimeError):
    """The training loss became NaN/inf or exploded: this learning rate is too high for this model."""

    def __init__(self, step: int, loss: float, learning_rate: float) -> None:
        super().__init__(f"training diverged at step {step}: loss {loss:g} (learning rate {learning_rate:g}); "
                         "lower the learning rate")
        self.step = step
        self.loss = loss
        self.learning_rate = learning_rate
