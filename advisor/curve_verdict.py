"""The data verdict (DATA-1..6) with the user's own learning curve: "will more labels help?" answered
from `automl curve`'s curve.json instead of thresholds alone. Reads JSON only (no torch)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from advisor.errors import UserError
from advisor.recommendation import LearningCurve, Recommendation

CURVE_JSON = "curve.json"


def read_curve(path: Path) -> LearningCurve:
    """curve.json at `path`, or inside the folder `path` (a run folder)."""
    file = path / CURVE_JSON if path.is_dir() else path
    fix = "Write one with `automl curve --data TRAIN --out FOLDER`, then pass FOLDER/curve.json."
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{file}: no such file.", fix) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{file}: not a curve.json ({exc}).", fix) from None
    try:
        return LearningCurve.model_validate(raw if isinstance(raw, dict) else {})
    except ValidationError as exc:
        raise UserError(f"{file}: not a learning curve ({exc.error_count()} problem(s), first: "
                        f"{exc.errors()[0]['loc']} {exc.errors()[0]['msg']}).", fix) from None


def attach_curve(rec: Recommendation, path: Path) -> None:
    """Put the curve on the data verdict, with its one-line answer first among the notes."""
    curve = read_curve(path)
    verdict = rec.data_verdict
    verdict.curve = curve
    verdict.notes.insert(0, f"learning curve: {curve.summary.rstrip('.')}" if curve.summary else "learning curve attached")
    if curve.rows != verdict.labeled_rows and verdict.labeled_rows:
        verdict.notes.insert(1, f"the curve was measured on {curve.rows:,} training rows, the answers say "
                                f"{verdict.labeled_rows:,}")
