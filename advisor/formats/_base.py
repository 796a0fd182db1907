"""What every reader shares: the `Reader` protocol, the per-file context, and small text helpers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Protocol

from advisor.dataset import Dataset, Example
from advisor.errors import UserError
from presets.catalog import task

TAG_RE = re.compile(r"^(?:O|[BIESM](?:[-_]\S+)?)$")  # a tag of a BIO/BIOES/BMES scheme: O, B-LOC, I_PER, S-ORG, E
_NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
HEAD_CHARS = 400_000  # the start of a file that format sniffing looks at
SNIFF_ROWS = 5000  # rows a content heuristic looks at: enough to decide, fast on a million-row file
FIX_TSV = "write one example a line, columns separated by a tab: `text<TAB>label` (see the guide, section 2.1)"
FIX_CONLL = ("write one token and its tag a line (`海 B-LOC`, space or tab between), "
             "with a blank line between sentences")


@dataclass
class ReadContext:
    """What the readers share about one file: its name for messages, the forced task, the notes so far."""

    name: str
    wanted: str | None
    notes: list[str] = field(default_factory=list)

    def error(self, line: int | None, what: str, fix: str) -> UserError:
        where = f"{self.name}, line {line}" if line else self.name
        return UserError(f"{where}: {what}", fix)

    def incompatible(self, got: str, fix: str = "") -> UserError:
        wanted = self.wanted or ""
        name = task(wanted).short_name if wanted else ""
        return UserError(
            f"{self.name}: cannot read it as {wanted} ({name}): {got}",
            fix or "leave out the task to let the reader detect it, or convert the file to the guide's "
                   f"format for {wanted} (section 2.1)",
        )


class Reader(Protocol):
    """One file format: whether a file looks like it, and how to read it into a `Dataset`.

    `head` is the file's first lines (enough to decide), `ext` its lower-case suffix. `read` gets the
    whole text and raises a `UserError` naming the line for anything it cannot read.
    """

    name: str

    def sniff(self, text: str, head: list[str], ext: str, wanted: str | None) -> bool: ...

    def read(self, text: str, ext: str, ctx: ReadContext) -> Dataset: ...


def split_lines(text: str) -> list[str]:
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")  # not splitlines(): it also breaks on \x1c, \u2028 ... and shifts line numbers
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def mostly_has(lines: Sequence[str], sub: str, share: float = 0.8) -> bool:
    nonblank = [ln for ln in lines if ln.strip()]
    return bool(nonblank) and sum(sub in ln for ln in nonblank) >= share * len(nonblank)


def is_number(s: str) -> bool:
    return bool(_NUMBER_RE.match(s.strip()))


def cut(s: str, n: int = 40) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def tagged(tokens: Sequence[str], tags: Sequence[str], line: int) -> Example:
    chars = "".join(tokens)
    text = chars if len(chars) == len(tokens) else " ".join(tokens)  # one char a token: Chinese, no spaces
    return Example(text=text, tokens=tuple(tokens), tags=tuple(tags), line=line)


def tag_names(examples: list[Example]) -> list[str]:
    seen = set(chain.from_iterable(ex.tags for ex in examples))
    return sorted(seen, key=lambda t: (t != "O", t[2:] if t[1:2] in "-_" else t, t))
