"""The guide's rules, loaded from presets/rules.toml and checked against the answer schema.

A rule is data: `id`, `when` (a condition tree of {field, op, value}), `then` (effects), `because`
(a one-line reason) and `source` (the guide's own sentence). A typo in the presets fails here, at
load time, with a "did you mean", never in front of a user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, get_args

import presets
from advisor.answers import FIELDS, choices
from presets.catalog import SCRATCH_FAMILIES, Size, did_you_mean, tasks
from presets.catalog import PresetError as PresetError  # re-exported: one error for every preset file

DERIVED_FACTS = {"task": (), "rows_per_label": (), "cards": (), "distill": ("none", "model", "data")}
OPERATORS = ("eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "set", "unset")
KINDS = ("decision", "warning", "advice")
LADDER_STEPS = (*(size for size in get_args(Size) if size != "scratch"), *SCRATCH_FAMILIES)  # models.toml's
EFFECTS: dict[str, tuple[str, ...]] = {
    "task": (),  # an ABS id, checked against tasks.toml
    "decompose": (),
    "distill": ("none", "model", "data"),
    "ladder": LADDER_STEPS,
    "train_device": ("gpu", "cpu"),
    "serve_device": ("gpu", "cpu", "cpu_cluster"),
}


@dataclass(frozen=True)
class Condition:
    """A leaf `{field, op, value}` or a group (`all` / `any` of children)."""

    field: str = ""
    op: str = ""
    value: Any = None
    all: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    section: str
    kind: str
    when: Condition | None
    then: dict[str, Any]
    because: str
    source: str

    @property
    def group(self) -> str:
        return self.id.split("-")[0]


@dataclass(frozen=True)
class Guide:
    title: str
    url: str
    license: str
    summary: str = ""


@dataclass(frozen=True)
class RuleBook:
    guide: Guide
    rules: tuple[Rule, ...]
    by_id: dict[str, Rule] = field(hash=False, compare=False)


def _fact_choices(name: str) -> tuple[str, ...]:
    return DERIVED_FACTS[name] if name in DERIVED_FACTS else choices(name)


def _check_value(rule_id: str, name: str, value: Any, allowed: tuple[str, ...]) -> None:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if allowed and v not in allowed:
            raise PresetError(f"rule {rule_id}: {name} value {v!r} is not one of {', '.join(allowed)}.{did_you_mean(v, allowed)}")


def parse_condition(rule_id: str, raw: dict[str, Any], task_ids: tuple[str, ...]) -> Condition:
    if set(raw) - {"all", "any", "field", "op", "value"}:
        unknown = sorted(set(raw) - {"all", "any", "field", "op", "value"})
        raise PresetError(f"rule {rule_id}: unknown condition key(s) {unknown}; use all/any or field/op/value.")
    if "all" in raw or "any" in raw:
        return Condition(
            all=tuple(parse_condition(rule_id, c, task_ids) for c in raw.get("all", ())),
            any=tuple(parse_condition(rule_id, c, task_ids) for c in raw.get("any", ())),
        )
    name, op = raw.get("field", ""), raw.get("op", "")
    known = sorted(set(FIELDS) | set(DERIVED_FACTS))
    if name not in known:
        raise PresetError(f"rule {rule_id}: unknown field {name!r}.{did_you_mean(name, known)}")
    if op not in OPERATORS:
        raise PresetError(f"rule {rule_id}: unknown operator {op!r}.{did_you_mean(op, OPERATORS)}")
    if op in ("set", "unset"):
        if "value" in raw:
            raise PresetError(f"rule {rule_id}: operator {op!r} takes no value.")
    elif "value" not in raw:
        raise PresetError(f"rule {rule_id}: condition on {name!r} with {op!r} needs a value.")
    if op in ("in", "not_in") and not isinstance(raw["value"], list):
        raise PresetError(f"rule {rule_id}: operator {op!r} needs a list value, got {raw['value']!r}.")
    allowed = task_ids if name == "task" else _fact_choices(name)
    if op in ("eq", "ne", "in", "not_in"):
        _check_value(rule_id, name, raw["value"], allowed)
    return Condition(field=name, op=op, value=raw.get("value"))


def parse_rule(raw: dict[str, Any], task_ids: tuple[str, ...]) -> Rule:
    rule_id = raw.get("id", "?")
    expected = {"id", "section", "kind", "when", "then", "because", "source"}
    if set(raw) - expected:
        extra = sorted(set(raw) - expected)
        raise PresetError(f"rule {rule_id}: unknown key(s) {extra}.{did_you_mean(extra[0], sorted(expected))}")
    for key in ("id", "kind", "because", "source"):
        if not raw.get(key):
            raise PresetError(f"rule {rule_id}: missing {key!r}.")
    if raw["kind"] not in KINDS:
        raise PresetError(f"rule {rule_id}: kind {raw['kind']!r} is not one of {KINDS}.{did_you_mean(raw['kind'], KINDS)}")
    then = raw.get("then", {})
    if then and raw["kind"] != "decision":
        raise PresetError(f"rule {rule_id}: only decision rules have effects (`then`).")
    for effect, value in then.items():
        if effect not in EFFECTS:
            raise PresetError(f"rule {rule_id}: unknown effect {effect!r}.{did_you_mean(effect, sorted(EFFECTS))}")
        allowed = task_ids if effect in ("task", "decompose") else EFFECTS[effect]
        _check_value(rule_id, effect, value, allowed)
    when = parse_condition(rule_id, raw["when"], task_ids) if raw.get("when") else None
    return Rule(rule_id, str(raw.get("section", "")), raw["kind"], when, dict(then), raw["because"], raw["source"])


def parse_rulebook(rules_data: dict[str, Any], guide_data: dict[str, Any], task_ids: tuple[str, ...]) -> RuleBook:
    rules = tuple(parse_rule(r, task_ids) for r in rules_data.get("rules", []))
    by_id: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in by_id:
            raise PresetError(f"rule {rule.id} is defined twice.")
        by_id[rule.id] = rule
    guide = Guide(**{k: guide_data[k] for k in ("title", "url", "license", "summary") if k in guide_data})
    return RuleBook(guide, rules, by_id)


@cache
def rulebook() -> RuleBook:
    """The rules shipped in presets/, parsed and checked once per process."""
    task_ids = tuple(str(task_id) for task_id in tasks())
    return parse_rulebook(presets.load("rules"), presets.load("guide"), task_ids)
