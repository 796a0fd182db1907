"""Unlabeled English sentences for `automl distill --unlabeled`, from a package registry (no data hub).

The transfer set a distilled student learns from should be large and unlabeled (the teacher labels it).
No English tweets ship offline here; gensim's wheel on PyPI carries English test corpora: the Lee news
corpus (350 Australian news articles) and 206 shortened English Wikipedia articles. This script fetches
that wheel with `pip download` (cached in --cache), strips the wiki markup, splits sentences and
tokens the way the Twitter NER is tokenized (words, numbers and punctuation apart), and writes one
sentence a line: all Lee sentences, then --wiki Wikipedia sentences drawn at random.

    python benchmarks/english_transfer_text.py --out runs/transfer.txt --wiki 6000
"""

from __future__ import annotations

import argparse
import bz2
import html
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

GENSIM = "gensim==4.3.3"
DATA = "gensim/test/test_data/"
LEE = ("lee_background.cor", "lee.cor")
WIKI = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
TOKEN = re.compile(r"[A-Za-z0-9]+(?:['.\-][A-Za-z0-9]+)*|'s|[^\sA-Za-z0-9]")
SENTENCE_END = re.compile(r'(?<=[.!?])\s+(?=[A-Z"])')


def gensim_wheel(cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob("gensim-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "--dest", str(cache), GENSIM], check=True)
        found = sorted(cache.glob("gensim-*.whl"))
    return found[-1]


def sentences(paragraph: str, shortest: int, longest: int) -> list[str]:
    out = []
    for sentence in SENTENCE_END.split(paragraph.strip()):
        tokens = TOKEN.findall(sentence)
        if shortest <= len(tokens) <= longest:
            out.append(" ".join(tokens))
    return out


def strip_wiki(text: str) -> str:
    """Article text without comments, references, templates, tables, files, links' targets or quotes."""
    text = re.sub(r"<!--.*?-->|<ref[^>]*/>|<ref.*?</ref>", "", text, flags=re.S)
    for _ in range(4):  # templates nest
        text = re.sub(r"\{\{[^{}]*\}\}", "", text)
    text = re.sub(r"\{\|.*?\|\}", "", text, flags=re.S)
    text = re.sub(r"\[\[(?:File|Image|Category):[^\[\]]*(?:\[\[[^\]]*\]\][^\[\]]*)*\]\]", "", text)
    text = re.sub(r"\[\[[^\]|]*\|([^\]]*)\]\]", r"\1", text)
    text = re.sub(r"\[\[([^\]]*)\]\]", r"\1", text)
    text = re.sub(r"\[https?://\S+ ([^\]]*)\]", r"\1", text)
    text = re.sub(r"https?://\S+|'{2,}|<[^>]+>", "", text)
    return text


def wiki_sentences(raw: str) -> list[str]:
    out = []
    for article in re.findall(r"<text[^>]*>(.*?)</text>", html.unescape(raw), flags=re.S):
        for line in strip_wiki(article).splitlines():
            line = line.strip()
            if len(line) >= 40 and line[0] not in "=*#:|!{}[":  # prose, not headings, lists or tables
                out += [s for s in sentences(line, 4, 40) if s.isascii()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/transfer.txt"))
    parser.add_argument("--cache", type=Path, default=Path("runs/wheels"))
    parser.add_argument("--wiki", type=int, default=6000, help="Wikipedia sentences drawn (of ~15,000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with zipfile.ZipFile(gensim_wheel(args.cache)) as wheel:
        lee = [s for name in LEE for doc in wheel.read(DATA + name).decode("latin-1").splitlines()
               for s in sentences(doc, 3, 40)]
        wiki = wiki_sentences(bz2.decompress(wheel.read(DATA + WIKI)).decode("utf-8"))
    random.Random(args.seed).shuffle(wiki)
    chosen = lee + wiki[:args.wiki]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(lee):,} Lee news + {min(args.wiki, len(wiki)):,} of {len(wiki):,} Wikipedia sentences")


if __name__ == "__main__":
    main()
