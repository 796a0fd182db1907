"""Delimited tables: TSV (the guide's own form, no header) and CSV, with or without a header line.

Without a header the columns' roles come from their position and content: `text<TAB>label` (ABS-1),
`text_a<TAB>text_b<TAB>label` (ABS-2/5), a second column of tags (ABS-6), 0/1 vectors or label lists
(ABS-3), free text (ABS-7), numeric columns between text and label (ABS-4 features).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter

from advisor.dataset import Dataset
from advisor.formats._base import FIX_TSV, SNIFF_ROWS, TAG_RE, ReadContext, is_number, mostly_has, split_lines
from advisor.formats._cells import Record
from advisor.formats.records import build
from advisor.formats.roles import ALIASES, list_separator, norm, roles
from presets.catalog import TaskId

_HEADER_CELL_RE = re.compile(r"^\w[\w .\-]{0,40}$")
Rows = list[tuple[int, list[str]]]


class Tsv:
    name = "tsv"

    def sniff(self, text: str, head: list[str], ext: str, wanted: str | None) -> bool:
        return True  # the guide's own form: what a file is when it is nothing else

    def read(self, text: str, ext: str, ctx: ReadContext) -> Dataset:
        rows = [(i, _trim([c.strip() for c in ln.split("\t")])) for i, ln in enumerate(split_lines(text), 1)
                if ln.strip()]
        return read_table(rows, self.name, ctx)


class Csv:
    name = "csv"

    def sniff(self, text: str, head: list[str], ext: str, wanted: str | None) -> bool:
        return ext == ".csv" or (ext != ".tsv" and not any("\t" in ln for ln in head[:200])
                                 and mostly_has(head[:200], ","))

    def read(self, text: str, ext: str, ctx: ReadContext) -> Dataset:
        rows = []
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        start = 1
        try:
            for row in reader:
                if any(c.strip() for c in row):
                    rows.append((start, _trim([c.strip() for c in row])))
                start = reader.line_num + 1
        except csv.Error as e:
            raise ctx.error(reader.line_num, f"broken CSV: {e}",
                            'quote fields that hold commas or newlines with double quotes: "a, b",label') from None
        return read_table(rows, self.name, ctx)


def _trim(cells: list[str]) -> list[str]:
    """Without trailing empty cells: spreadsheet exports often end rows with a stray tab or comma."""
    while len(cells) > 1 and not cells[-1]:
        cells.pop()
    return cells


def _is_header(cells: list[str]) -> bool:
    names = [norm(c) for c in cells]
    return (
        any(n in ALIASES for n in names)
        and all(_HEADER_CELL_RE.match(c) and not is_number(c) for c in cells)
        and len(set(names)) == len(names)
    )


def read_table(rows: Rows, fmt: str, ctx: ReadContext) -> Dataset:
    if not rows:
        raise ctx.error(None, "the file is empty", "give one example a line")
    header: list[str] | None = None
    if _is_header(rows[0][1]):
        header = rows[0][1]
        rows = rows[1:]
        ctx.notes.append(f"header line: {', '.join(header)}")
        if not rows:
            raise ctx.error(None, "only a header line, no data rows", "add the examples below the header")
        width = len(header)
    else:
        counts = Counter(len(cells) for _, cells in rows)
        width = max(counts, key=lambda w: (counts[w], w == len(rows[0][1])))
    sep = "a comma" if fmt == "csv" else "a tab"
    for line, cells in rows:
        if len(cells) != width:
            source = "the header has" if header else "most lines have"
            raise ctx.error(
                line, f"{len(cells)} column{'s' * (len(cells) != 1)}, expected {width} ({source} {width}, separated by {sep})",
                (FIX_TSV if fmt == "tsv" else "give every row the same columns as the header")
                + ("; a text holding a tab must have it replaced by a space" if fmt == "tsv" else ""),
            )
    keys = header if header else [str(i) for i in range(width)]
    records: list[Record] = [(line, dict(zip(keys, cells, strict=True))) for line, cells in rows]
    if header:
        return build(records, roles(keys, ctx), fmt, ctx, header)
    return build(records, _positional_roles(records, width, ctx), fmt, ctx, None)


def _positional_roles(records: list[Record], width: int, ctx: ReadContext) -> dict[str, str]:
    """Roles of headerless columns, by position and content."""
    col = [[r[str(j)] for _, r in records] for j in range(width)]
    wanted = ctx.wanted
    if width == 1:
        if wanted in (None, TaskId.ABS_8):
            if wanted is None:
                raise ctx.error(records[0][0], "one column only: no label", FIX_TSV + "; for a language model "
                                "(ABS-8) mark sentences `<s> ... <e>` or pass the task ABS-8")
            return {"text": "0"}
        raise ctx.incompatible("it has one column only")
    if width == 2:
        if wanted:
            return {"text": "0", "label": "1"}
        role, note = _second_column_role(col[1])
        ctx.notes.append(note)
        return {"text": "0", role: "1"}
    middle = list(range(1, width - 1))
    if all(all(is_number(v) for v in col[j]) for j in middle) and wanted in (None, TaskId.ABS_4, TaskId.ABS_1):
        ctx.notes.append(f"no header, {width} columns: text, {len(middle)} numeric features, label")
        return {"text": "0", "label": str(width - 1), **{f"feature:{j}": str(j) for j in middle}}
    if width == 3:
        ctx.notes.append("no header, 3 columns: text_a, text_b, label")
        return {"text": "0", "text_b": "1", "label": "2"}
    raise ctx.error(records[0][0], f"{width} columns and no header line: cannot tell what they hold",
                    "add a header line naming the columns (text, text_b, label, ...; other numeric columns "
                    "are read as features)")


def _second_column_role(values: list[str]) -> tuple[str, str]:
    """What the second of two headerless columns holds: tags, a 0/1 vector, label lists, free text or a label."""
    values = values[:SNIFF_ROWS]
    n = len(values)
    seqs = [v.replace("\x02", " ").split() for v in values]
    if sum(all(TAG_RE.match(t) for t in s) and bool(s) for s in seqs) >= 0.9 * n and any(len(s) >= 2 for s in seqs):
        return "tags", "2 columns, the second a sequence of BIO tags: tokens<TAB>tags, one sentence a line (ABS-6)"
    if all(s and set(s) <= {"0", "1"} for s in seqs) and Counter(len(s) for s in seqs).most_common(1)[0][0] >= 2:
        return "labels", "2 columns, the second a 0/1 vector: multi-label, label names are the positions 0, 1, ... (ABS-3)"
    if sum(v.startswith("[") and v.endswith("]") for v in values) >= 0.9 * n:
        return "labels", "2 columns, the second a JSON list of labels (ABS-3)"
    sep = list_separator(values)
    if sep:
        return "labels", f"2 columns, the second a list of labels separated by {sep!r} (ABS-3)"
    distinct = len(set(values))
    mean_len = sum(map(len, values)) / n
    mean_words = sum(len(v.split()) for v in values) / n
    if distinct > 0.5 * n and (mean_len >= 12 or mean_words >= 3):
        return "target", (f"2 columns, the second free text ({distinct} distinct values in {n} rows, "
                          f"{mean_len:.0f} characters on average): source<TAB>target (ABS-7)")
    return "label", f"2 columns, the second a label ({distinct} distinct values): text<TAB>label (ABS-1)"
