"""Cross-validated Twitter NER model distillation: the must-show of benchmarks/distill_must_show.py,
measured on every sentence instead of one 228-sentence test split (131 entities: one entity moves F1 by
~0.4 points, and single runs of the same recipe spread over 0.41-0.48).

The deduplicated Twitter NER (train + dev + test of the demo set) is cut into --folds seeded folds. For each
fold: test = the fold, dev = 10% of the rest, train = the remainder; MiniLM-L6 is fine-tuned on train
(the teacher), then `automl distill` runs once per student arm (the same settings, --arms of them, e.g.
with and without embedding-neighbour augmentation), the first arm with the baseline (the same cut
fine-tuned on the truth alone). Entity counts are pooled over the folds: pooled F1 = 2 TP / (predicted + gold),
so every sentence counts once as test. The speed-up is each arm's median over the folds, both models in fp32.

    python benchmarks/distill_ner_cv.py --work runs/ner_cv --folds 5              # all folds, then the summary
    python benchmarks/distill_ner_cv.py --work runs/ner_cv --only 0,2,4 &         # two processes, one core each
    python benchmarks/distill_ner_cv.py --work runs/ner_cv --only 1,3 ; wait; python benchmarks/distill_ner_cv.py --work runs/ner_cv

Finished folds are reused (their report.json files): delete the folder to measure again.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]  # the repo, its benchmarks
from distill_must_show import automl_distill, finetune_minilm  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
console = Console()
METRIC = "entity_f1"


def conll_sentences(path: Path) -> list[str]:
    return [block.strip("\n") for block in path.read_text(encoding="utf-8").split("\n\n") if block.strip()]


def write_folds(files: dict[str, Path], work: Path, folds: int, seed: int) -> list[dict[str, Path]]:
    """One train/dev/test triple of CoNLL files per fold, over all sentences of the three splits."""
    sentences = [s for split in ("train", "dev", "test") for s in conll_sentences(files[split])]
    random.Random(seed).shuffle(sentences)
    out = []
    for k in range(folds):
        test = sentences[k::folds]
        rest = [s for i, s in enumerate(sentences) if i % folds != k]
        n_dev = len(rest) // 10
        parts = {"train": rest[n_dev:], "dev": rest[:n_dev], "test": test}
        folder = work / f"fold{k}" / "data"
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, rows in parts.items():
            paths[name] = folder / f"{name}.conll"
            text = "\n\n".join(rows) + "\n"
            if not paths[name].exists() or paths[name].read_text(encoding="utf-8") != text:
                # atomically: a second process started side by side may be reading this fold already
                tmp = paths[name].with_suffix(f".tmp{os.getpid()}")
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(paths[name])
        out.append(paths)
    return out


def counts(test: dict[str, float]) -> tuple[float, float, float]:
    """(true positives, predicted, gold) entities from a report's precision, recall and per-type support."""
    gold = sum(v for k, v in test.items() if k.startswith("support/"))
    tp = test["entity_recall"] * gold
    if tp == 0:  # precision 0/x and 0/0 look alike: the predicted count is lost
        raise ValueError("a fold with no correct entity: its predicted count cannot be recovered from the report")
    return tp, tp / test["entity_precision"], gold


def pooled_f1(tests: list[dict[str, float]]) -> float:
    tp, predicted, gold = (sum(c) for c in zip(*(counts(t) for t in tests), strict=True))
    return 2 * tp / (predicted + gold) if predicted + gold else 0.0


def speedup(report: dict[str, Any]) -> float:
    q = report["ratios"]
    return float(q["speedup_fp32_batch_1"] if q.get("speedup_fp32_batch_1") is not None else q["speedup_batch_1"])


def arm_dir(work: Path, k: int, arm: str) -> Path:
    return work / f"fold{k}" / f"distill_nb{float(arm):g}"


