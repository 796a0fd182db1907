"""Cross-validated Twitter NER model distillation: the must-show of benchmarks/distill_must_show.py,
measured on every sentence instead of one 228-sentence test split (131 entities: one entity moves F1 by
~0.4 points, and single runs of the same recipe spread over 0.41-0.48).

The deduplicated Twitter NER (train + dev + test of the demo set) is cut into --folds seeded folds. For each
fold: test = the fold, dev = 10% of the rest, train = the remainder; MiniLM-L6 is fine-tuned on train
(the teacher), then `automl distill` runs once per student arm (the same settings, --arms of them, e.g.
with and without embedding-neighbour augmentation), the first arm with the baseline (the same cut
fine-tuned on the truth alone). Entity counts are pooled over the folds: pooled F1 = 2 TP / (predicted + gold),
so every sentence counts once as test. The speed-up is each arm's median over the folds, both models in fp32;
folds timed while another process trains are noisy, so --remeasure re-times every fold alone afterwards.

An arm is a neighbour rate (`--neighbour-rate`), and `+unlabeled` adds --unlabeled text for the teacher
to label (a transfer set: `benchmarks/english_transfer_text.py` writes English news and Wikipedia sentences).

    python benchmarks/distill_ner_cv.py --work runs/ner_cv --folds 5              # all folds, then the summary
    python benchmarks/distill_ner_cv.py --work runs/ner_cv --only 0,2,4 &         # two processes, one core each
    python benchmarks/distill_ner_cv.py --work runs/ner_cv --only 1,3 ; wait
    python benchmarks/distill_ner_cv.py --work runs/ner_cv --remeasure            # the summary, speed re-timed alone

Finished folds are reused (their report.json files): delete the folder to measure again.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
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
DEFAULT_STUDENT = "layers:0,5"


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
    """(correct, predicted, gold) entities of one test report."""
    return test["entities_correct"], test["entities_predicted"], test["entities_gold"]


def pooled_f1(tests: list[dict[str, float]]) -> float:
    tp, predicted, gold = (sum(c) for c in zip(*(counts(t) for t in tests), strict=True))
    return 2 * tp / (predicted + gold) if predicted + gold else 0.0


def speedup(report: dict[str, Any]) -> float:
    if "quiet_speedup" in report:
        return float(report["quiet_speedup"]["batch_1"])
    q = report["ratios"]
    return float(q["speedup_fp32_batch_1"] if q.get("speedup_fp32_batch_1") is not None else q["speedup_batch_1"])


def parse_arm(arm: str) -> tuple[float, bool]:
    """"0.4" -> (0.4, False): a neighbour rate; "0.4+unlabeled" -> (0.4, True): --unlabeled text joins it."""
    rate, plus, extra = arm.partition("+")
    if plus and extra != "unlabeled":
        raise ValueError(f"an arm is a neighbour rate, optionally +unlabeled, but got {arm!r}")
    return float(rate), bool(plus)


def arm_dir(work: Path, k: int, arm: str, student: str = DEFAULT_STUDENT) -> Path:
    """fold<k>/distill_nb<rate>[_ul], with the student spec in the name when it is not the default."""
    rate, unlabeled = parse_arm(arm)
    cut = "" if student == DEFAULT_STUDENT else "_" + re.sub(r"[^0-9a-z]+", "-", student.lower())
    return work / f"fold{k}" / f"distill{cut}_nb{rate:g}{'_ul' if unlabeled else ''}"


def run_fold(k: int, paths: dict[str, Path], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    folder = args.work / f"fold{k}"
    teacher = finetune_minilm(paths, folder / "teacher", args.teacher_epochs, args.teacher_lr, args.max_length)
    reports = {}
    for i, arm in enumerate(args.arms):
        rate, unlabeled = parse_arm(arm)
        console.print(f"[bold]fold {k}[/], arm {arm}")
        reports[arm] = automl_distill(
            arm_dir(args.work, k, arm, args.student), teacher=teacher, data=paths["train"], dev=paths["dev"], test=paths["test"],
            unlabeled=args.unlabeled if unlabeled else None, method="model", student=args.student,
            trials=args.trials, epochs=args.student_epochs, td1_epochs=args.td1_epochs, budget_minutes=None,
            threads=1, model_augment=True, augment={"copies": args.copies, "pos_rate": 0.0, "neighbour_rate": rate},
            baseline=i == 0)
    return reports


def remeasure(work: Path, k: int, arms: list[str], student: str, paths: dict[str, Path], rounds: int = 3,
              seconds: float = 2.0) -> dict[str, dict[str, float]]:
    """Each arm's speed-up re-timed on a quiet machine: the fold's teacher and the arm's student alternately,
    `rounds` times each, both fp32, one thread; the median of the per-round ratios at batch 1 and 32."""
    from automl.models import load_model
    from automl.serving import measure_qps
    from automl.splits import load_splits

    test = load_splits(paths["train"], paths["dev"], paths["test"], "ABS-6", 13).test
    teacher = load_model(work / f"fold{k}" / "teacher")
    out = {}
    for arm in arms:
        model = load_model(arm_dir(work, k, arm, student) / "student")
        ratios: dict[str, list[float]] = {"batch_1": [], "batch_32": []}
        for _ in range(rounds):
            t, s = (measure_qps(m, test, batch_size=32, seconds=seconds, threads=1, bf16=False)
                    for m in (teacher, model))
            ratios["batch_1"].append(s["qps_batch1"] / t["qps_batch1"])
            ratios["batch_32"].append(s["qps_batch"] / t["qps_batch"])
        out[arm] = {b: statistics.median(r) for b, r in ratios.items()}
    return out


def summary(results: dict[int, dict[str, dict[str, Any]]], arms: list[str]) -> None:
    first = arms[0]
    table = Table(title=f"Twitter NER, {len(results)} folds: test {METRIC} per fold (every sentence a test once)")
    for column in ["fold", "test sentences", "teacher", *[f"student {a}" for a in arms], "baseline"]:
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
        console.print(f"  student, arm {arm}: pooled {student:.4f} = [bold]{student / teacher:.1%}[/] of the "
                      f"teacher; per fold kept {statistics.mean(kept):.1%} on average{spread}; beats the baseline in "
                      f"{beats} of {len(folds)} folds; speed-up at batch 1 (fp32) {speed:.2f}x (median, "
                      f"{'re-timed alone' if 'quiet_speedup' in results[folds[0]][arm] else 'timed in the run'})")
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
    parser.add_argument("--student", default=DEFAULT_STUDENT, help="the student spec of automl distill")
    parser.add_argument("--arms", default="0,0.4", help="one student sweep each: a neighbour rate, +unlabeled to "
                                                         "add --unlabeled (0.4+unlabeled); the first also runs the baseline")
    parser.add_argument("--unlabeled", type=Path, default=None, help="unlabeled sentences, one a line, tokens "
                        "split by spaces (benchmarks/english_transfer_text.py), for the +unlabeled arms")
    parser.add_argument("--copies", type=int, default=8, help="augmented copies the teacher labels")
    parser.add_argument("--trials", type=int, default=1, help="trials per sweep (1: the presets' defaults)")
    parser.add_argument("--student-epochs", type=int, default=12)
    parser.add_argument("--td1-epochs", type=float, default=1.0)
    parser.add_argument("--teacher-epochs", type=int, default=6)
    parser.add_argument("--teacher-lr", type=float, default=1.5e-4)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--remeasure", action="store_true", help="re-time every finished fold's speed-up alone "
                        "(run it with nothing else on the machine): the summary then uses these")
    args = parser.parse_args()
    args.arms = args.arms.split(",")
    try:
        wants_text = any(parse_arm(arm)[1] for arm in args.arms)
    except ValueError as exc:
        parser.error(str(exc))
    if wants_text and (args.unlabeled is None or not args.unlabeled.is_file()):
        parser.error("a +unlabeled arm needs --unlabeled FILE (python benchmarks/english_transfer_text.py writes one)")

    from automl.demo_data import write_demo_data

    files = write_demo_data(args.work / "demo", only=["twitter_ner"])["twitter_ner"].files
    all_paths = write_folds(files, args.work, args.folds, args.seed)
    chosen = sorted({int(k) for k in args.only.split(",")}) if args.only else list(range(args.folds))
    if any(not 0 <= k < args.folds for k in chosen):
        parser.error(f"--only takes fold numbers from 0 to {args.folds - 1}")
    results = {k: run_fold(k, all_paths[k], args) for k in chosen}
    if args.only:  # the other folds, where another process has finished them
        for k in range(args.folds):
            done = [arm_dir(args.work, k, a, args.student) / "report.json" for a in args.arms]
            if k not in results and all(path.exists() for path in done):
                results[k] = {a: json.loads(path.read_text(encoding="utf-8")) for a, path in zip(args.arms, done, strict=True)}
    if args.remeasure:
        for k, reports in sorted(results.items()):
            quiet = remeasure(args.work, k, args.arms, args.student, all_paths[k])
            for arm, report in reports.items():
                report["quiet_speedup"] = quiet[arm]
                console.print(f"fold {k} arm {arm}: quiet speed-up {report['quiet_speedup']['batch_1']:.2f}x at "
                              f"batch 1, {report['quiet_speedup']['batch_32']:.2f}x at 32 (fp32, 1 thread)")
    summary(results, args.arms)


if __name__ == "__main__":
    main()
