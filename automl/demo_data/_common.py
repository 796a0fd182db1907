"""What every demo set shares: seeded dedup-then-split, file writing, provenance lines."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from advisor.errors import UserError

DEMO_SETS = ["reviews", "peoples_daily_ner", "inews", "twitter_ner", "peoples_daily_qa", "pd_relations"]
SPLITS = ("train", "dev", "test")
DEV_FRACTION = TEST_FRACTION = 0.1  # 80/10/10

T = TypeVar("T")


@dataclass
class DemoSet:
    """One written demo set: where its files are and how many examples each holds."""

    name: str
    task: str  # an ABS id
    language: str  # "zh" or "en"
    files: dict[str, Path]  # split -> file
    counts: dict[str, int]  # split -> examples (rows, or sentences for CoNLL)
    readme: Path | None = None
    notes: list[str] = field(default_factory=list)  # what processing did, in numbers




def package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            f"The demo data needs the package {package!r}, which is not installed.",
            fix=f"pip install {package.replace('_', '-')}",
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _package_line(dist: str, files: str) -> str:
    try:
        meta = importlib.metadata.metadata(dist)
        version = (meta.get_all("Version") or ["?"])[0]
        licence = (meta.get_all("License") or [""])[0]
        if not licence or licence == "UNKNOWN":
            classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
            licence = classifiers[0].rsplit("::", 1)[-1].strip() if classifiers else "not stated"
    except importlib.metadata.PackageNotFoundError:
        version, licence = "?", "not stated"
    return f"- Package: `{dist}` {version}, file(s) {files}\n- Licence (package metadata): {licence}\n"


_WS = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """One line of text: every run of whitespace (tabs, newlines, U+3000, U+2028 ...) becomes one space."""
    return _WS.sub(" ", text).strip()


def _order_key(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}\x00{key}".encode()).hexdigest()


def split_sizes(n: int) -> tuple[int, int, int]:
    """80/10/10 with dev and test rounded half up and train taking the rest: 17,361 -> 13,889/1,736/1,736."""
    n_dev, n_test = int(n * DEV_FRACTION + 0.5), int(n * TEST_FRACTION + 0.5)
    return n - n_dev - n_test, n_dev, n_test


def seeded_split(
    items: Sequence[T], key: Callable[[T], str], seed: int, stratify: Callable[[T], Hashable] | None = None
) -> dict[str, list[T]]:
    """80/10/10, each stratum cut on its own; order within a split is by sha256(seed, key)."""
    strata: dict[Hashable, list[T]] = {}
    for item in items:
        strata.setdefault(stratify(item) if stratify else None, []).append(item)
    out: dict[str, list[T]] = {s: [] for s in SPLITS}
    for group in strata.values():
        group = sorted(group, key=lambda it: _order_key(seed, key(it)))
        n_train, n_dev, _ = split_sizes(len(group))
        out["train"] += group[:n_train]
        out["dev"] += group[n_train : n_train + n_dev]
        out["test"] += group[n_train + n_dev :]
    return {s: sorted(v, key=lambda it: _order_key(seed, key(it))) for s, v in out.items()}


def dedupe(items: Iterable[tuple[str, T]]) -> tuple[list[tuple[str, T]], int, int]:
    """Keep the first copy of each key; drop every copy of a key whose copies disagree on the value.

    Returns (kept, exact duplicates removed, keys dropped for conflicting values).
    """
    seen: dict[str, T] = {}
    conflicting: set[str] = set()
    n = 0
    for k, v in items:
        n += 1
        if k in seen:
            if seen[k] != v:
                conflicting.add(k)
        else:
            seen[k] = v
    kept = [(k, v) for k, v in seen.items() if k not in conflicting]
    return kept, n - len(seen), len(conflicting)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == text.encode("utf-8"):
        return  # unchanged: keep the file (and its mtime) as it is
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    tmp.replace(path)


def _tsv(rows: Iterable[tuple[str, str]]) -> str:
    return "".join(f"{text}\t{label}\n" for text, label in rows)


def _conll(sentences: Iterable[tuple[Sequence[str], Sequence[str]]]) -> str:
    blocks = [
        "".join(f"{tok} {tag}\n" for tok, tag in zip(toks, tags, strict=True)) for toks, tags in sentences
    ]
    return "\n".join(blocks)


def _counts_table(splits: dict[str, list[tuple[str, str]]], labels: Sequence[str] = ()) -> str:
    head = "| split | examples |" + "".join(f" label {lab} |" for lab in labels)
    lines = [head, "|---|---|" + "---|" * len(labels)]
    for s in SPLITS:
        c = Counter(label for _, label in splits[s])
        lines.append(f"| {s} | {len(splits[s]):,} |" + "".join(f" {c[lab]:,} |" for lab in labels))
    return "\n".join(lines) + "\n"


def _finish(
    out_dir: Path,
    name: str,
    task: str,
    language: str,
    ext: str,
    texts: dict[str, str],
    counts: dict[str, int],
    readme: str,
    notes: list[str],
) -> DemoSet:
    folder = out_dir / name
    files = {s: folder / f"{s}.{ext}" for s in SPLITS}
    for s in SPLITS:
        _write(files[s], texts[s])
    _write(folder / "README.md", readme)
    return DemoSet(name, task, language, files, counts, folder / "README.md", notes)
