"""CoNLL (ABS-6): one `token tag` a line (space or tab; extra columns allowed, the tag is the last), blank
lines between sentences, `-DOCSTART-` lines skipped."""

from __future__ import annotations

import re
from collections import Counter
from operator import itemgetter

from advisor.dataset import Dataset, Example
from advisor.formats._base import FIX_CONLL, HEAD_CHARS, TAG_RE, ReadContext, cut, tag_names, tagged
from presets.catalog import TaskId

_BLANK_LINES = re.compile(r"\n(?:[ \t\r\f\v]*\n)+")  # the blank lines (maybe holding spaces/tabs) between sentences


def conll_parts(s: str) -> list[str]:
    """The columns of a CoNLL line: tab-separated when it holds a tab (tokens may hold spaces), else by spaces."""
    return [c.strip() for c in s.split("\t")] if "\t" in s else s.split()


def looks_conll(lines: list[str]) -> bool:
    """Token-per-line files: short first column without spaces, a constant number of columns, and either
    BIO-shaped tags or sentences separated by blank lines with a small tag set."""
    sample = lines[:3000]
    nonblank = [ln.strip() for ln in sample if ln.strip() and not ln.startswith("-DOCSTART-")]
    if not nonblank:
        return False
    parts = [conll_parts(s) for s in nonblank]
    multi = [p for p in parts if len(p) >= 2]
    if len(multi) < 0.8 * len(parts):
        return False
    widths = Counter(len(p) for p in multi)
    width, n_width = widths.most_common(1)[0]
    if not 2 <= width <= 10 or n_width < 0.95 * len(multi):
        return False
    tokens = [p[0] for p in multi]
    if sum(len(t) <= 25 and not any(c.isspace() for c in t) for t in tokens) < 0.95 * len(tokens):
        return False
    tags = [p[-1] for p in multi]
    bio = sum(bool(TAG_RE.match(t)) for t in tags)
    if bio >= 0.9 * len(tags) and any(t != "O" for t in tags) or bio == len(tags) and len(tags) >= 2:
        return True
    first = next(i for i, ln in enumerate(sample) if ln.strip())
    last = max(i for i, ln in enumerate(sample) if ln.strip())
    separated = any(not ln.strip() for ln in sample[first:last])
    mean_token = sum(len(t) for t in tokens) / len(tokens)
    return separated and mean_token <= 10 and len(set(tags)) <= max(5, len(tags) // 3)


class Conll:
    name = "conll"

    def sniff(self, text: str, head: list[str], ext: str, wanted: str | None) -> bool:
        return ext != ".csv" and looks_conll(head)

    def read(self, text: str, ext: str, ctx: ReadContext) -> Dataset:
        if ctx.wanted not in (None, TaskId.ABS_6):
            raise ctx.incompatible("it holds one token and its tag a line, CoNLL style (ABS-6)")
        text = text.replace("\r\n", "\n") if "\r" in text else text
        head = text[:HEAD_CHARS].split("\n")[:200]
        tabbed = any("\t" in ln.strip() for ln in head)
        examples = _sentences(text, tabbed, ctx)
        if not examples:
            raise ctx.error(None, "no sentences: only blank and -DOCSTART- lines", FIX_CONLL)
        widths = Counter(len(conll_parts(s.strip())) for s in head if s.strip())
        width = widths.most_common(1)[0][0]
        ctx.notes.append(f"CoNLL: one token a line, {'tab' if tabbed else 'space'}-separated, {width} columns: "
                         "token = first, tag = last; blank lines end sentences")
        return Dataset(ctx.name, TaskId.ABS_6, self.name, examples, label_names=tag_names(examples), notes=ctx.notes)


def _sentences(text: str, tabbed: bool, ctx: ReadContext) -> list[Example]:
    sep, nl = ("\t" if tabbed else " "), "\n"
    examples: list[Example] = []
    line = 1  # the line where the current block starts
    pos = 0
    # Block by block (a block: the lines between blank lines), each with C-level map()s: People's Daily as
    # char CoNLL is 1.5M lines, and a loop over lines in Python would take seconds.
    for m in [*_BLANK_LINES.finditer(text), None]:
        end = m.start() if m else len(text)
        raw = text[pos:end]
        body = raw.strip()
        if body and not body.startswith("-DOCSTART-"):
            start = line + raw[: len(raw) - len(raw.lstrip())].count("\n")
            # Fast path: every line exactly `token<sep>tag`, checked by rebuilding the block.
            parts = body.split()
            tokens, tags = parts[0::2], parts[1::2]
            if len(tokens) != len(tags) or nl.join(map(sep.join, zip(tokens, tags, strict=True))) != body:
                tokens, tags = _block(raw.split("\n"), line, tabbed, ctx)
            examples.append(tagged(tokens, tags, start))
        elif body:
            block = raw.split("\n")
            first = next(i for i, ln in enumerate(block) if ln.strip().startswith("-DOCSTART-")) + 1
            if any(ln.strip() for ln in block[first:]):
                tokens, tags = _block(block[first:], line + first, tabbed, ctx)
                examples.append(tagged(tokens, tags, line + first + _leading_blank(block[first:])))
        if m:
            line += text.count("\n", pos, m.end())
            pos = m.end()
    return examples


def _block(block: list[str], line: int, tabbed: bool, ctx: ReadContext) -> tuple[list[str], list[str]]:
    """Tokens (first column) and tags (last column) of one sentence's lines, the first at `line`; a
    UserError naming the line when one has no tag."""
    block = list(map(str.strip, block))
    while block and not block[-1]:
        block.pop()
    skip = _leading_blank(block)
    block, line = block[skip:], line + skip
    parts = list(map(conll_parts if tabbed else str.split, block))
    tokens = list(map(itemgetter(0), parts))
    tags = list(map(itemgetter(-1), parts))
    if min(map(len, parts)) < 2 or (tabbed and ("" in tokens or "" in tags)):
        for i, p in enumerate(parts):
            if len(p) < 2 or not p[0] or not p[-1]:
                raise ctx.error(line + i, f"{cut(block[i])!r} has a token but no tag", FIX_CONLL)
    return tokens, tags


def _leading_blank(block: list[str]) -> int:
    return next((i for i, ln in enumerate(block) if ln.strip()), len(block))
