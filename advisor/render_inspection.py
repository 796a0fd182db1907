"""Rich rendering of `advisor inspect`: one panel per file, the texts shared between files, the warnings.

The terminal's view of `advisor.inspection.Inspection` (the dashboard's is dashboard/inspection_view.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.inspection import LENGTH_CAP, LENGTH_STEP, MIN_PER_LABEL, FileReport, Inspection, split_tag

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


def _cut(s: str, cells: int = 60) -> str:
    """One line of at most `cells` terminal cells (a CJK character takes two)."""
    from rich.cells import cell_len

    s = " ".join(s.split())
    if cell_len(s) <= cells:
        return s
    out, used = [], 1
    for ch in s:
        used += cell_len(ch)
        if used > cells:
            break
        out.append(ch)
    return "".join(out) + "…"


def render_inspection(insp: Inspection, console: Console) -> None:
    """Print the inspection: one panel per file, then the texts shared between files and the warnings."""
    from rich.table import Table
    from rich.text import Text

    for report in insp.files:
        console.print(_file_panel(report, console.width))
    if len(insp.files) > 1:
        short = _short_names([r.path for r in insp.files])
        table = Table(title="Texts shared between files (train/dev/test leakage)", title_justify="left")
        table.add_column("file a", overflow="fold")
        table.add_column("file b", overflow="fold")
        table.add_column("shared", justify="right")
        table.add_column("% of smaller", justify="right")
        for ov in insp.overlaps:
            style = "bold red" if ov.shared_texts else "green"
            table.add_row(Text(short[ov.file_a]), Text(short[ov.file_b]), Text(f"{ov.shared_texts:,}", style=style),
                          Text(f"{ov.share_of_smaller:.1%}", style=style))
        console.print(table)
        for ov in insp.overlaps:
            if ov.examples:
                console.print(Text(f"  in both {short[ov.file_a]} and {short[ov.file_b]}, e.g.:", style="dim"))
            for x in ov.examples:
                console.print(Text(f"    · {_cut(x, max(20, console.width - 8))}", style="dim"))
    for w in insp.warnings:
        console.print(Text(f"⚠ {w}", style="bold red"))


def _short_names(paths: list[str]) -> dict[str, str]:
    """File names without their folders where that keeps them apart, else the paths."""
    names = {p: p.replace("\\", "/").rsplit("/", 1)[-1] for p in paths}
    return names if len(set(names.values())) == len(set(paths)) else {p: p for p in paths}


def _file_panel(r: FileReport, console_width: int = 100) -> RenderableType:
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    parts: list[RenderableType] = []
    width = max(30, console_width - 50)
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("task", Text(f"{r.task} {r.task_name}", style="cyan"))
    summary.add_row("format", f"{r.format}, {r.rows:,} rows")
    s = r.lengths
    key = "chars" if r.length_of == "text" else f"chars ({r.length_of.replace(' + ', '+').replace('text_', '')})"
    summary.add_row(key, f"min {s.min} · mean {s.mean:g} · p50 {s.p50} · p90 {s.p90} · p95 {s.p95} · "
                    f"p99 {s.p99} · max {s.max}")
    if r.target_lengths:
        t = r.target_lengths
        summary.add_row("chars (target)", f"min {t.min} · mean {t.mean:g} · p50 {t.p50} · p95 {t.p95} · max {t.max}")
    summary.add_row("max_length", Text(f"{r.suggested_max_length}  (p95 rounded up to ×{LENGTH_STEP}, "
                                       f"≤ {LENGTH_CAP})"))
    summary.add_row("duplicates", Text(f"{r.duplicate_rows} rows", style="yellow" if r.duplicate_rows else "green"))
    if r.conflicting_texts is not None:
        summary.add_row("conflicts", Text(f"{r.conflicting_texts} texts with different labels",
                                          style="red" if r.conflicting_texts else "green"))
    parts.append(summary)

    if r.examples_per_label:
        typed = bool(r.tag_counts) and any(split_tag(t) for t in r.tag_counts)
        heading = f"{r.label_count} entity types: entities per type" if typed else f"{r.label_count} labels: examples per label"
        parts.append(Text(heading, style="bold"))
        labels = Table(box=None, padding=(0, 2), show_header=False)
        labels.add_column()
        labels.add_column(justify="right")
        labels.add_column()
        items = list(r.examples_per_label.items())
        top = items[:12]
        for name, n in top:
            rare = n < MIN_PER_LABEL
            labels.add_row(Text(_cut(name, 40)), Text(f"{n:,}", style="yellow" if rare else ""),
                           Text(f"< {MIN_PER_LABEL} (DATA-6)" if rare else "", style="yellow"))
        if len(items) > len(top):
            rest = items[len(top):]
            labels.add_row(Text(f"… {len(rest)} more", style="dim"), Text(f"{sum(n for _, n in rest):,}", style="dim"),
                           Text(f"smallest: {_cut(rest[-1][0], 30)} ({rest[-1][1]})", style="dim"))
        parts.append(labels)
    if r.tag_counts:
        line = " · ".join(f"{k} {v:,}" for k, v in list(r.tag_counts.items())[:16])
        parts.append(Text(f"tokens per tag: {line}", style="dim"))

    for title, repeats in (("duplicate", r.duplicate_examples), ("conflict", r.conflict_examples)):
        for rep in repeats:
            text = _cut(rep.text if rep.text_b is None else f"{rep.text} ||| {rep.text_b}", width)
            labels_seen = " vs ".join(f"{_cut(k, 20)} ×{v}" for k, v in rep.labels.items())
            lines = ", ".join(map(str, rep.lines)) if any(rep.lines) else "-"
            detail = f"  [{labels_seen}]" if labels_seen else f"  ×{rep.count}"
            parts.append(Text(f"  {title}: {text}{detail}  (lines {lines})", style="dim"))
    for note in r.notes:
        parts.append(Text(f"read: {note}", style="dim italic"))
    for w in r.warnings:
        parts.append(Text(f"⚠ {w}", style="yellow"))
    border = "yellow" if r.warnings else "green"
    return Panel(Group(*parts), title=Text(r.path, style="bold"), title_align="left", border_style=border)
