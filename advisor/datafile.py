"""Read a data file in one of the guide's formats (section 2.1) and say which task abstraction it is.

`read_dataset(path, task=None)` returns a `Dataset` whose `task` is an ABS id and whose `notes` say how
every ambiguous choice was made. Formats:

- TSV, no header: `text<TAB>label` (ABS-1); `text_a<TAB>text_b<TAB>label` (ABS-2, or ABS-5 when the labels
  are 0/1 or decimal scores); `text<TAB>0 1 0` or `text<TAB>sports,finance` or `text<TAB>["a","b"]` (ABS-3);
  `海 钓 比 赛<TAB>O O B-LOC I-LOC` (ABS-6, one sentence a line); `src<TAB>tgt` (ABS-7, free-text target).
- CoNLL: one `token tag` (space or tab; extra columns allowed, the tag is the last) per line, blank lines
  between sentences (ABS-6).
- `<s> ... <e>` lines (ABS-8).
- SQuAD JSON: data / paragraphs / context / qas / question / answers (ABS-9).
- CSV (with or without a header) and JSONL (or a JSON list of records), with named columns: text, label,
  text_a, text_b, labels, tokens, tags, src, tgt, context, question, answers and common aliases. Numeric
  columns that are not labels are features (ABS-4).

Any bad input raises `UserError` naming the file and the line. Pure Python: no numpy, no pandas.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

from advisor.dataset import (
    LANGUAGE_MODEL,
    MIXED_FEATURES,
    MULTI_LABEL,
    MULTI_TASK,
    PAIR_CLASSIFICATION,
    READING_COMPREHENSION,
    SEQUENCE_LABELING,
    SINGLE_TEXT_CLASSIFICATION,
    TEXT_GENERATION,
    TEXT_MATCHING,
    Dataset,
    Example,
)
from advisor.errors import UserError

TASK_NAMES: dict[str, str] = {
    SINGLE_TEXT_CLASSIFICATION: "single-text classification",
    PAIR_CLASSIFICATION: "sentence-pair classification",
    MULTI_LABEL: "multi-label classification",
    MIXED_FEATURES: "mixed-feature classification",
    TEXT_MATCHING: "text matching",
    SEQUENCE_LABELING: "sequence labeling",
    TEXT_GENERATION: "text generation",
    LANGUAGE_MODEL: "language model",
    READING_COMPREHENSION: "reading comprehension",
    MULTI_TASK: "multi-task",
}

# Plain-word names a user may pass instead of an ABS id.
_TASK_WORDS: dict[str, str] = {
    "classification": SINGLE_TEXT_CLASSIFICATION, "cls": SINGLE_TEXT_CLASSIFICATION,
    "pair": PAIR_CLASSIFICATION, "nli": PAIR_CLASSIFICATION,
    "multilabel": MULTI_LABEL, "multi-label": MULTI_LABEL,
    "features": MIXED_FEATURES, "mixed": MIXED_FEATURES,
    "matching": TEXT_MATCHING, "similarity": TEXT_MATCHING,
    "ner": SEQUENCE_LABELING, "tagging": SEQUENCE_LABELING, "sequence-labeling": SEQUENCE_LABELING,
    "generation": TEXT_GENERATION, "seq2seq": TEXT_GENERATION,
    "lm": LANGUAGE_MODEL, "language-model": LANGUAGE_MODEL,
    "mrc": READING_COMPREHENSION, "qa": READING_COMPREHENSION, "squad": READING_COMPREHENSION,
}

# Column / key names -> role. Roles: text, text_b, label, labels, tokens, tags, target, context, question,
# answers, answer, answer_start, features, id (ignored).
_ALIASES: dict[str, str] = {
    **dict.fromkeys(["text", "text_a", "sentence", "sentence1", "sentence_a", "query", "q1", "question1",
                     "content", "review", "comment", "document", "doc", "src", "source", "input", "premise",
                     "文本", "句子", "内容", "评论"], "text"),
    **dict.fromkeys(["text_b", "sentence2", "sentence_b", "title", "q2", "question2", "hypothesis",
                     "文本2", "句子2", "标题"], "text_b"),
    **dict.fromkeys(["label", "class", "category", "sentiment", "score", "similarity", "intent", "rating",
                     "stars", "click", "clicked", "标签", "类别"], "label"),
    "labels": "labels",
    **dict.fromkeys(["tokens", "words", "chars"], "tokens"),
    **dict.fromkeys(["tags", "ner_tags", "bio", "tag_seq"], "tags"),
    **dict.fromkeys(["tgt", "target", "summary", "output", "translation", "response"], "target"),
    **dict.fromkeys(["context", "passage", "paragraph"], "context"),
    "question": "question",
    "answers": "answers",
    "answer": "answer",
    "answer_start": "answer_start",
    "features": "features",
    **dict.fromkeys(["id", "idx", "guid", "qid", "uid", "_id"], "id"),
}

# A tag of a BIO/BIOES/BMES scheme: O, B-LOC, I_PER, S-ORG, E, ...
_BLANK_LINES = re.compile(r"\n(?:[ \t\r\f\v]*\n)+")  # the blank lines (maybe holding spaces/tabs) between sentences
_TAG_RE = re.compile(r"^(?:O|[BIESM](?:[-_]\S+)?)$")
_NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_HEADER_CELL_RE = re.compile(r"^\w[\w .\-]{0,40}$")
_HEAD_CHARS = 400_000  # the start of a file that format sniffing looks at
_SNIFF_ROWS = 5000  # rows a content heuristic looks at: enough to decide, fast on a million-row file
_LIST_SEPARATORS = (",", "|", ";", "，", "、")
_FIX_TSV = "write one example a line, columns separated by a tab: `text<TAB>label` (see the guide, section 2.1)"
_FIX_CONLL = ("write one token and its tag a line (`海 B-LOC`, space or tab between), "
              "with a blank line between sentences")


def normalize_task(task: str | None) -> str | None:
    """An ABS id for a user's `--task` value ("ABS-6", "abs6", "6", "ner"), or None when none was given."""
    if task is None or not task.strip():
        return None
    t = task.strip().lower().replace("_", "-")
    m = re.fullmatch(r"(?:abs-?)?(\d{1,2})", t)
    if m and f"ABS-{int(m.group(1))}" in TASK_NAMES:
        tid = f"ABS-{int(m.group(1))}"
    elif t in _TASK_WORDS:
        tid = _TASK_WORDS[t]
    else:
        raise UserError(
            f"unknown task {task!r}",
            "use an ABS id, ABS-1 ... ABS-9: " + "; ".join(f"{k} {v}" for k, v in TASK_NAMES.items()
                                                           if k != MULTI_TASK),
        )
    if tid == MULTI_TASK:
        raise UserError(
            "task ABS-10 (multi-task) has no single file format",
            "inspect each sub-task's file with its own task, e.g. the entities with ABS-6 and the relations "
            "with ABS-1 (the guide's SPLIT-2)",
        )
    return tid


