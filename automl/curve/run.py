"""`automl curve`: will more labels help? Train one quick tier on growing shares of the training rows,
score each on the same dev set, fit a saturating power law, and say what doubling the labels would buy.

BOW is the default tier: the quickest of the from-scratch nets to train (QUAL-2: the reverse of quality
order in speed) yet a real learner whose curve has the shape of the slower ones'. Every share is a seeded
random subset that contains the smaller shares (10% is inside 20%, ...), so the points differ only in size.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from advisor.dataset import Example
from advisor.recommendation import CurvePoint, LearningCurve
from automl.curve.fit import MIN_POINTS, fit_power_law

FRACTIONS = (0.1, 0.2, 0.4, 0.8, 1.0)
CHECK_FRACTIONS = 3  # the first three shares (10-40%) predict the score at 100%: a check of the method
CURVE_JSON = "curve.json"


def train_and_score(model_name: str, labels: Any, train: list[Example], dev: list[Example], language: str,
                    seed: int, epochs: int | None, threads: int | None) -> tuple[float, str]:
    """One model trained as `automl run` would start it (the family's default lr, batch and epochs)."""
    from automl.measure._build import max_length_for
    from automl.models import build_model, resolve_model
    from automl.run import search_range
    from automl.training import TrialConfig, run_trial
    from presets.catalog import MAX_POSITIONS

    spec = resolve_model(model_name)
    space = search_range(model_name)  # the family's defaults, as automl run starts them
    sample = train[:2000]
    max_length = max_length_for(build_model(spec, labels, sample, MAX_POSITIONS, language), sample)
    model = build_model(spec, labels, train, max_length, language)
    config = TrialConfig(learning_rate=float(space["lr_default"]), batch_size=min(int(space["batch_start"]), len(train)),
                         epochs=float(epochs or space["epochs"]), seed=seed, threads=threads or "auto")
    result = run_trial(config, model, train, dev)
    return float(result.score), result.metric


def nested_subsets(train: list[Example], fractions: tuple[float, ...], seed: int) -> list[list[Example]]:
    order = list(train)
    random.Random(seed).shuffle(order)
    return [order[:max(2, round(f * len(order)))] for f in fractions]


def learning_curve(train: list[Example], dev: list[Example], labels: Any, language: str, *, model: str = "bow",
                   fractions: tuple[float, ...] = FRACTIONS, seed: int = 13, epochs: int | None = None,
                   threads: int | None = None, on_point: Callable[[CurvePoint], None] | None = None) -> dict[str, Any]:
    """The curve as curve.json's content: the typed `LearningCurve` plus the 10-40% check and timings."""
    if len(fractions) < MIN_POINTS:
        raise ValueError(f"a learning curve needs at least {MIN_POINTS} fractions, but got {fractions}.")
    started = time.perf_counter()
    points: list[CurvePoint] = []
    metric = ""
    for fraction, subset in zip(fractions, nested_subsets(train, fractions, seed), strict=True):
        score, metric = train_and_score(model, labels, subset, dev, language, seed, epochs, threads)
        points.append(CurvePoint(fraction=fraction, rows=len(subset), score=round(score, 4)))
        if on_point is not None:
            on_point(points[-1])
    curve = summarize(model, metric, points, len(train))
    out: dict[str, Any] = curve.model_dump()
    out["check"] = early_check(points)
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def summarize(model: str, metric: str, points: list[CurvePoint], rows: int) -> LearningCurve:
    fit = fit_power_law([p.rows for p in points], [p.score for p in points])
    now, double = fit.predict(rows), fit.predict(2 * rows)
    gain, gain_std = double - now, fit.gain_std(rows, 2 * rows)
    curve = LearningCurve(model=model, metric=metric, points=points, asymptote=round(fit.a, 4),
                          asymptote_std=_finite(fit.asymptote_std), exponent=round(fit.c, 3), rows=rows,
                          score_at_rows=round(now, 4), score_at_double=round(double, 4), gain_at_double=round(gain, 4),
                          gain_at_double_std=_finite(gain_std))
    curve.summary = describe(curve)
    return curve


def describe(c: LearningCurve) -> str:
    spread = f" ± {c.gain_at_double_std:.3f}" if c.gain_at_double_std is not None else " (uncertainty unknown)"
    gain = c.gain_at_double or 0.0
    measured = c.points[-1].score if c.points else c.score_at_rows
    line = (f"{c.model} on {c.rows:,} rows: dev {c.metric} {measured:.3f} (fit {c.score_at_rows:.3f}); doubling the labels to "
            f"{2 * c.rows:,} would buy {gain:+.3f}{spread} (fit {c.score_at_double:.3f}); the curve levels off "
            f"near {c.asymptote:.3f}")
    if c.asymptote_std is not None:
        line += f" ± {c.asymptote_std:.3f}"
    if c.gain_at_double_std is not None and gain < 2 * c.gain_at_double_std:
        line += ". The gain is within two standard errors of zero: more labels of the same kind may not help"
    return line + "."


def early_check(points: list[CurvePoint]) -> dict[str, Any] | None:
    """The law fitted to the first shares only, predicting the last: how far the method extrapolates."""
    if len(points) <= CHECK_FRACTIONS:
        return None
    early = points[:CHECK_FRACTIONS]
    fit = fit_power_law([p.rows for p in early], [p.score for p in early])
    last = points[-1]
    predicted = fit.predict(last.rows)
    return {"from_fractions": [p.fraction for p in early], "rows": last.rows, "predicted": round(predicted, 4),
            "predicted_std": _finite(fit.std(last.rows)), "measured": last.score,
            "error": round(predicted - last.score, 4)}


def _finite(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None


def write_curve(curve: dict[str, Any], out: Path) -> Path:
    """curve.json in `out` (a folder) or at `out` (a .json path), written whole or not at all."""
    path = out if out.suffix == ".json" else out / CURVE_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(curve, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path

