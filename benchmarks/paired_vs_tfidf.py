"""A saved classifier against char 1-3-gram TF-IDF + LR (automl's run baseline, same settings) on the same test
reviews, paired: where each is right and the other wrong, McNemar's statistic and the standard error of the
accuracy difference (paired, so smaller than either score's own).

    python benchmarks/paired_vs_tfidf.py --model runs/e5-reviews/models/trial-0 --data demo/reviews
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path("demo/reviews"), help="folder with train/dev/test.tsv")
    args = parser.parse_args()

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from automl.models import load_model
    from automl.splits import load_splits
    from automl.training.inference import predict

    s = load_splits(args.data / "train.tsv", args.data / "dev.tsv", args.data / "test.tsv", None, 13)
    train, test = list(s.train), list(s.test)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
    clf = LogisticRegression(C=10, max_iter=2000).fit(vectorizer.fit_transform([e.text for e in train]),
                                                      [e.label for e in train])
    tfidf = [str(p) for p in clf.predict(vectorizer.transform([e.text for e in test]))]
    model = [str(p) for p in predict(load_model(args.model), test, batch_size=64)]
    gold = [str(e.label) for e in test]
    n = len(gold)
    only_model = sum(p == g != q for p, q, g in zip(model, tfidf, gold, strict=True))
    only_tfidf = sum(q == g != p for p, q, g in zip(model, tfidf, gold, strict=True))
    diff = (only_model - only_tfidf) / n
    se = math.sqrt(only_model + only_tfidf - (only_model - only_tfidf) ** 2 / n) / n
    chi2 = (only_model - only_tfidf) ** 2 / max(1, only_model + only_tfidf)
    print(f"{n} test texts: model {sum(p == g for p, g in zip(model, gold, strict=True)) / n:.4f}, TF-IDF + LR "
          f"{sum(q == g for q, g in zip(tfidf, gold, strict=True)) / n:.4f}; difference {diff:+.4f} (paired "
          f"standard error {se:.4f}, {diff / se:.1f} of them); only the model right {only_model}, only TF-IDF "
          f"right {only_tfidf}; McNemar chi2 {chi2:.2f}")


if __name__ == "__main__":
    main()
