"""What tests/automl/test_objective.py runs in a child process (never in pytest's own: the memory limit set
here stays for the life of the process). Not a test module itself.

    python tests/automl/objective_oom_child.py HEADROOM_MIB BATCH BATCH ...

A GRU over 600-character reviews, one trial per BATCH, each a real `run_trial` inside `automl.objective`,
after RLIMIT_AS is set to this process's size (after a warm-up trial of batch 2) plus HEADROOM_MIB. Prints one
JSON line: each trial's record, and the sizes (MiB over the size the cap was set on) each trial started at,
for the test's failure messages.
"""

from __future__ import annotations

import json
import resource
import sys

import optuna
import torch

from advisor.dataset import Example
from automl.labels import label_space
from automl.models import build_model, resolve_model
from automl.objective import objective
from automl.results import TrialRecord
from automl.training import TrialConfig, run_trial

ROWS = [Example(("这个很好用，推荐" if i % 2 else "质量太差，不推荐") * 75, label="pos" if i % 2 else "neg") for i in range(48)]


def train(batch: int) -> float:
    torch.manual_seed(0)
    model = build_model(resolve_model("gru"), label_space("ABS-1", ROWS), ROWS, 600, "zh")
    return run_trial(TrialConfig(learning_rate=1e-3, batch_size=batch, epochs=1), model, ROWS, ROWS[:8]).score


def virtual_bytes() -> int:  # VmSize: what RLIMIT_AS limits
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))


def main() -> None:
    headroom, batches = int(sys.argv[1]) * 2**20, [int(b) for b in sys.argv[2:]]
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    train(2)  # thread pools, kernels, the model's first allocations: before the limit
    base = virtual_bytes()
    cap = base + headroom
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    study = optuna.create_study(direction="maximize")
    starts: list[int] = []

    def body(trial: optuna.Trial, record: TrialRecord) -> float:
        starts.append((virtual_bytes() - base) // 2**20)
        return train(trial.suggest_int("batch_size", batches[trial.number], batches[trial.number]))

    study.optimize(objective(body), n_trials=len(batches))
    records = [TrialRecord.from_trial(t).model_dump(mode="json") for t in study.trials]
    print(json.dumps({"records": records, "base_mib": base // 2**20, "starts_mib": starts}))


if __name__ == "__main__":
    main()
