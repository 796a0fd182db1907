"""--curve: a learning curve joins the data verdict; a bad file is one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.answers import parse_answers
from advisor.curve_verdict import attach_curve, read_curve
from advisor.errors import UserError
from advisor.plans import recommend

CURVE = {"model": "bow", "metric": "accuracy", "rows": 12500, "asymptote": 0.842, "gain_at_double": 0.005,
         "gain_at_double_std": 0.001, "summary": "bow on 12,500 rows: doubling the labels would buy +0.005.",
         "points": [{"fraction": f, "rows": round(f * 12500), "score": s}
                    for f, s in ((0.1, 0.654), (0.2, 0.771), (0.4, 0.81), (0.8, 0.83), (1.0, 0.836))]}


def test_the_curve_leads_the_data_verdict_and_a_row_mismatch_is_said(tmp_path: Path) -> None:
    (tmp_path / "curve.json").write_text(json.dumps(CURVE), encoding="utf-8")
    rec = recommend(parse_answers({"input": "one_text", "output": "one_class", "num_labels": 2, "labeled_rows": 8000}))
    attach_curve(rec, tmp_path)  # a folder holding curve.json
    verdict = rec.data_verdict
    assert verdict.curve is not None and verdict.curve.gain_at_double == 0.005
    assert verdict.notes[0] == "learning curve: bow on 12,500 rows: doubling the labels would buy +0.005"
    assert "measured on 12,500 training rows, the answers say 8,000" in verdict.notes[1]


@pytest.mark.parametrize(("text", "message"), [("{", "not a curve.json"), ('{"model": "bow"}', "not a learning curve"),
                                               ("[1, 2]", "not a learning curve")])
def test_a_broken_curve_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message) as err:
        read_curve(path)
    assert "automl curve" in err.value.fix
