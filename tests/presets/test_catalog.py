"""presets.catalog: tasks.toml and models.toml load as one typed catalog, a broken entry fails at load with
a "did you mean", and every task and tier agrees with the rules of rules.toml."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

import presets
from advisor.answers import choices, parse_answers
from advisor.engine import evaluate
from advisor.rules import LADDER_STEPS, rulebook
from advisor.tiers import pick
from presets.catalog import (
    SCRATCH_FAMILIES,
    PresetError,
    TaskId,
    parse_tasks,
    parse_tiers,
    task,
    tasks,
    tier,
    tiers,
)

ROOT = Path(presets.__file__).resolve().parent


def raw(name: str) -> dict[str, Any]:
    with open(ROOT / f"{name}.toml", "rb") as f:
        return tomllib.load(f)


def test_every_task_id_has_one_entry_and_ids_compare_as_strings() -> None:
    assert list(tasks()) == list(TaskId)
    assert TaskId.ABS_6 == "ABS-6" and task("ABS-6") is task(TaskId.ABS_6)
    assert json.dumps({"task": TaskId.ABS_3}) == '{"task": "ABS-3"}'  # reports write the plain id
    ner = task("ABS-6")
    assert ner.is_tagging and not ner.is_pair and not ner.is_multilabel and ner.trainable
    assert task("ABS-5").is_pair and task("ABS-5").may_be_score and task("ABS-5").metric(regression=True) == "pearson"
    assert task("ABS-3").is_multilabel and task("ABS-3").metric() == "micro_f1"
    assert task("ABS-4").has_features and task("ABS-4").trainable  # text plus numeric features
    with pytest.raises(KeyError, match="Did you mean 'ABS-1'"):
        task("ABS-11")


@pytest.mark.parametrize(
    ("file", "edit", "message"),
    [
        ("tasks", lambda t: t["ABS-1"].update(defualt_metric="f1"),
         "unknown key 'ABS-1.defualt_metric'. Did you mean 'default_metric'"),
        ("tasks", lambda t: t["ABS-1"].update(default_metric="acuracy"), "ABS-1.default_metric = 'acuracy'"),
        ("tasks", lambda t: t["ABS-2"].update(output="one_clas"), "ABS-2.output = 'one_clas'"),
        ("tasks", lambda t: t.update({"ABS-11": t.pop("ABS-10")}), "unknown task 'ABS-11'. Did you mean 'ABS-1"),
        ("tasks", lambda t: t.pop("ABS-9"), "no entry for ABS-9"),
        ("tasks", lambda t: t["ABS-6"].pop("supported_by_automl"), "ABS-6.supported_by_automl is missing"),
        ("tasks", lambda t: t["ABS-2"].update(aliases=["ner"]), "alias 'ner' names both ABS-2 and ABS-6"),
        ("models", lambda m: m["minilm-l6"].update(hiden=384), "unknown key 'minilm-l6.hiden'. Did you mean 'hidden'"),
        ("models", lambda m: m["minilm-l6"]["source"].update(packge="x"),
         "unknown key 'minilm-l6.source.packge'. Did you mean 'package'"),
        ("models", lambda m: m["bow"].update(family="bag"), "bow.family = 'bag'"),
        ("models", lambda m: m["roberta-base"].update(size="huge"), "roberta-base.size = 'huge'"),
        ("models", lambda m: m["roberta-base"].pop("vocab"),
         "roberta-base is a transformer; give heads, intermediate and vocab"),
        ("models", lambda m: m["gru"].update(family="lstm"), "a from-scratch net is named by its family"),
    ],
)
def test_a_broken_entry_fails_at_load_naming_it(file: str, edit: Any, message: str) -> None:
    data = raw(file)
    edit(data[file])
    parse = parse_tasks if file == "tasks" else parse_tiers
    with pytest.raises(PresetError) as err:
        parse(data)
    assert str(err.value).startswith(f"presets/{file}.toml: ")
    assert message in str(err.value)


@pytest.mark.parametrize("task_id", list(TaskId))
def test_each_tasks_shape_is_the_answer_its_abs_rule_turns_into_it(task_id: TaskId) -> None:
    entry = task(task_id)
    answers = parse_answers({"input": entry.input, "output": entry.output})
    assert evaluate(rulebook(), answers).facts["task"] == task_id


def test_metrics_are_answer_choices_and_decisions_name_known_tasks() -> None:
    metrics = choices("metric")
    for entry in tasks().values():
        assert entry.default_metric is None or entry.default_metric in metrics
        assert entry.trainable == (entry.default_metric is not None and not entry.unsupported_hint)
    named = {t for r in rulebook().rules for k in ("task", "decompose") for t in _as_list(r.then.get(k))}
    assert named <= set(tasks())
    data6 = next(c for c in rulebook().by_id["DATA-6"].when.all if c.field == "task")  # type: ignore[union-attr]
    assert all(task(t).has_labels for t in data6.value)  # rows per label only where rows have labels


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def test_every_ladder_step_of_the_rules_has_a_tier() -> None:
    for step in LADDER_STEPS:
        assert pick(step, "zh") or pick(step, "en"), step
    assert set(SCRATCH_FAMILIES) == {n for n, t in tiers().items() if not t.pretrained}
    assert {t.size for t in tiers().values() if t.pretrained} == {"tiny", "base", "large"}


def test_a_tier_row_of_search_spaces_replaces_its_size_class_keys() -> None:
    spaces = raw("search_spaces")
    for name, row in spaces.get("tiers", {}).items():
        t = tier(name)
        assert t is not None, f"search_spaces.toml [tiers] names an unknown tier {name!r}"
        size_class = spaces["families"]["transformer" if t.pretrained else "scratch"][t.size]
        assert set(row) <= set(size_class), name  # only keys the size class has
        assert t.search_space() == {**size_class, **row}
        assert t.search_space()["lr_low"] <= t.search_space()["lr_default"] <= t.search_space()["lr_high"]
    minilm = tier("minilm-l6")
    assert minilm is not None and minilm.search_space() == spaces["families"]["transformer"]["tiny"]


def test_parameter_count_is_the_encoders_own() -> None:
    transformers = pytest.importorskip("transformers")
    for name in ("minilm-l6", "ernie-3.0-nano-zh"):
        t = tier(name)
        assert t is not None
        config = transformers.BertConfig(vocab_size=t.vocab, hidden_size=t.hidden, num_hidden_layers=t.layers,
                                         num_attention_heads=t.heads, intermediate_size=t.intermediate,
                                         max_position_embeddings=512, type_vocab_size=2)
        assert t.parameters() == transformers.BertModel(config).num_parameters(), name


def test_offline_means_the_weights_folder_is_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))  # an empty hub cache (tests/automl/models fills one)
    minilm = tier("minilm-l6")
    assert minilm is not None and minilm.offline
    local = minilm.local_path()
    assert local is not None and (local / "config.json").is_file()
    assert str(local) in minilm.describe_source()
    hub_only = tier("roberta-base")
    assert hub_only is not None and not hub_only.offline and hub_only.local_path() is None
    assert "needs a network" in hub_only.describe_source()
    bow = tier("bow")
    assert bow is not None and bow.offline and bow.local_path() is None
    entry = {**raw("models")["models"]["roberta-base"], "source": {"dir": str(tmp_path)}}
    empty = parse_tiers({"models": {"mine": entry}})["mine"]
    assert not empty.offline  # a folder without config.json holds no model
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    assert empty.local_path() == tmp_path and empty.offline


def test_the_advice_shows_the_catalogs_tiers() -> None:
    from advisor.plans import as_tier

    for name in ("minilm-l6", "roberta-base", "lstm"):
        t = tier(name)
        assert t is not None
        shown = as_tier(t, "")
        assert (shown.offline, shown.params_millions) == (t.offline, round(t.parameters() / 1e6, 1))
