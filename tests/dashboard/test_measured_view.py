"""The learning curve on the Advisor page: the plot's data, and the page drawing it from a curve.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from advisor.recommendation import CurvePoint
from automl.curve.run import summarize
from dashboard.measured_view import curve_figure


def law(n: float) -> float:
    return 0.9 - 0.3 * (n / 4000) ** -0.5


def _curve():
    rows = [400, 800, 1600, 3200, 4000]
    noise = [0.004, -0.003, 0.002, -0.004, 0.003]  # a real curve's points scatter about the law
    return summarize("bow", "accuracy", [CurvePoint(fraction=n / 4000, rows=n, score=round(law(n) + e, 4))
                                         for n, e in zip(rows, noise, strict=True)], 4000)


def test_curve_figure_draws_points_fit_and_the_doubling() -> None:
    curve = _curve()
    fig = curve_figure(curve)
    names = [trace.name for trace in fig.data]
    assert names == ["measured (bow)", "fit: a - b·n^-c", "2x the labels"]
    points, fit, double = fig.data
    assert list(points.x) == [p.rows for p in curve.points]
    assert fit.x[-1] == pytest.approx(8000) and fit.y[-1] == pytest.approx(curve.score_at_double, abs=1e-3)
    assert curve.gain_at_double_std and list(double.x) == [8000]
    assert double.error_y.array[0] == curve.gain_at_double_std


def test_advisor_page_plots_a_curve_json(page_app: Callable[[str], AppTest], tmp_path: Path) -> None:
    (tmp_path / "curve.json").write_text(json.dumps(_curve().model_dump()), encoding="utf-8")
    at = page_app("advisor").run()
    for name, value in {"input": "one_text", "output": "one_class"}.items():
        at.get_by_key(f"advisor.form.{name}").set_value(value)
    at.run()
    at.get_by_key("advisor.curve_path").set_value(str(tmp_path))
    at.run()
    assert not at.exception
    assert any("doubling the labels to 8,000" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1


@pytest.mark.slow
def test_measure_button_times_every_tier_and_states_the_facts(page_app: Callable[[str], AppTest]) -> None:
    at = page_app("advisor").run()
    answers = {"input": "one_text", "output": "one_class"}
    for name, value in answers.items():
        at.get_by_key(f"advisor.form.{name}").set_value(value)
    at.run()
    for name, value in {"num_labels": "2", "labeled_rows": "8000", "qps": "2000", "train_hardware": "cpu"}.items():
        at.get_by_key(f"advisor.form.{name}").set_value(value)
    at.run()
    at.get_by_key("advisor.measure").click()
    at.run(timeout=300)
    assert not at.exception
    table = next(d.value for d in at.dataframe if "QPS b32" in d.value.columns)
    assert list(table["model"]) == ["lstm", "gru", "cnn", "bow"] and (table["QPS b32"] > 0).all()
    assert any("Measured here" in i.value for i in at.info)
