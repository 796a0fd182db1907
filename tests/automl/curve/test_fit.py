"""The saturating power law: it recovers a known curve and says how sure it is."""

from __future__ import annotations

import math

import numpy as np
import pytest

from advisor.recommendation import CurvePoint
from automl.curve.fit import fit_power_law
from automl.curve.run import early_check, nested_subsets, summarize


def law(n: float) -> float:
    return 0.92 - 0.35 * (n / 8000) ** -0.45


def test_fit_recovers_the_asymptote_of_synthetic_saturating_data() -> None:
    rows = [800, 1600, 3200, 6400, 8000]
    rng = np.random.default_rng(0)
    scores = [law(n) + rng.normal(0, 0.002) for n in rows]
    fit = fit_power_law(rows, scores)
    assert fit.a == pytest.approx(0.92, abs=0.03)
    assert fit.c == pytest.approx(0.45, abs=0.15)
    assert fit.predict(16_000) == pytest.approx(law(16_000), abs=0.01)
    assert 0 < fit.asymptote_std < 0.1
    gain = fit.predict(16_000) - fit.predict(8000)
    assert gain == pytest.approx(law(16_000) - law(8000), abs=0.01)
    assert 0 < fit.gain_std(8000, 16_000) < 0.02


def test_exact_points_fit_exactly_and_three_points_have_no_error_estimate() -> None:
    rows = [100, 200, 400]
    fit = fit_power_law(rows, [law(n) for n in rows])
    assert fit.predict(300) == pytest.approx(law(300), abs=1e-3)
    assert math.isinf(fit.std(800))  # three parameters, three points: no degrees of freedom left


def test_too_few_points_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        fit_power_law([100, 200], [0.5, 0.6])


def test_summary_states_the_gain_of_doubling_with_its_uncertainty() -> None:
    rows = [800, 1600, 3200, 6400, 8000]
    points = [CurvePoint(fraction=n / 8000, rows=n, score=round(law(n), 4)) for n in rows]
    curve = summarize("bow", "accuracy", points, 8000)
    assert curve.gain_at_double == pytest.approx(law(16_000) - law(8000), abs=0.005)
    assert curve.gain_at_double_std is not None and "doubling the labels to 16,000" in curve.summary
    check = early_check(points)
    assert check is not None and check["measured"] == points[-1].score
    assert abs(check["error"]) < 0.01  # noiseless data: the early fit extrapolates well


def test_nested_subsets_grow_and_contain_each_other() -> None:
    items = list(range(100))
    subsets = nested_subsets(items, (0.1, 0.4, 1.0), seed=3)  # type: ignore[arg-type]
    assert [len(s) for s in subsets] == [10, 40, 100]
    assert set(subsets[0]) <= set(subsets[1]) <= set(subsets[2])