@dataclass
class _Ctx:
    """What the readers share about one file: its name for messages, the forced task, the notes so far."""

    name: str
    wanted: str | None
    notes: list[str] = field(default_factory=list)

    def error(self, line: int | None, what: str, fix: str) -> UserError:
        where = f"{self.name}, line {line}" if line else self.name
        return UserError(f"{where}: {what}", fix)

    def incompatible(self, got: str, fix: str = "") -> UserError:
        wanted = self.wanted or ""
        return UserError(
            f"{self.name}: cannot read it as {wanted} ({TASK_NAMES.get(wanted, '')}): {got}",
            fix or "leave out the task to let the reader detect it, or convert the file to the guide's "
                   f"format for {wanted} (section 2.1)",
        )


def read_dataset(path: str | Path, task: str | None = None) -> Dataset:
    """Parse `path` into a Dataset. `task` (an ABS id) overrides the detected task abstraction."""
    ctx = _Ctx(str(path), normalize_task(task))
    p = Path(path)
    text = _read_text(p, ctx)
    head = _split_lines(text[:_HEAD_CHARS])  # enough to tell the format; all lines only where needed
    if len(text) > _HEAD_CHARS:
        head.pop()  # maybe cut in the middle
    ext = p.suffix.lower()
    first = text.lstrip()[:1]

    if ext in (".json", ".jsonl", ".ndjson") or (ext not in (".tsv", ".csv") and _json_like(first, text, head)):
        return _read_json(text, _split_lines(text), ext, ctx)
    if ext != ".csv":
        if _looks_lm(head) or (ctx.wanted == LANGUAGE_MODEL and not any("\t" in ln for ln in head[:50])):
            return _read_lm(_split_lines(text), ctx)
        if _looks_conll(head):
            return _read_conll(text, ctx)
    if ext == ".csv" or (ext != ".tsv" and not any("\t" in ln for ln in head[:200])
                         and _mostly_has(head[:200], ",")):
        return _read_table(_csv_rows(text, ctx), "csv", ctx)
    return _read_table(_tsv_rows(_split_lines(text)), "tsv", ctx)


# ---------------------------------------------------------------------------------------------- raw text


