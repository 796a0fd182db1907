"""Apply the rule book to a user's answers: which rules fire, why, and what they decide.

`evaluate` walks the rules in file order over the facts (the answers plus a few derived ones),
records a trace of every rule that fired with the conditions that held and their actual values,
and collects the effects. `recommend` (advisor/plans.py) turns that into the full recommendation.
"""

from __future__ import annotations

import operator
import string
from dataclasses import dataclass, field
from typing import Any

from advisor.answers import Answers
from advisor.recommendation import ConditionTrace, FiredRule
from advisor.rules import Condition, Rule, RuleBook
from presets.catalog import task as task_type

_COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
    "in": lambda a, b: a in b,
    "not_in": lambda a, b: a not in b,
}


def derive_facts(answers: Answers) -> dict[str, Any]:
    """The answers plus the facts rules may test that the user does not give directly."""
    facts: dict[str, Any] = answers.model_dump()
    facts["rows_per_label"] = answers.labeled_rows / answers.num_labels if answers.num_labels else None
    facts["cards"] = answers.gpus * answers.machines if answers.train_hardware == "gpu" else 0
    facts["distill"] = "none"
    facts["task"] = None
    return facts


def holds(cond: Condition, facts: dict[str, Any], trace: list[ConditionTrace]) -> bool:
    """Whether `cond` holds; the leaves that decided it are appended to `trace`."""
    if cond.all or cond.any:
        sub: list[ConditionTrace] = []
        if not all(holds(c, facts, sub) for c in cond.all):
            return False
        if cond.any:
            for child in cond.any:
                branch: list[ConditionTrace] = []
                if holds(child, facts, branch):
                    sub.extend(branch)
                    break
            else:
                return False
        trace.extend(sub)
        return True
    actual = facts.get(cond.field)
    if cond.op == "set":
        ok = actual is not None
    elif cond.op == "unset":
        ok = actual is None
    else:
        ok = actual is not None and bool(_COMPARE[cond.op](actual, cond.value))
    if ok:
        trace.append(ConditionTrace(field=cond.field, op=cond.op, value=cond.value, actual=actual))
    return ok


class _Facts(dict):  # type: ignore[type-arg]
    """Format mapping that leaves unknown or unset placeholders readable instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def explain(rule: Rule, facts: dict[str, Any]) -> str:
    """The rule's `because` with the user's values filled in."""
    values = _Facts({k: v for k, v in facts.items() if v is not None})
    try:
        return string.Formatter().vformat(rule.because, (), values)
    except (ValueError, TypeError):  # a placeholder whose fact is unset keeps its text
        return rule.because


@dataclass
class Evaluation:
    """What the rules decided, before it is turned into plans."""

    facts: dict[str, Any]
    fired: list[FiredRule] = field(default_factory=list)
    task_rule: str = ""
    decompose: list[str] = field(default_factory=list)
    decompose_rule: str = ""
    ladder: list[tuple[str, str]] = field(default_factory=list)  # (step, rule id)
    distill_rules: list[str] = field(default_factory=list)
    train_device: tuple[str, str] | None = None  # (device, rule id)
    serve_device: tuple[str, str] | None = None

    def fired_ids(self) -> list[str]:
        return [f.id for f in self.fired]

    def fired_where(self, kind: str) -> list[FiredRule]:
        return [f for f in self.fired if f.kind == kind]


def evaluate(book: RuleBook, answers: Answers) -> Evaluation:
    ev = Evaluation(facts=derive_facts(answers))
    for rule in book.rules:
        trace: list[ConditionTrace] = []
        if rule.when is not None and not holds(rule.when, ev.facts, trace):
            continue
        ev.fired.append(FiredRule(id=rule.id, kind=rule.kind, section=rule.section,
                                  because=explain(rule, ev.facts), source=rule.source, conditions=trace))
        apply_effects(ev, rule)
    return ev


def apply_effects(ev: Evaluation, rule: Rule) -> None:
    then = rule.then
    if "task" in then and ev.facts["task"] is None:
        ev.facts["task"], ev.task_rule = then["task"], rule.id
        # what GOAL-1 says the plan falls back to when no metric is given
        ev.facts["default_metric"] = task_type(then["task"]).default_metric or "none: see the task's metric note"
    if "decompose" in then and not ev.decompose:
        ev.decompose, ev.decompose_rule = list(then["decompose"]), rule.id
    if "distill" in then:
        ev.facts["distill"] = then["distill"]
        ev.distill_rules.append(rule.id)
    for step in then.get("ladder", ()):
        if step not in (s for s, _ in ev.ladder):
            ev.ladder.append((step, rule.id))
    if "train_device" in then:
        ev.train_device = (then["train_device"], rule.id)
    if "serve_device" in then:
        ev.serve_device = (then["serve_device"], rule.id)
