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
