"""The language-model format (ABS-8): one sentence a line, marked `<s> ... <e>`."""

from __future__ import annotations

from advisor.dataset import Dataset, Example
from advisor.formats._base import ReadContext, split_lines
from presets.catalog import TaskId


def looks_lm(lines: list[str]) -> bool:
    nonblank = [ln.strip() for ln in lines[:500] if ln.strip()]
    return bool(nonblank) and sum(ln.startswith("<s>") or ln.endswith("<e>") for ln in nonblank) >= 0.5 * len(nonblank)


class SentenceLines:
    name = "lines"

    def sniff(self, text: str, head: list[str], ext: str, wanted: str | None) -> bool:
        if ext == ".csv":
            return False
        return looks_lm(head) or (wanted == TaskId.ABS_8 and not any("\t" in ln for ln in head[:50]))

    def read(self, text: str, ext: str, ctx: ReadContext) -> Dataset:
        if ctx.wanted not in (None, TaskId.ABS_8):
            raise ctx.incompatible("it holds `<s> ... <e>` sentences (ABS-8)")
        examples = []
        for i, raw in enumerate(split_lines(text), 1):
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
        return Dataset(ctx.name, TaskId.ABS_8, self.name, examples, notes=ctx.notes)