def run_fold(k: int, paths: dict[str, Path], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    folder = args.work / f"fold{k}"
    teacher = finetune_minilm(paths, folder / "teacher", args.teacher_epochs, args.teacher_lr, args.max_length)
    reports = {}
    for i, arm in enumerate(args.arms):
        rate = float(arm)
        console.print(f"[bold]fold {k}[/], arm neighbour-rate {rate:g}")
        reports[arm] = automl_distill(
            arm_dir(args.work, k, arm), teacher=teacher, data=paths["train"], dev=paths["dev"], test=paths["test"],
            method="model", student=args.student, trials=args.trials, epochs=args.student_epochs,
            td1_epochs=args.td1_epochs, budget_minutes=None, threads=1, model_augment=True,
            augment={"copies": args.copies, "pos_rate": 0.0, "neighbour_rate": rate}, baseline=i == 0)
    return reports


def summary(results: dict[int, dict[str, dict[str, Any]]], arms: list[str]) -> None:
    first = arms[0]
    table = Table(title=f"Twitter NER, {len(results)} folds: test {METRIC} per fold (every sentence a test once)")
    for column in ["fold", "test sentences", "teacher", *[f"student nb {a}" for a in arms], "baseline"]:
        table.add_column(column, justify="right")
    for k, reports in sorted(results.items()):
        base = reports[first]
        table.add_row(str(k), str(base["data"]["test"]), f"{base['teacher']['test'][METRIC]:.4f}",
                      *[f"{reports[a]['student']['test'][METRIC]:.4f}" for a in arms],
                      f"{base['baseline']['test'][METRIC]:.4f}")
    console.print(table)
    folds = sorted(results)
    teacher = pooled_f1([results[k][first]["teacher"]["test"] for k in folds])
    baseline = pooled_f1([results[k][first]["baseline"]["test"] for k in folds])
    console.print(f"pooled over {sum(results[k][first]['data']['test'] for k in folds):,} test sentences: "
                  f"teacher {teacher:.4f}, baseline {baseline:.4f} ({baseline / teacher:.1%} of the teacher)")
    for arm in arms:
        student = pooled_f1([results[k][arm]["student"]["test"] for k in folds])
        kept = [results[k][arm]["student"]["test"][METRIC] / results[k][arm]["teacher"]["test"][METRIC] for k in folds]
        beats = sum(results[k][arm]["student"]["test"][METRIC] > results[k][first]["baseline"]["test"][METRIC]
                    for k in folds)
        speed = statistics.median(speedup(results[k][arm]) for k in folds)
        spread = f" (sd {statistics.stdev(kept):.1%})" if len(kept) > 1 else ""
        console.print(f"  student, neighbour rate {arm}: pooled {student:.4f} = [bold]{student / teacher:.1%}[/] of the "
                      f"teacher; per fold kept {statistics.mean(kept):.1%} on average{spread}; beats the baseline in "
                      f"{beats} of {len(folds)} folds; speed-up at batch 1 (fp32) {speed:.2f}x (median)")
        for what, ok in ((">= 95% of the teacher (pooled)", student / teacher >= 0.95),
                         (">= 2x at batch 1", speed >= 2.0),
                         ("beats the baseline (pooled)", student > baseline)):
            console.print(f"    {'PASS' if ok else 'FAIL'}  {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("runs/ner_cv"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only", default=None, help="run these folds (e.g. 0,2,4); default all; then summarize")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--student", default="layers:0,5")
    parser.add_argument("--arms", default="0,0.4", help="neighbour rates, one student sweep each; the first one "
                                                         "also runs the baseline")
    parser.add_argument("--copies", type=int, default=8, help="augmented copies the teacher labels")
    parser.add_argument("--trials", type=int, default=1, help="trials per sweep (1: the presets' defaults)")
    parser.add_argument("--student-epochs", type=int, default=12)
    parser.add_argument("--td1-epochs", type=float, default=1.0)
    parser.add_argument("--teacher-epochs", type=int, default=6)
    parser.add_argument("--teacher-lr", type=float, default=1.5e-4)
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()
    args.arms = args.arms.split(",")

    from automl.demo_data import write_demo_data

    files = write_demo_data(args.work / "demo", only=["twitter_ner"])["twitter_ner"].files
    all_paths = write_folds(files, args.work, args.folds, args.seed)
    chosen = sorted({int(k) for k in args.only.split(",")}) if args.only else list(range(args.folds))
    if any(not 0 <= k < args.folds for k in chosen):
        parser.error(f"--only takes fold numbers from 0 to {args.folds - 1}")
    results = {k: run_fold(k, all_paths[k], args) for k in chosen}
    if args.only:  # the other folds, where another process has finished them
        for k in range(args.folds):
            done = [arm_dir(args.work, k, a) / "report.json" for a in args.arms]
            if k not in results and all(path.exists() for path in done):
                results[k] = {a: json.loads(path.read_text(encoding="utf-8")) for a, path in zip(args.arms, done, strict=True)}
    summary(results, args.arms)


if __name__ == "__main__":
    main()