def _read_text(p: Path, ctx: _Ctx) -> str:
    if not p.exists():
        raise UserError(f"{ctx.name}: no such file", "check the path (relative paths start from the current folder)")
    if p.is_dir():
        raise UserError(f"{ctx.name}: is a folder, not a file", "give the data files themselves, e.g. train.tsv dev.tsv")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise UserError(f"{ctx.name}: cannot be read ({e.strerror})", "check the file's permissions") from None
    if not data.strip() or data.strip() == b"\xef\xbb\xbf":
        raise UserError(f"{ctx.name}: the file is empty", "give a file with one example a line (see the guide, section 2.1)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        enc = next((c for c in ("gb18030", "big5", "utf-16") if _decodes(data, c)), "")
        guess = f" (it decodes as {enc.upper()})" if enc else ""
        src = enc.upper() or "GB18030"
        raise UserError(
            f"{ctx.name}, line {line}: not UTF-8{guess}: byte 0x{data[e.start]:02x} at byte offset {e.start} "
            f"(column {column})",
            f"convert the file to UTF-8, e.g. `iconv -f {src} -t UTF-8 {ctx.name} > fixed.txt`",
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _split_lines(text: str) -> list[str]:
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")  # not splitlines(): it also breaks on \x1c, \u2028 ... and shifts line numbers
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _mostly_has(lines: Sequence[str], sub: str, share: float = 0.8) -> bool:
    nonblank = [ln for ln in lines if ln.strip()]
    return bool(nonblank) and sum(sub in ln for ln in nonblank) >= share * len(nonblank)


def _is_number(s: str) -> bool:
    return bool(_NUMBER_RE.match(s.strip()))


def _cut(s: str, n: int = 40) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


# ------------------------------------------------------------------------------------- language model


def _looks_lm(lines: list[str]) -> bool:
    nonblank = [ln.strip() for ln in lines[:500] if ln.strip()]
    return bool(nonblank) and sum(ln.startswith("<s>") or ln.endswith("<e>") for ln in nonblank) >= 0.5 * len(nonblank)


def _read_lm(lines: list[str], ctx: _Ctx) -> Dataset:
    if ctx.wanted not in (None, LANGUAGE_MODEL):
        raise ctx.incompatible("it holds `<s> ... <e>` sentences (ABS-8)")
    examples = []
    for i, raw in enumerate(lines, 1):
        s = raw.strip()
        if not s:
            continue
        s = s.split("\t")[0].strip()  # the guide's form: `<s> w1 .. wn<TAB>w1 .. wn <e>`: the input side
        s = s.removeprefix("<s>").removesuffix("<e>").strip()
        if not s:
            raise ctx.error(i, "the sentence between <s> and <e> is empty", "remove the line or write the sentence")
        examples.append(Example(text=s, line=i))
    ctx.notes.append("one sentence a line; <s> and <e> markers removed; a second tab column (the shifted "
                     "target) is ignored")
    return Dataset(ctx.name, LANGUAGE_MODEL, "lines", examples, notes=ctx.notes)


# ----------------------------------------------------------------------------------------------- CoNLL


def _conll_parts(s: str) -> list[str]:
    """The columns of a CoNLL line: tab-separated when it holds a tab (tokens may hold spaces), else by spaces."""
    return [c.strip() for c in s.split("\t")] if "\t" in s else s.split()


def _looks_conll(lines: list[str]) -> bool:
    """Token-per-line files: short first column without spaces, a constant number of columns, and either
    BIO-shaped tags or sentences separated by blank lines with a small tag set."""
    sample = lines[:3000]
    nonblank = [ln.strip() for ln in sample if ln.strip() and not ln.startswith("-DOCSTART-")]
    if not nonblank:
        return False
    parts = [_conll_parts(s) for s in nonblank]
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
    bio = sum(bool(_TAG_RE.match(t)) for t in tags)
    if bio >= 0.9 * len(tags) and any(t != "O" for t in tags) or bio == len(tags) and len(tags) >= 2:
        return True
    first = next(i for i, ln in enumerate(sample) if ln.strip())
    last = max(i for i, ln in enumerate(sample) if ln.strip())
    separated = any(not ln.strip() for ln in sample[first:last])
    mean_token = sum(len(t) for t in tokens) / len(tokens)
    return separated and mean_token <= 10 and len(set(tags)) <= max(5, len(tags) // 3)


def _read_conll(text: str, ctx: _Ctx) -> Dataset:
    if ctx.wanted not in (None, SEQUENCE_LABELING):
        raise ctx.incompatible("it holds one token and its tag a line, CoNLL style (ABS-6)")
    text = text.replace("\r\n", "\n") if "\r" in text else text
    head = text[:_HEAD_CHARS].split("\n")[:200]
    tabbed = any("\t" in ln.strip() for ln in head)
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
                tokens, tags = _conll_block(raw.split("\n"), line, tabbed, ctx)
            examples.append(_tagged(tokens, tags, start))
        elif body:
            block = raw.split("\n")
            first = next(i for i, ln in enumerate(block) if ln.strip().startswith("-DOCSTART-")) + 1
            if any(ln.strip() for ln in block[first:]):
                tokens, tags = _conll_block(block[first:], line + first, tabbed, ctx)
                examples.append(_tagged(tokens, tags, line + first + _leading_blank(block[first:])))
        if m:
            line += text.count("\n", pos, m.end())
            pos = m.end()
    if not examples:
        raise ctx.error(None, "no sentences: only blank and -DOCSTART- lines", _FIX_CONLL)
    widths = Counter(len(_conll_parts(s.strip())) for s in head if s.strip())
    width = widths.most_common(1)[0][0]
    ctx.notes.append(f"CoNLL: one token a line, {'tab' if tabbed else 'space'}-separated, {width} columns: "
                     "token = first, tag = last; blank lines end sentences")
    return Dataset(ctx.name, SEQUENCE_LABELING, "conll", examples, label_names=_tag_names(examples), notes=ctx.notes)


def _conll_block(block: list[str], line: int, tabbed: bool, ctx: _Ctx) -> tuple[list[str], list[str]]:
    """Tokens (first column) and tags (last column) of one sentence's lines, the first at `line`; a
    UserError naming the line when one has no tag."""
    block = list(map(str.strip, block))
    while block and not block[-1]:
        block.pop()
    skip = _leading_blank(block)
    block, line = block[skip:], line + skip
    parts = list(map(_conll_parts if tabbed else str.split, block))
    tokens = list(map(itemgetter(0), parts))
    tags = list(map(itemgetter(-1), parts))
    if min(map(len, parts)) < 2 or (tabbed and ("" in tokens or "" in tags)):
        for i, p in enumerate(parts):
            if len(p) < 2 or not p[0] or not p[-1]:
                raise ctx.error(line + i, f"{_cut(block[i])!r} has a token but no tag", _FIX_CONLL)
    return tokens, tags


def _leading_blank(block: list[str]) -> int:
    return next((i for i, ln in enumerate(block) if ln.strip()), len(block))


def _tagged(tokens: Sequence[str], tags: Sequence[str], line: int) -> Example:
    chars = "".join(tokens)
    text = chars if len(chars) == len(tokens) else " ".join(tokens)  # one char a token: Chinese, no spaces
    return Example(text=text, tokens=tuple(tokens), tags=tuple(tags), line=line)


def _tag_names(examples: list[Example]) -> list[str]:
    seen = set(chain.from_iterable(ex.tags for ex in examples))
    return sorted(seen, key=lambda t: (t != "O", t[2:] if t[1:2] in "-_" else t, t))


# ------------------------------------------------------------------------------------------------ JSON


def _read_json(text: str, lines: list[str], ext: str, ctx: _Ctx) -> Dataset:
    if ext not in (".jsonl", ".ndjson"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            if ext == ".json" or not _first_line_is_object(lines):
                raise ctx.error(e.lineno, f"broken JSON at column {e.colno}: {e.msg}",
                                "fix the JSON (a validator such as `python -m json.tool FILE` shows the spot), "
                                "or write one JSON object a line as .jsonl") from None
        else:
            if isinstance(obj, dict) and "data" in obj:
                return _read_squad(obj, ctx)
            if isinstance(obj, list):
                if not all(isinstance(r, dict) for r in obj):
                    raise ctx.error(None, "a JSON list whose items are not all objects",
                                    'write a list of records, e.g. [{"text": "...", "label": "pos"}]')
                return _read_records([(0, r) for r in obj], "json", ctx)
            if isinstance(obj, dict):
                return _read_records([(1, obj)], "jsonl", ctx)
            raise ctx.error(None, f"JSON holding a {type(obj).__name__}, not records",
                            'use SQuAD JSON ({"data": [...]}), a list of records, or one JSON object a line')
    records = []
    for i, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ctx.error(i, f"broken JSON at column {e.colno}: {e.msg}",
                            'each line must be one complete JSON object, e.g. {"text": "...", "label": "pos"}') from None
        if not isinstance(obj, dict):
            raise ctx.error(i, f"a JSON {type(obj).__name__}, not an object",
                            'each line must be one JSON object, e.g. {"text": "...", "label": "pos"}')
        records.append((i, obj))
    return _read_records(records, "jsonl", ctx)


def _json_like(first: str, text: str, lines: list[str]) -> bool:
    """A file of another extension that holds JSON: starts with { (no tab on its first line), or is a JSON list."""
    if first == "{":
        return "\t" not in next(ln for ln in lines if ln.strip())
    if first == "[":
        try:
            return isinstance(json.loads(text), list)
        except json.JSONDecodeError:
            return False
    return False


def _first_line_is_object(lines: list[str]) -> bool:
    first = next((ln for ln in lines if ln.strip()), "")
    try:
        return isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        return False


def _read_squad(obj: dict[str, Any], ctx: _Ctx) -> Dataset:
    if ctx.wanted not in (None, READING_COMPREHENSION):
        raise ctx.incompatible("it is SQuAD-style JSON (ABS-9)")
    fix = ('SQuAD layout: {"data": [{"paragraphs": [{"context": "...", "qas": [{"question": "...", '
           '"answers": [{"text": "...", "answer_start": 0}]}]}]}]}')
    examples: list[Example] = []
    no_answer = mismatched = 0
    articles = obj.get("data")
    if not isinstance(articles, list):
        raise ctx.error(None, "'data' is not a list", fix)
    for a, article in enumerate(articles):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise ctx.error(None, f"data[{a}] has no 'paragraphs' list", fix)
        for p, para in enumerate(paragraphs):
            where = f"data[{a}].paragraphs[{p}]"
            if not isinstance(para, dict) or not isinstance(para.get("context"), str):
                raise ctx.error(None, f"{where} has no 'context' text", fix)
            if not isinstance(para.get("qas"), list):
                raise ctx.error(None, f"{where} has no 'qas' list", fix)
            context = para["context"]
            for q, qa in enumerate(para["qas"]):
                if not isinstance(qa, dict) or not isinstance(qa.get("question"), str):
                    raise ctx.error(None, f"{where}.qas[{q}] has no 'question' text", fix)
                answer, start = _first_answer(qa.get("answers"), context)
                if answer is None:
                    no_answer += 1
                elif start is not None and context[start:start + len(answer)] != answer:
                    mismatched += 1
                examples.append(Example(text=context, text_b=qa["question"], answer=answer, answer_start=start))
    if not examples:
        raise ctx.error(None, "no questions found", fix)
    ctx.notes.append("SQuAD JSON: one example per question; the first answer is kept")
    if no_answer:
        ctx.notes.append(f"{no_answer} questions have no answer (unanswerable, SQuAD 2.0 style)")
    if mismatched:
        ctx.notes.append(f"{mismatched} answers do not match the context at answer_start")
    return Dataset(ctx.name, READING_COMPREHENSION, "squad", examples, notes=ctx.notes)


def _first_answer(answers: Any, context: str) -> tuple[str | None, int | None]:
    """The first answer's text and start, from [{text, answer_start}], {text: [...], answer_start: [...]} or a str."""
    text: Any = None
    start: Any = None
    if isinstance(answers, list) and answers:
        a = answers[0]
        text, start = (a.get("text"), a.get("answer_start")) if isinstance(a, dict) else (a, None)
    elif isinstance(answers, dict):
        texts, starts = answers.get("text"), answers.get("answer_start")
        text = texts[0] if isinstance(texts, list) and texts else texts
        start = starts[0] if isinstance(starts, list) and starts else starts
    elif isinstance(answers, str):
        text = answers
    if not isinstance(text, str) or not text:
        return None, None
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        found = context.find(text)
        start = found if found >= 0 else None
    return text, start


# ------------------------------------------------------------------------------------- delimited tables


def _tsv_rows(lines: list[str]) -> list[tuple[int, list[str]]]:
    return [(i, _trim([c.strip() for c in ln.split("\t")])) for i, ln in enumerate(lines, 1) if ln.strip()]


def _trim(cells: list[str]) -> list[str]:
    """Without trailing empty cells: spreadsheet exports often end rows with a stray tab or comma."""
    while len(cells) > 1 and not cells[-1]:
        cells.pop()
    return cells


def _csv_rows(text: str, ctx: _Ctx) -> list[tuple[int, list[str]]]:
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
    return rows


def _is_header(cells: list[str]) -> bool:
    names = [_norm(c) for c in cells]
    return (
        any(n in _ALIASES for n in names)
        and all(_HEADER_CELL_RE.match(c) and not _is_number(c) for c in cells)
        and len(set(names)) == len(names)
    )


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _read_table(rows: list[tuple[int, list[str]]], fmt: str, ctx: _Ctx) -> Dataset:
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
                (_FIX_TSV if fmt == "tsv" else "give every row the same columns as the header")
                + ("; a text holding a tab must have it replaced by a space" if fmt == "tsv" else ""),
            )
    keys = header if header else [str(i) for i in range(width)]
    records = [(line, dict(zip(keys, cells, strict=True))) for line, cells in rows]
    if header:
        return _build(records, _roles(keys, ctx), fmt, ctx, header)
    return _build(records, _positional_roles(records, width, ctx), fmt, ctx, None)


def _positional_roles(records: list[tuple[int, dict[str, Any]]], width: int, ctx: _Ctx) -> dict[str, str]:
    """Roles of headerless columns, by position and content."""
    col = [[r[str(j)] for _, r in records] for j in range(width)]
    wanted = ctx.wanted
    if width == 1:
        if wanted in (None, LANGUAGE_MODEL):
            if wanted is None:
                raise ctx.error(records[0][0], "one column only: no label", _FIX_TSV + "; for a language model "
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
    if all(all(_is_number(v) for v in col[j]) for j in middle) and wanted in (None, MIXED_FEATURES,
                                                                              SINGLE_TEXT_CLASSIFICATION):
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
    values = values[:_SNIFF_ROWS]
    n = len(values)
    seqs = [v.replace("\x02", " ").split() for v in values]
    if sum(all(_TAG_RE.match(t) for t in s) and bool(s) for s in seqs) >= 0.9 * n and any(len(s) >= 2 for s in seqs):
        return "tags", "2 columns, the second a sequence of BIO tags: tokens<TAB>tags, one sentence a line (ABS-6)"
    if all(s and set(s) <= {"0", "1"} for s in seqs) and Counter(len(s) for s in seqs).most_common(1)[0][0] >= 2:
        return "labels", "2 columns, the second a 0/1 vector: multi-label, label names are the positions 0, 1, ... (ABS-3)"
    if sum(v.startswith("[") and v.endswith("]") for v in values) >= 0.9 * n:
        return "labels", "2 columns, the second a JSON list of labels (ABS-3)"
    sep = _list_separator(values)
    if sep:
        return "labels", f"2 columns, the second a list of labels separated by {sep!r} (ABS-3)"
    distinct = len(set(values))
    mean_len = sum(map(len, values)) / n
    mean_words = sum(len(v.split()) for v in values) / n
    if distinct > 0.5 * n and (mean_len >= 12 or mean_words >= 3):
        return "target", (f"2 columns, the second free text ({distinct} distinct values in {n} rows, "
                          f"{mean_len:.0f} characters on average): source<TAB>target (ABS-7)")
    return "label", f"2 columns, the second a label ({distinct} distinct values): text<TAB>label (ABS-1)"


def _list_separator(values: list[str]) -> str | None:
    """A separator that splits label cells into a small set of short, repeated labels, if one does."""
    best = None
    for sep in _LIST_SEPARATORS:
        holding = sum(sep in v for v in values)
        if not holding:
            continue
        items = [x.strip() for v in values for x in v.split(sep) if x.strip()]
        distinct = set(items)
        if (len(distinct) <= max(10, len(values) // 2) and len(items) > len(distinct)
                and all(len(x) <= 30 and len(x.split()) <= 4 for x in distinct)):
            if best is None or holding > best[0]:
                best = (holding, sep)
    return best[1] if best else None


def _roles(keys: Sequence[str], ctx: _Ctx) -> dict[str, str]:
    """Roles from column names or JSON keys; the first name of a role wins, a second one is ignored."""
    roles: dict[str, str] = {}
    for key in keys:
        role = _ALIASES.get(_norm(key))
        if role == "id":
            continue
        if role is None:
            roles[f"feature:{key}"] = key  # a feature if all its values are numbers, else ignored
        elif role in roles:
            ctx.notes.append(f"column {key!r} ignored: {role} is read from {roles[role]!r}")
        else:
            roles[role] = key
    if "text" not in roles and "context" not in roles and "tokens" not in roles:
        for promote in ("question", "text_b"):
            if promote in roles:
                roles["text"] = roles.pop(promote)
                ctx.notes.append(f"{roles['text']!r} read as the text")
                break
    return roles


# --------------------------------------------------------------------------------- records -> examples


def _read_records(records: list[tuple[int, dict[str, Any]]], fmt: str, ctx: _Ctx) -> Dataset:
    if not records:
        raise ctx.error(None, "no records", 'write one JSON object a line, e.g. {"text": "...", "label": "pos"}')
    keys: list[str] = []
    for _, r in records[:50]:
        keys.extend(k for k in r if k not in keys)
    return _build(records, _roles(keys, ctx), fmt, ctx, None)


def _build(records: list[tuple[int, dict[str, Any]]], roles: dict[str, str], fmt: str, ctx: _Ctx,
           header: list[str] | None) -> Dataset:
    if not {"label", "labels", "tags", "target", "context"} & roles.keys():
        last = [k for k in roles if k.startswith("feature:")][-1:]
        if last and ("text" in roles or "tokens" in roles):
            roles["label"] = roles.pop(last[0])
            ctx.notes.append(f"no column named label: the last column, {roles['label']!r}, is read as the label")
    records = _skip_empty_texts(records, roles, ctx)
    features = _feature_keys(records, roles, ctx)
    task = ctx.wanted or _natural_task(records, roles, features, ctx)
    if ctx.wanted:
        ctx.notes.append(f"task {ctx.wanted} ({TASK_NAMES[ctx.wanted]}) given by the caller, not detected")
    maker = _MAKERS[task]
    examples, label_names = maker(records, roles, features, ctx)
    if task == PAIR_CLASSIFICATION or task == TEXT_MATCHING:
        task = _pair_task(examples, ctx)
    return Dataset(ctx.name, task, fmt, examples, label_names=label_names, header=header, notes=ctx.notes)


def _skip_empty_texts(records: list[tuple[int, dict[str, Any]]], roles: dict[str, str],
                      ctx: _Ctx) -> list[tuple[int, dict[str, Any]]]:
    """Rows whose text is empty carry nothing to learn from: skipped, and said so (real corpora have a few)."""
    key = roles.get("text") or roles.get("context")
    if key is None or "tokens" in roles:
        return records

    def empty(v: Any) -> bool:
        return v is None or (isinstance(v, str) and not v.strip())

    kept = [(ln, r) for ln, r in records if not empty(r.get(key))]
    if len(kept) < len(records):
        if not kept:
            raise ctx.error(records[0][0], f"every text ({_col(key)}) is empty", "give the texts")
        lines = [ln for ln, r in records if empty(r.get(key))]
        shown = ", ".join(map(str, lines[:10])) + (", ..." if len(lines) > 10 else "")
        ctx.notes.append(f"skipped {len(lines)} rows with an empty text (lines {shown})")
    return kept


def _feature_keys(records: list[tuple[int, dict[str, Any]]], roles: dict[str, str], ctx: _Ctx) -> list[str]:
    out, ignored = [], []
    for role, key in roles.items():
        if not role.startswith("feature:"):
            continue
        values = [r.get(key) for _, r in records]
        if all(_numeric_value(v) or v in ("", None) for v in values) and any(_numeric_value(v) for v in values):
            out.append(key)
        else:
            ignored.append(key)
    if "features" in roles:
        out.append(roles["features"])
    if ignored:
        ctx.notes.append(f"columns ignored (neither a known name nor numeric): {', '.join(ignored)}")
    return out


def _numeric_value(v: Any) -> bool:
    return (isinstance(v, int | float) and not isinstance(v, bool)) or (isinstance(v, str) and _is_number(v))


def _natural_task(records: list[tuple[int, dict[str, Any]]], roles: dict[str, str], features: list[str],
                  ctx: _Ctx) -> str:
    if "context" in roles:
        return READING_COMPREHENSION
    if "tokens" in roles or "tags" in roles:
        return SEQUENCE_LABELING
    if "target" in roles:
        return TEXT_GENERATION
    if "labels" in roles:
        return MULTI_LABEL
    if "label" in roles:
        if "text_b" in roles:
            return PAIR_CLASSIFICATION  # or ABS-5: decided on the labels by _pair_task
        if any(isinstance(r.get(roles["label"]), list) for _, r in records):
            return MULTI_LABEL
        return MIXED_FEATURES if features else SINGLE_TEXT_CLASSIFICATION
    found = ", ".join(k for k in roles.values()) or "none"
    raise ctx.error(records[0][0], f"no label, tags, target or answer column (columns: {found})",
                    "name the columns: text and label (ABS-1), text_a, text_b and label (ABS-2/5), text and "
                    "labels (ABS-3), tokens and tags (ABS-6), src and tgt (ABS-7), context, question and "
                    "answers (ABS-9)")


def _col(key: str) -> str:
    """A column's name for messages: 'label', or 'column 2' when the file has no header."""
    return f"column {int(key) + 1}" if key.isdigit() else repr(key)


def _value(ctx: _Ctx, line: int, record: dict[str, Any], key: str, what: str) -> str:
    v = record.get(key)
    if type(v) is str:
        s = v.strip()
        if s:
            return s
    if v is None or isinstance(v, str):
        raise ctx.error(line, f"the {what} ({_col(key)}) is empty or missing",
                        f"give every row a {what}, or remove the row")
    if isinstance(v, list | dict):
        raise ctx.error(line, f"the {what} ({_col(key)}) is a JSON {'list' if isinstance(v, list) else 'object'}, "
                        "expected one value",
                        "give one value, or pass the task that reads lists (ABS-3 labels, ABS-6 tags)")
    return json.dumps(v, ensure_ascii=False)  # a JSON number or boolean: 1, 0.5, true


def _need(roles: dict[str, str], ctx: _Ctx, *names: str) -> str:
    for n in names:
        if n in roles:
            return roles[n]
    raise ctx.incompatible(f"no {' or '.join(names)} column", f"name the columns for {ctx.wanted} "
                           "(see the guide, section 2.1), or leave out the task to let the reader detect it")


Made = tuple[list[Example], list[str]]


def _label_order(labels: set[str]) -> list[str]:
    if all(_is_number(x) for x in labels):
        return sorted(labels, key=float)
    return sorted(labels)


def _make_single(records: list[tuple[int, dict[str, Any]]], roles: dict[str, str], features: list[str],
                 ctx: _Ctx) -> Made:
    tk, lk = _need(roles, ctx, "text"), _need(roles, ctx, "label", "labels")
    if features and ctx.wanted == SINGLE_TEXT_CLASSIFICATION:
        ctx.notes.append(f"numeric columns ignored (task ABS-1): {', '.join(map(_col, features))}")
    examples = [Example(text=_value(ctx, ln, r, tk, "text"), label=_value(ctx, ln, r, lk, "label"), line=ln)
                for ln, r in records]
    return examples, _label_order({e.label for e in examples if e.label is not None})


def _make_features(records: list[tuple[int, dict[str, Any]]], roles: dict[str, str], features: list[str],
                   ctx: _Ctx) -> Made:
    tk, lk = _need(roles, ctx, "text"), _need(roles, ctx, "label")
    if not features:
        raise ctx.incompatible("no numeric feature columns")
    examples = []
    for ln, r in records:
        feats: list[float] = []
        for key in features:
            v = r.get(key)
            if isinstance(v, list):
                if not all(_numeric_value(x) for x in v):
                    raise ctx.error(ln, f"{_col(key)} holds a value that is not a number", "give numbers only")
                feats.extend(float(x) for x in v)
            elif _numeric_value(v):
                feats.append(float(v))  # type: ignore[arg-type]
            else:
                raise ctx.error(ln, f"feature {_col(key)} is empty or not a number ({v!r})",
                                "fill it in (e.g. 0) or drop the column")
        examples.append(Example(text=_value(ctx, ln, r, tk, "text"), features=tuple(feats),
                                label=_value(ctx, ln, r, lk, "label"), line=ln))
    ctx.notes.append(f"numeric feature columns: {', '.join(map(_col, features))} (ABS-4)")
    return examples, _label_order({e.label for e in examples if e.label is not None})


def _make_pair(records: list[tuple[int, dict[str, Any]]], roles: dict[str, str], features: list[str],
               ctx: _Ctx) -> Made:
    tk, bk, lk = _need(roles, ctx, "text"), _need(roles, ctx, "text_b", "question"), _need(roles, ctx, "label")
    examples = [Example(text=_value(ctx, ln, r, tk, "text"), text_b=_value(ctx, ln, r, bk, "second text"),
                        label=_value(ctx, ln, r, lk, "label"), line=ln) for ln, r in records]
    return examples, _label_order({e.label for e in examples if e.label is not None})


def _pair_task(examples: list[Example], ctx: _Ctx) -> str:
    """ABS-5 when the labels are 0/1 or decimal scores, else ABS-2; a forced task wins."""
    labels = {e.label or "" for e in examples}
    numeric = all(_is_number(x) for x in labels)
    scores = numeric and any(not float(x).is_integer() for x in labels)
    binary = numeric and {float(x) for x in labels} <= {0.0, 1.0}
    if ctx.wanted:
        if ctx.wanted == TEXT_MATCHING and not numeric:
            raise ctx.incompatible(f"the labels are not 0/1 or scores ({', '.join(sorted(labels)[:5])})")
        return ctx.wanted
    if scores:
        ctx.notes.append("pair labels are decimal scores: text matching, a similarity regression (ABS-5)")
        return TEXT_MATCHING
    if binary:
        ctx.notes.append("pair labels are all 0/1: read as text matching, similar or not (ABS-5); pass the task "
                         "ABS-2 if they are two classes of a pair classification")
        return TEXT_MATCHING
    ctx.notes.append(f"pair labels are {len(labels)} classes: sentence-pair classification (ABS-2)")
    return PAIR_CLASSIFICATION


def _make_multilabel(records: list[tuple[int, dict[str, Any]]], roles: dict[str, str], features: list[str],
                     ctx: _Ctx) -> Made:
    tk, lk = _need(roles, ctx, "text"), _need(roles, ctx, "labels", "label")
    raw = [r.get(lk) for _, r in records]
    vectors: list[list[str]] = []
    if all(isinstance(v, list) and v and all(x in (0, 1) and not isinstance(x, bool) for x in v) for v in raw):
        vectors = [[str(x) for x in v] for v in raw]  # type: ignore[union-attr]
    elif all(isinstance(v, str) for v in raw):
        split = [str(v).split() for v in raw]
        if all(s and set(s) <= {"0", "1"} for s in split) and Counter(map(len, split)).most_common(1)[0][0] >= 2:
            vectors = split
    strings = [v.strip() for v in raw if isinstance(v, str)]
    examples = []
    if vectors:
        size = Counter(len(v) for v in vectors).most_common(1)[0][0]
        for (ln, r), vec in zip(records, vectors, strict=True):
            if len(vec) != size:
                raise ctx.error(ln, f"the label vector has {len(vec)} values, expected {size}",
                                f"give every row {size} space-separated 0/1 values, one per label")
            examples.append(Example(text=_value(ctx, ln, r, tk, "text"),
                                    labels=tuple(str(i) for i, x in enumerate(vec) if x == "1"), line=ln))
        if not any("0/1 vector" in n for n in ctx.notes):
            ctx.notes.append(f"labels are 0/1 vectors of {size}: label names are the positions 0..{size - 1}")
        return examples, [str(i) for i in range(size)]
    sep = _list_separator(strings) if strings else None
    if strings and all(s.startswith("[") for s in strings):
        sep = None
    for ln, r in records:
        v = r.get(lk)
        if isinstance(v, str) and v.strip().startswith("["):
            try:
                v = json.loads(v)
            except json.JSONDecodeError as e:
                raise ctx.error(ln, f"the label list {_cut(v)!r} is broken JSON ({e.msg})",
                                'write it as ["a", "b"], or as a,b') from None
        if isinstance(v, list):
            labels = tuple(str(x).strip() for x in v if str(x).strip())
        elif isinstance(v, str):
            labels = tuple(x.strip() for x in (v.split(sep) if sep else [v]) if x.strip())
        elif v is None:
            raise ctx.error(ln, f"the labels ({_col(lk)}) are missing", "give every row its labels (an empty list is fine)")
        elif isinstance(v, int | float):
            labels = (str(v),)
        else:
            raise ctx.error(ln, f"the labels ({_col(lk)}) are a JSON object", 'give a list of names: ["a", "b"]')
        examples.append(Example(text=_value(ctx, ln, r, tk, "text"), labels=labels, line=ln))
    if sep and not any(f"separated by {sep!r}" in n for n in ctx.notes):
        ctx.notes.append(f"label lists split on {sep!r}")
    return examples, sorted({x for e in examples for x in e.labels})


def _make_tagged(records: list[tuple[int, dict[str, Any]]], roles: dict[str, str], features: list[str],
                 ctx: _Ctx) -> Made:
    gk = _need(roles, ctx, "tags", "labels", "label")
    kk = roles.get("tokens") or _need(roles, ctx, "text")
    examples = []
    for ln, r in records:
        tags = _seq(r.get(gk))
        tv = r.get(kk)
        tokens = _seq(tv)
        if not tags:
            raise ctx.error(ln, f"no tags ({_col(gk)} is empty)", "give one tag per token, separated by spaces")
        if len(tokens) != len(tags) and isinstance(tv, str) and len(tv.strip()) == len(tags):
            tokens = list(tv.strip())  # unsegmented characters: 海钓比赛<TAB>O O B-LOC I-LOC
        if len(tokens) != len(tags):
            raise ctx.error(ln, f"{len(tokens)} tokens but {len(tags)} tags",
                            "give exactly one tag per token: `海 钓 比 赛<TAB>O O O O` (tokens and tags "
                            "separated by spaces, a tab between them)")
        examples.append(_tagged(tokens, tags, ln))
    return examples, _tag_names(examples)


def _seq(v: Any) -> list[str]:
    if isinstance(v, list):
        return [str(x) for x in v]
    if isinstance(v, str):
        return v.replace("\x02", " ").split()  # \x02: PaddleNLP's separator
    return []


def _make_target(records: list[tuple[int, dict[str, Any]]], roles: dict[str, str], features: list[str],
                 ctx: _Ctx) -> Made:
    tk, gk = _need(roles, ctx, "text"), _need(roles, ctx, "target", "label")
    return [Example(text=_value(ctx, ln, r, tk, "source text"), target=_value(ctx, ln, r, gk, "target text"),
                    line=ln) for ln, r in records], []


def _make_lm(records: list[tuple[int, dict[str, Any]]], roles: dict[str, str], features: list[str],
             ctx: _Ctx) -> Made:
    tk = _need(roles, ctx, "text")
    if len([k for k in roles if not k.startswith("feature:")]) > 1:
        ctx.notes.append("task ABS-8: only the text is read, other columns ignored")
    return [Example(text=_value(ctx, ln, r, tk, "text"), line=ln) for ln, r in records], []


def _make_mrc(records: list[tuple[int, dict[str, Any]]], roles: dict[str, str], features: list[str],
              ctx: _Ctx) -> Made:
    ck, qk = _need(roles, ctx, "context", "text"), _need(roles, ctx, "question", "text_b")
    examples = []
    for ln, r in records:
        context = _value(ctx, ln, r, ck, "context")
        if r.get(roles.get("answers", "")) is not None:
            answer, start = _first_answer(r.get(roles["answers"]), context)
        else:  # "answer": "...", optionally "answer_start": 17
            answer, start = _first_answer(r.get(roles.get("answer", "")), context)
            given = r.get(roles.get("answer_start", ""))
            if answer is not None and isinstance(given, int) and not isinstance(given, bool):
                start = given
        examples.append(Example(text=context, text_b=_value(ctx, ln, r, qk, "question"), answer=answer,
                                answer_start=start, line=ln))
    return examples, []


_MAKERS = {
    SINGLE_TEXT_CLASSIFICATION: _make_single,
    PAIR_CLASSIFICATION: _make_pair,
    TEXT_MATCHING: _make_pair,
    MULTI_LABEL: _make_multilabel,
    MIXED_FEATURES: _make_features,
    SEQUENCE_LABELING: _make_tagged,
    TEXT_GENERATION: _make_target,
    LANGUAGE_MODEL: _make_lm,
    READING_COMPREHENSION: _make_mrc,
}
