"""`advisor`: recommend, inspect, explain, rules. Errors a user can cause exit 2 with one message."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from advisor.errors import UserError

app = typer.Typer(help="Which NLP task is your problem, which model can you afford, what hardware and plan: "
                       "the guide's rules applied to your answers or your data.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # messages stay one greppable line
F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Turn a UserError into one message and exit code 2, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as err:
            err_console.print(f"[bold red]error:[/] {escape(err.message)}")  # "[binary]" is text, not markup
            if err.fix:
                err_console.print(f"[bold]fix:[/] {escape(err.fix)}")
            raise typer.Exit(err.exit_code) from None

    return wrapper  # type: ignore[return-value]


@app.command()
@user_errors
def recommend(
    answers: Annotated[Path | None, typer.Option("--answers", "-a", help="Answers file (TOML, YAML or JSON): no questions.")] = None,
    data: Annotated[list[Path] | None, typer.Option("--data", "-d", help="Data file(s): fill what they tell, ask only the rest.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the recommendation as JSON.")] = False,
    save_answers: Annotated[Path | None, typer.Option("--save-answers", help="Write the answers to this file (TOML/YAML/JSON).")] = None,
    brief: Annotated[bool, typer.Option("--brief", help="Leave out the table of fired rules.")] = False,
    measure: Annotated[bool, typer.Option("--measure", help="Time every tier of the ladder on this machine (random weights, a few seconds each; loads torch).")] = False,
    measure_seconds: Annotated[float | None, typer.Option(min=0.5, help="Timing budget per tier for --measure (default 4 s).")] = None,
    curve: Annotated[Path | None, typer.Option("--curve", help="A learning curve (`automl curve`'s curve.json, or the folder holding it) for the data verdict.")] = None,
) -> None:
    """Recommend a task abstraction, model tiers, hardware and a training plan, each with the rules behind it."""
    from advisor.answers import dump_answers, load_answers, parse_answers
    from advisor.plans import recommend as make_recommendation

    known: dict[str, Any] = {}
    if data:
        from advisor.from_data import answers_from_data

        known.update(answers_from_data([str(p) for p in data], console if not as_json else None))
    if answers:
        known.update(load_answers(answers))
        result = parse_answers(known, origin=str(answers))
    else:
        from advisor.questions import ask

        result = ask(err_console if as_json else console, known)
    if save_answers:
        dump_answers(result, save_answers)
    rec = make_recommendation(result)
    if curve:
        from advisor.curve_verdict import attach_curve

        attach_curve(rec, curve)
    if measure:
        from advisor.measured import measure_ladder

        say = err_console if as_json else console
        rec.warnings.extend(measure_ladder(rec, result, data, seconds=measure_seconds,
                                           progress=lambda name: say.print(f"[dim]measuring {name} ...[/]")))
    if as_json:
        sys.stdout.write(rec.model_dump_json(indent=2) + "\n")
    else:
        from advisor.render import render_recommendation

        render_recommendation(rec, console, verbose=not brief)


@app.command()
@user_errors
def inspect(
    files: Annotated[list[Path], typer.Argument(help="Data files; given together, they are checked for overlap (leakage).")],
    task: Annotated[str | None, typer.Option(help="Force the task abstraction (an ABS id) instead of detecting it.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Say which task a data file is, and check its labels, lengths, duplicates, conflicts and leakage."""
    from advisor.inspection import inspect_files
    from advisor.render_inspection import render_inspection

    found = inspect_files([str(f) for f in files], task=task)
    if as_json:
        sys.stdout.write(json.dumps(found.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        render_inspection(found, console)


@app.command()
@user_errors
def explain(name: Annotated[str, typer.Argument(help="A rule id (QPS-1) or a term (batch_size, f1, ...).")]) -> None:
    """Show one rule with its condition, effect and the guide's sentence, or explain a term."""
    import presets
    from advisor.answers import did_you_mean
    from advisor.render import render_rule
    from advisor.rules import rulebook

    book = rulebook()
    rule = book.by_id.get(name.upper())
    if rule:
        render_rule(rule, console, f"{book.guide.title} — {book.guide.url}")
        return
    terms = presets.load("glossary").get("terms", {})
    key = name.lower().replace("-", "_").replace(" ", "_")
    if key in terms:
        term = terms[key]
        console.print(f"[bold]{term.get('term', key)}[/] ({term.get('zh', '')}): {term['explain']}")
        return
    raise UserError(f"no rule or term {name!r}.{did_you_mean(name, list(book.by_id) + list(terms))}",
                    "`advisor rules` lists the rule ids; terms are the guide's KNOW list (presets/glossary.toml).")


@app.command()
@user_errors
def rules(group: Annotated[str | None, typer.Argument(help="Only this group: ABS, QPS, DIST, ...")] = None) -> None:
    """List the guide's rules as the advisor carries them."""
    from advisor.render import render_rules
    from advisor.rules import rulebook

    selected = tuple(r for r in rulebook().rules if group is None or r.group == group.upper())
    if not selected:
        raise UserError(f"no rules in group {group!r}.", "Groups: " + ", ".join(sorted({r.group for r in rulebook().rules})))
    render_rules(selected, console)


if __name__ == "__main__":
    app()
