"""The answer schema: one typed object for the terminal, a file (TOML, YAML, JSON) and the dashboard."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

import presets
from advisor.errors import UserError
from presets.catalog import InputShape, Metric, OutputShape
from presets.catalog import (
    did_you_mean as did_you_mean,  # re-exported: the advisor's modules import it from here
)

Hardware = Literal["gpu", "cpu"]
Iterations = Literal["baseline", "many"]
ComplexTask = Literal["relation_extraction", "text_correction", "ranking", "keyword_extraction", "clustering", "none"]


# Outputs whose rows carry labels (classes, tags, several task outputs); the rest (free text, a span, a
# sentence probability, a similarity score) have none, so num_labels = 0 is "none" for them.
LABELED_OUTPUTS = ("one_class", "independent_labels", "tag_per_token", "several")


class Answers(BaseModel):
    """What the user knows about their problem. Defaults are the guide's common case."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    input: InputShape = Field(description="What goes in (X): one text, two texts, text plus numeric features, or a passage and a question.")
    output: OutputShape = Field(description="What comes out (Y).")
    num_labels: int | None = Field(default=None, ge=0, validation_alias=AliasChoices("num_labels", "labels"),
                                   description="How many classes, labels or tag types (without B-/I- prefixes); "
                                               "0 or none for outputs without labels.")
    labeled_rows: int = Field(default=0, ge=0, validation_alias=AliasChoices("labeled_rows", "rows"),
                              description="Labeled training examples you have.")
    unlabeled_rows: int = Field(default=0, ge=0, description="Unlabeled texts of the same kind you could use.")
    language: str = Field(default="zh", min_length=2, max_length=8, description="Language code of the text: zh, en, ...")
    qps: float = Field(default=10, ge=0, description="Serving queries per second the model must sustain.")
    latency_ms: float | None = Field(default=None, gt=0, description="Latency limit per query, if any.")
    train_hardware: Hardware = Field(default="gpu", description="What you can train on.")
    serve_hardware: Hardware = Field(default="cpu", description="What you will serve on.")
    gpus: int = Field(default=1, ge=0, description="GPU cards per training machine.")
    machines: int = Field(default=1, ge=1, description="Training machines.")
    gpu_model: str | None = Field(default=None, description="GPU model to price the plan with (see presets/prices.toml).")
    metric: Metric | None = Field(default=None, description="The quality metric, fixed before training (GOAL-1).")
    train_hours: float | None = Field(default=None, gt=0, description="Training time budget in hours.")
    iterations: Iterations = Field(default="baseline", description="A one-off baseline, or many iterations.")
    complex_task: ComplexTask = Field(default="none", description="A complex task to decompose, if it is one.")
    text_chars: int | None = Field(default=None, ge=1, description="Typical (95th percentile) text length in characters.")

    @field_validator("gpu_model")
    @classmethod
    def _priced_gpu(cls, value: str | None) -> str | None:
        """A GPU of presets/prices.toml, spelt as there: checked when given, not after every question."""
        if value is None:
            return None
        table = {name.lower(): name for name in presets.load("prices")["gpu"]}
        if value.strip().lower() not in table:
            raise ValueError(f"not in the price table.{did_you_mean(value, list(table.values()))} "
                             f"presets/prices.toml has {', '.join(table.values())}.")
        return table[value.strip().lower()]

    @model_validator(mode="after")
    def _labels_fit_the_output(self) -> Answers:
        """num_labels = 0 means "no labels": refused where the output has labels, dropped where it has none."""
        if self.num_labels == 0:
            if self.output in LABELED_OUTPUTS:
                raise ValueError(f"num_labels = 0, but a {self.output} output has labels: give how many "
                                 "(at least 1), or leave num_labels out")
            object.__setattr__(self, "num_labels", None)  # frozen model: set once, while validating
        return self


FIELDS: dict[str, Any] = dict(Answers.model_fields)
ALIASES: dict[str, str] = {
    alias: name
    for name, info in FIELDS.items()
    if isinstance(info.validation_alias, AliasChoices)
    for alias in info.validation_alias.choices
    if isinstance(alias, str)
}


def choices(name: str) -> tuple[str, ...]:
    """The allowed values of a Literal field (empty for free fields)."""
    annotation = FIELDS[name].annotation
    for arg in (annotation, *get_args(annotation)):
        if getattr(arg, "__origin__", None) is Literal:
            return tuple(get_args(arg))
    return ()


def parse_answers(raw: dict[str, Any], origin: str = "answers") -> Answers:
    """Validate a dict of answers; every problem is reported at once, with a "did you mean"."""
    if not isinstance(raw, dict):
        raise UserError(f"{origin}: expected a table of answers (key = value), got {type(raw).__name__}.",
                        "Write one `key = value` per answer, e.g. `input = \"one_text\"`.")
    known = set(FIELDS) | set(ALIASES)
    problems = [
        f"unknown answer {key!r}.{did_you_mean(key, sorted(known))}" for key in raw if key not in known
    ]
    if not problems:
        try:
            return Answers.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                if not err["loc"]:  # a rule across answers (num_labels against output)
                    problems.append(str(err["msg"]).removeprefix("Value error, ") + ".")
                    continue
                key = str(err["loc"][0])
                name = ALIASES.get(key, key)
                allowed = choices(name) if name in FIELDS else ()
                if err["type"] == "missing":
                    problems.append(f"{key!r} is required; one of {', '.join(allowed)}." if allowed else f"{key!r} is required.")
                elif allowed:
                    problems.append(f"{key} = {err.get('input')!r} is not a choice; one of {', '.join(allowed)}."
                                    f"{did_you_mean(str(err.get('input')), allowed)}")
                else:
                    problems.append(f"{key} = {err.get('input')!r}: {str(err['msg']).removeprefix('Value error, ')}")
    raise UserError(f"{origin}: " + " ".join(problems),
                    "Correct the answers above; `advisor recommend` without --answers asks them one by one.")


def read_answers(path: str | Path) -> Answers:
    """Read and validate answers from a TOML, YAML or JSON file (by extension)."""
    return parse_answers(load_answers(path), origin=str(path))


def load_answers(path: str | Path) -> dict[str, Any]:
    """The answers a file gives, not yet validated (so they can be merged with what data tells),
    with aliases renamed to the field names."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file.", "Check the path to the answers file.") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text.", "Save the answers file as UTF-8.") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            raw: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text)
        elif suffix == ".json":
            raw = json.loads(text)
        else:
            raise UserError(f"{path}: unknown answers format {suffix or '(none)'!r}.",
                            "Use a .toml, .yaml/.yml or .json file.")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: malformed {suffix[1:].upper()}: {exc}.", "Fix the syntax at the place named.") from None
    except Exception as exc:  # yaml.YAMLError, imported lazily
        if type(exc).__module__.startswith("yaml"):
            raise UserError(f"{path}: malformed YAML: {exc}.", "Fix the syntax at the place named.") from None
        raise
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        parse_answers(raw, origin=str(path))  # raises the "expected a table" message
    return {ALIASES.get(key, key): value for key, value in raw.items()}


def dump_answers(answers: Answers, path: str | Path) -> None:
    """Write answers as a file that `read_answers` (and `advisor recommend --answers`) accepts."""
    path = Path(path)
    data = answers.model_dump(exclude_none=True)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    elif path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    else:
        path.write_text(to_toml(data), encoding="utf-8")


def to_toml(data: dict[str, Any]) -> str:
    """Flat key = value TOML (the answers have no nesting)."""
    return "".join(f"{key} = {json.dumps(value, ensure_ascii=False)}\n" for key, value in data.items())
