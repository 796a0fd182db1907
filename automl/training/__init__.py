"""Fine-tune trials: one module a concept, so lower modules import only the leaf they need.

- `config`: `TrialConfig` in, `TrialResult` / `HistoryEntry` out, `DivergedError`.
- `loop`: `run_trial` and its `TrialState` (train a batch, evaluate, log, save).
- `inference`: `predict`, `predict_logits`, dev metrics, the bf16 check (batched by length, no gradients).
- `batching`: length-bucketed training batches. `step_plan` (log / eval / save steps) is the advice's own
  (advisor/steps.py, TIME-7), so trials use the steps the advisor recommends.
- `optimizer`: `trial_optimizer`, the warmup + linear schedule, the clipped parameters.
- `precision`: bf16 availability and autocast.  `device`: device, threads, the trial's seeded random state.
- `checkpoint`: the best weights written atomically.
- `ddp`: a data-parallel trial's process `Group` (DDP wrap, batch shards, rank 0's decisions to the others).
"""

from advisor.steps import step_plan
from automl.training.batching import bucketed_batches
from automl.training.config import DivergedError, HistoryEntry, Report, TrialConfig, TrialResult
from automl.training.device import available_threads, resolve_device, resolve_threads
from automl.training.inference import predict, predict_logits
from automl.training.loop import run_trial
from automl.training.optimizer import trial_optimizer
from automl.training.precision import autocast, bf16_available, wants_bf16

__all__ = [
    "DivergedError",
    "HistoryEntry",
    "Report",
    "TrialConfig",
    "TrialResult",
    "autocast",
    "available_threads",
    "bf16_available",
    "bucketed_batches",
    "predict",
    "predict_logits",
    "resolve_device",
    "resolve_threads",
    "run_trial",
    "step_plan",
    "trial_optimizer",
    "wants_bf16",
]
