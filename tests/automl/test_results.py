"""report.json's documented keys come from the typed models: every key the README documents for
`automl run`'s report (and automl/distill/report.py documents for `automl distill`'s) is a field of
`RunReport` / `DistillReport`, nested ones in the nested model."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from automl.results import DistillReport, RunReport

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_keys(text: str) -> dict[str, set[str]]:
    """Backticked names of a "key (subkey, subkey)" sentence: top-level keys, each with its backticked subkeys."""
    keys: dict[str, set[str]] = {}
    depth, last = 0, ""
    for token in re.finditer(r"`([a-z_0-9]+)`|\(|\)", text):
        if token.group(0) == "(":
            depth += 1
        elif token.group(0) == ")":
            depth -= 1
        elif depth == 0:
            last = token.group(1)
            keys.setdefault(last, set())
        elif depth == 1 and last:
            keys[last].add(token.group(1))
    return keys


def model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `X | None`, `list[X]` or `dict[str, X]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, dict):
        for arg in typing.get_args(annotation):
            found = model_of(arg)
            if found is not None:
                return found
    return None


def check(report: type[BaseModel], documented: dict[str, set[str]]) -> None:
    for key, subkeys in documented.items():
        assert key in report.model_fields, f"{report.__name__} has no documented key {key!r}"
        if subkeys:
            nested = model_of(report.model_fields[key].annotation)
            assert nested is not None, f"{report.__name__}.{key} documents subkeys but is not a model"
            assert subkeys <= set(nested.model_fields), f"{key}: {subkeys - set(nested.model_fields)} missing"


def test_run_report_has_the_keys_the_readme_documents() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("`report.json`: `task`"):]
    documented = documented_keys(section[len("`report.json`:"):section.index("\n\n")])
    assert {"task", "metric", "model", "test", "dev", "best_params", "qps", "batch_size_search",
            "batch_size_searches", "baseline", "trials", "data", "notes", "study", "ensemble",
            "best_single", "data_checks"} <= set(documented)  # the parser read the whole sentence
    assert documented["data_checks"] == {"duplicate_rows", "overlaps", "warnings"}
    assert documented["model"] == {"name", "dir", "family", "parameters", "size_mb"}
    assert documented["batch_size_search"] == {"size", "fits", "peak_bytes"}
    check(RunReport, documented)
    check(RunReport, {"qps": {"threads", "device"}, "ensemble": {"dir"}})  # named in the README in plain words


def test_distill_report_has_the_documented_keys() -> None:
    text = README.read_text(encoding="utf-8")
    sentence = text[text.index("Its `report.json` has `teacher`"):]
    documented = documented_keys(sentence[:sentence.index("`frontier.html`")])
    assert {"teacher", "student", "baseline", "test", "qps"} <= set(documented)
    check(DistillReport, {role: {"test", "qps"} for role in ("teacher", "student", "baseline")})
    # automl/distill/report.py's docstring
    check(DistillReport, {"task": set(), "metric": set(), "method": set(), "frontier": set(), "trials": set(),
                          "params": set(), "data": set(), "notes": set(), "files": set(),
                          "teacher": {"name", "family", "dir", "parameters", "size_mb", "test", "qps", "qps_fp32"},
                          "ratios": {"score_kept", "baseline_kept", "speedup_batch_1", "speedup_batch_32",
                                     "student_beats_baseline", "speedup_fp32_batch_1", "speedup_fp32_batch_32"}})


def test_the_parser_reads_nesting() -> None:
    assert documented_keys("`a` (`b`, `c` (x)), `d`; `e` (`f`)") == {"a": {"b", "c"}, "d": set(), "e": {"f"}}
