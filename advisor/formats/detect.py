"""Which reader a file needs: its bytes as text (UTF-8, with a clear message otherwise), then the first
reader in `READERS` whose `sniff` says yes."""

from __future__ import annotations

from pathlib import Path

from advisor.dataset import Dataset
from advisor.errors import UserError
from advisor.formats._base import HEAD_CHARS, ReadContext, Reader, split_lines
from advisor.formats.conll import Conll
from advisor.formats.json_files import JsonRecords
from advisor.formats.lines import SentenceLines
from advisor.formats.tables import Csv, Tsv
from advisor.formats.tasks import normalize_task

# Most specific first: JSON by extension or first character; `<s> ... <e>` lines and CoNLL by content
# (never for a .csv); CSV by extension or commas without tabs; TSV, the guide's own form, otherwise.
READERS: tuple[Reader, ...] = (JsonRecords(), SentenceLines(), Conll(), Csv(), Tsv())


def read_dataset(path: str | Path, task: str | None = None) -> Dataset:
    """Parse `path` into a Dataset. `task` (an ABS id) overrides the detected task abstraction."""
    ctx = ReadContext(str(path), normalize_task(task))
    p = Path(path)
    text = read_text(p, ctx.name)
    head = split_lines(text[:HEAD_CHARS])  # enough to tell the format; all lines only where needed
    if len(text) > HEAD_CHARS:
        head.pop()  # maybe cut in the middle
    ext = p.suffix.lower()
    reader = next(r for r in READERS if r.sniff(text, head, ext, ctx.wanted))
    return reader.read(text, ext, ctx)


def read_text(p: Path, name: str) -> str:
    """The file as text: UTF-8 (a BOM dropped); a UserError with the fix for a missing, empty or
    differently encoded file (naming the encoding it does decode as)."""
    if not p.exists():
        raise UserError(f"{name}: no such file", "check the path (relative paths start from the current folder)")
    if p.is_dir():
        raise UserError(f"{name}: is a folder, not a file", "give the data files themselves, e.g. train.tsv dev.tsv")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise UserError(f"{name}: cannot be read ({e.strerror})", "check the file's permissions") from None
    if not data.strip() or data.strip() == b"\xef\xbb\xbf":
        raise UserError(f"{name}: the file is empty", "give a file with one example a line (see the guide, section 2.1)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        enc = next((c for c in ("gb18030", "big5", "utf-16") if _decodes(data, c)), "")
        guess = f" (it decodes as {enc.upper()})" if enc else ""
        src = enc.upper() or "GB18030"
        raise UserError(
            f"{name}, line {line}: not UTF-8{guess}: byte 0x{data[e.start]:02x} at byte offset {e.start} "
            f"(column {column})",
            f"convert the file to UTF-8, e.g. `iconv -f {src} -t UTF-8 {name} > fixed.txt`",
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
