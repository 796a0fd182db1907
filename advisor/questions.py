"""The interactive Q&A: one question per answer field, validated by the same schema as files.

A bad answer re-asks instead of crashing; `?` explains the question and its choices (the guide's
KNOW list, presets/glossary.toml).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from rich.console import Console

import presets
from advisor.answers import FIELDS, Answers, choices, did_you_mean, parse_answers
from advisor.errors import UserError
from presets.catalog import tiers


@dataclass(frozen=True)
class Question:
    field: str
    prompt: str
    ask_if: Callable[[dict[str, Any]], bool] = lambda answers: True
    optional: bool = False  # Enter with no default leaves it unset


def _gpu(a: dict[str, Any]) -> bool:
    return a.get("train_hardware") == "gpu"


QUESTIONS = (
    Question("input", "What goes in (X)?"),
    Question("output", "What comes out (Y)?"),
    Question("num_labels", "How many classes / labels / tag types?",
             ask_if=lambda a: a.get("output") in ("one_class", "independent_labels", "tag_per_token", "several")),
    Question("labeled_rows", "How many labeled examples do you have?"),
    Question("unlabeled_rows", "How many unlabeled texts of the same kind?"),
    Question("language", "Language of the text (zh, en, ...)?"),
    Question("qps", "Serving queries per second needed?"),
    Question("latency_ms", "Latency limit per query in ms (Enter: none)?", optional=True),
    Question("train_hardware", "Train on?"),
    Question("gpus", "GPU cards per machine?", ask_if=_gpu),
    Question("machines", "How many training machines?", ask_if=_gpu),
    Question("gpu_model", "GPU model, to price the plan (Enter: skip)?", ask_if=_gpu, optional=True),
    Question("serve_hardware", "Serve on?"),
    Question("metric", "Quality metric, fixed before training?", optional=True),
    Question("train_hours", "Training time budget in hours (Enter: none)?", optional=True),
    Question("iterations", "A one-off baseline, or many iterations?"),
    Question("complex_task", "Is it one of these complex tasks?"),
)


def explanation(name: str) -> str:
    """The glossary's text for a question (and for each of its choices, where the glossary has them)."""
    question = presets.load("glossary").get("questions", {}).get(name, {})
    lines = [question.get("explain", FIELDS[name].description or name)]
    lines += [f"  {choice}: {text}" for choice, text in question.get("choices", {}).items()]
    return "\n".join(lines)


_PLACEHOLDER = {"input": "one_text", "output": "one_class"}


class Unusual(UserError):
    """A valid answer the plan can do little with (a language without pretrained tiers): said at once, kept
    when the user types it again."""


def language_note(language: str) -> str:
    """What the plan can do for a language no tier is made for ("" when one is): said at the prompt, not
    after every question."""
    from advisor.tiers import MULTILINGUAL

    pretrained = [t for t in tiers().values() if t.pretrained]
    own = sorted({t.language for t in pretrained} - {MULTILINGUAL})
    if language in own:
        return ""
    multi = [t.name for t in pretrained if t.language == MULTILINGUAL]
    serves = (f"the plan would use the multilingual {', '.join(multi)} and the from-scratch nets" if multi else
              f"the plan would show {own[0]!r} tiers and the from-scratch nets")
    return (f"no model in presets/models.toml is made for language {language!r} (there are for {', '.join(own)}); "
            f"{serves}.{did_you_mean(language, own)}")


def check_one(name: str, raw: str, context: dict[str, Any] | None = None) -> Any:
    """Validate one answer with the schema (and the answers so far, for rules across them, such as
    num_labels against output); raise UserError with the reason, Unusual for an answer to confirm."""
    value: Any = raw.strip()
    allowed = choices(name)
    if allowed and value.isdigit() and 1 <= int(value) <= len(allowed):
        value = allowed[int(value) - 1]  # a choice may be picked by its number
    shape = {k: v for k, v in (context or {}).items() if k in _PLACEHOLDER}
    try:
        answers = Answers.model_validate({**_PLACEHOLDER, **shape, name: value})
    except ValidationError as exc:
        err = exc.errors()[0]
        if allowed:
            raise UserError(f"{value!r} is not a choice.{did_you_mean(value, allowed)}",
                            f"Type one of {', '.join(allowed)} (or its number), or ? to explain.") from None
        message = str(err["msg"]).removeprefix("Value error, ")
        raise UserError(f"{value!r}: {message}", "Type ? to explain the question.") from None
    if name == "language" and (note := language_note(answers.language)):
        raise Unusual(note, f"Type {answers.language!r} again to keep it, or another language code.")
    return getattr(answers, name)


def ask(console: Console, known: dict[str, Any] | None = None) -> Answers:
    """Ask every question not already answered in `known`; return validated answers."""
    answers: dict[str, Any] = dict(known or {})
    unusual: dict[str, str] = {}  # the last answer of each field that was said to be unusual
    for q in QUESTIONS:
        if q.field in answers or not q.ask_if(answers):
            continue
        default = None if FIELDS[q.field].is_required() else FIELDS[q.field].default
        allowed = choices(q.field)
        menu = "  ".join(f"[cyan]{i}[/] {c}" for i, c in enumerate(allowed, 1))
        while True:
            suffix = f" [dim](default {default})[/]" if default is not None else ""
            if menu:
                console.print(f"  {menu}")
            try:
                raw = console.input(f"[bold]{q.prompt}[/]{suffix} [dim](? explains)[/] ")
            except EOFError:
                raise UserError(f"no answer for {q.field!r}: the input ended.",
                                "Answer every question, or give them all in a file with --answers FILE.") from None
            raw = raw.strip()
            if raw == "?":
                console.print(f"[green]{explanation(q.field)}[/]")
                continue
            if raw == "":
                if default is not None:
                    answers[q.field] = default
                    break
                if q.optional:
                    break
                console.print("[yellow]This one needs an answer (? explains it).[/]")
                continue
            try:
                answers[q.field] = check_one(q.field, raw, answers)
                break
            except Unusual as err:
                if raw == unusual.get(q.field):  # typed again: the user means it
                    answers[q.field] = raw
                    break
                unusual[q.field] = raw
                console.print(f"[yellow]{err.message}[/] {err.fix}")
            except UserError as err:
                console.print(f"[yellow]{err.message}[/] {err.fix}")
    return parse_answers(answers, origin="your answers")
