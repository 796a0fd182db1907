"""Rich rendering of a recommendation and of the rule book (the terminal's view of the same objects)."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from advisor.recommendation import Recommendation
from advisor.rules import Condition, Rule


def condition_text(cond: Condition | None) -> str:
    if cond is None:
        return "always"
    if cond.all or cond.any:
        parts = []
        if cond.all:
            parts.append(" and ".join(condition_text(c) for c in cond.all))
        if cond.any:
            parts.append("(" + " or ".join(condition_text(c) for c in cond.any) + ")")
        return " and ".join(parts)
    if cond.op in ("set", "unset"):
        return f"{cond.field} is {cond.op}"
    symbol = {"eq": "=", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<=", "in": "in", "not_in": "not in"}
    return f"{cond.field} {symbol[cond.op]} {cond.value}"


def _kv(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, value)
    return table


def render_recommendation(rec: Recommendation, console: Console, verbose: bool = True) -> None:
    t = rec.task
    task = _kv([("task", f"[bold cyan]{t.id}[/] {t.name} ({t.name_zh})  [dim]by {t.rule}[/]"),
                ("data format", t.format.replace("\t", " ⇥ ")),
                ("metric", rec.answers.get("metric")
                 or (f"{t.default_metric} (the task's default: no metric given)" if t.default_metric
                     else "none given, and the task has no default"))])
    parts: list = [task]
    if not t.supported_by_automl:
        parts.append(Text(f"automl: {t.unsupported_hint}", style="yellow"))
    if rec.decomposition.steps:
        steps = " → ".join(f"{s.id} {s.name}" for s in rec.decomposition.steps)
        parts.append(Text(f"decompose ({rec.decomposition.rule}): {steps}"))

    ladder = Table(title="models to try, in order", title_justify="left", expand=False)
    for col in ("#", "model", "size", "params", "role", "weights", "rule"):
        ladder.add_column(col, no_wrap=col in ("model", "rule"))
    for i, tier in enumerate(rec.model_tiers, 1):
        weights = "built from data" if tier.family != "transformer" else "on this machine" if tier.offline else "hub download"
        ladder.add_row(str(i), tier.name, tier.size, f"{tier.params_millions}M", tier.role, weights, tier.rule)

    d, h, tr, dv = rec.distill, rec.hardware, rec.training, rec.data_verdict
    distill_line = "none" if d.method == "none" else f"{d.method}: {d.teacher} → {d.student}"
    plans = _kv([
        ("distill", f"{distill_line}  [dim]{', '.join(d.rules)}[/]"),
        ("hardware", f"train on {h.train_device}" + (f" ({h.cards} cards: {h.gpus_per_machine}/machine x {h.machines})" if h.cards else "")
         + f", serve on {h.serve_device}, {h.data_files} data file(s)"
         + (f", {h.gpu_model} at {h.price_per_card_hour} {h.currency}/card-hour" if h.gpu_model else "")
         + (f", ≈{h.estimated_train_cost} {h.currency} for the budget" if h.estimated_train_cost else "")
         + f"  [dim]{', '.join(h.rules)}[/]"),
        ("training", f"{tr.model}: batch {tr.batch_size} (then {tr.batch_size_search}), lr {tr.learning_rate:g}, "
         f"{tr.epochs} epochs, max_length {tr.max_length}, {tr.steps_per_epoch} steps/epoch, "
         f"log/eval/save every {tr.train_log_step}/{tr.eval_step}/{tr.save_model_step} steps"
         + (", mixed precision" if tr.mixed_precision else "") + f"  [dim]{', '.join(tr.rules)}[/]"),
        ("data", f"[bold]{dv.verdict}[/]: {dv.labeled_rows:,} labeled rows"
         + (f", {dv.rows_per_label:.0f} per label (need {dv.needed_rows:,})" if dv.rows_per_label is not None and dv.needed_rows else "")
         + "; " + "; ".join(dv.notes)),
    ])
    parts += [ladder, *measured_parts(rec), plans]
    if d.stages:
        parts.append(Text("distillation stages: " + " | ".join(d.stages), style="dim"))
    if rec.warnings:
        parts.append(Text("\n".join(f"⚠ {w}" for w in rec.warnings), style="yellow"))
    console.print(Panel(Group(*parts), title="recommendation", border_style="cyan"))
    if verbose:
        fired = Table(title=f"rules that fired ({len(rec.fired_rules)}), from the guide", title_justify="left", show_lines=False)
        fired.add_column("id", style="bold", no_wrap=True)
        fired.add_column("because")
        fired.add_column("when it held")
        fired.add_column("guide says", style="dim")
        for f in rec.fired_rules:
            held = ", ".join(f"{c.field}={c.actual}" for c in f.conditions) or "always"
            fired.add_row(f.id, f.because, held, f.source)
        console.print(fired)
    console.print(f"[dim]source: {rec.guide.title} — {rec.guide.url} ({rec.guide.license})[/]")


def measured_parts(rec: Recommendation) -> list[RenderableType]:
    """The `--measure` table (serving QPS, training rate, an epoch's hours and cost) and the QPS facts;
    the fp32 figures are in the JSON."""
    rows = [t.measured for t in rec.model_tiers if t.measured is not None]
    if not rows:
        return []
    first = rows[0]
    table = Table(title=f"measured here: {first.device}, {first.threads} thread(s), serving in {first.precision}, "
                        "random weights", title_justify="left")
    for col in ("model", "QPS b1", "QPS b32", "train/s", "h/epoch", f"{first.currency}/epoch", "target"):
        table.add_column(col, no_wrap=True, justify="left" if col == "model" else "right")
    for tier in rec.model_tiers:
        m = tier.measured
        if m is None:
            continue
        meets = "meets" if m.meets_qps else f"x{m.machines_for_qps}" if m.machines_for_qps else "-"
        table.add_row(tier.name, f"{m.qps_batch_1:,.0f}", f"{m.qps_batch_32:,.0f}", f"{m.train_samples_per_s:,.0f}",
                      f"{m.hours_per_epoch:.2g}" if m.hours_per_epoch is not None else "-",
                      f"{m.cost_per_epoch:.2g}" if m.cost_per_epoch is not None else "-", meets)
    facts = next((a.removeprefix("QPS (measured): ") for a in rec.advice if a.startswith("QPS (measured)")), "")
    return [table, Text(facts, style="green")] if facts else [table]


def render_rule(rule: Rule, console: Console, guide_line: str) -> None:
    effects = ", ".join(f"{k} = {v}" for k, v in rule.then.items()) or "-"
    console.print(Panel(_kv([("id", f"{rule.id} ({rule.kind}, guide section {rule.section})"),
                             ("when", condition_text(rule.when)), ("then", effects), ("because", rule.because),
                             ("guide says", rule.source)]), title=rule.id, subtitle=guide_line))


def render_rules(rules: tuple[Rule, ...], console: Console) -> None:
    table = Table(title=f"{len(rules)} rules", title_justify="left")
    for col in ("id", "kind", "when", "then", "because"):
        table.add_column(col)
    for r in rules:
        table.add_row(r.id, r.kind, condition_text(r.when), ", ".join(f"{k}={v}" for k, v in r.then.items()), r.because)
    console.print(table)
