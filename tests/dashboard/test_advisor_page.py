"""The Advisor page: the schema as a form, checked like the terminal; the plan is `recommend`'s."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from advisor.answers import load_answers, parse_answers, read_answers
from advisor.cli import app as advisor_cli
from advisor.plans import recommend
from advisor.questions import explanation
from dashboard import answer_files, state
from dashboard.recommendation_view import terminal_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def texts(at: AppTest) -> str:
    """Everything the page wrote as text, markdown, captions, code and messages."""
    parts = [e.value for kind in ("markdown", "caption", "code", "subheader", "error", "warning", "info", "success")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def fill(at: AppTest, **answers: str) -> AppTest:
    for name, value in answers.items():
        widget = at.get_by_key(f"advisor.form.{name}")
        widget.set_value(value)
    return at.run()


def test_empty_form_says_what_is_required(page_app: Callable[[str], AppTest]) -> None:
    at = page_app("advisor").run()
    assert not at.exception
    assert "'input' is required" in at.error[0].value and "'output' is required" in at.error[0].value
    assert not at.subheader  # no recommendation without the required answers
    # every question carries the same `?` explanation the terminal prints
    assert at.get_by_key("advisor.form.input").help == explanation("input")
    assert at.get_by_key("advisor.form.qps").help == explanation("qps")


def test_answers_give_the_same_recommendation_as_the_cli(page_app: Callable[[str], AppTest]) -> None:
    at = fill(page_app("advisor").run(), input="one_text", output="one_class")
    fill(at, num_labels="2", labeled_rows="13889", qps="2000", train_hardware="cpu", metric="accuracy")
    assert not at.exception and not at.error
    expected = recommend(parse_answers({"input": "one_text", "output": "one_class", "num_labels": 2,
                                        "labeled_rows": 13889, "qps": 2000, "train_hardware": "cpu",
                                        "metric": "accuracy"}))
    page = texts(at)
    assert at.subheader[0].value.startswith(f"{expected.task.id} {expected.task.name}")
    assert expected.task.format in page  # the guide's data format
    for rule in expected.fired_rules:  # every fired rule, with the guide's sentence
        assert rule.id in page and rule.source in page
    for warning in expected.warnings:
        assert warning in page
    assert expected.training.model in page and expected.data_verdict.verdict in page
    assert terminal_text(expected) in page  # the terminal's own rendering of the same object
    ladder = at.dataframe[0].value
    assert list(ladder["model"]) == [t.name for t in expected.model_tiers]


def test_a_bad_answer_is_explained_like_the_terminal_does(page_app: Callable[[str], AppTest]) -> None:
    at = fill(page_app("advisor").run(), input="one_text", output="one_class", qps="fast", labeled_rows="-3")
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "'fast'" in errors and "number" in errors
    assert "'-3'" in errors and "greater than or equal to 0" in errors
    assert not at.subheader


def test_an_answer_the_plan_rejects_is_its_message(page_app: Callable[[str], AppTest]) -> None:
    at = fill(page_app("advisor").run(), input="one_text", output="one_class", gpu_model="X100")
    assert not at.exception
    assert "not in the price table. Did you mean 'V100'?" in at.error[0].value


def test_questions_that_do_not_apply_are_not_asked(page_app: Callable[[str], AppTest]) -> None:
    at = fill(page_app("advisor").run(), input="two_texts", output="similarity", train_hardware="cpu")
    keys = {w.key for w in [*at.selectbox, *at.text_input]}
    assert "advisor.form.num_labels" not in keys and "advisor.form.gpus" not in keys
    assert "advisor.form.serve_hardware" in keys and at.subheader[0].value.startswith("ABS-5")


def test_download_is_a_file_the_cli_accepts(page_app: Callable[[str], AppTest], tmp_path: Path) -> None:
    at = fill(page_app("advisor").run(), input="one_text", output="tag_per_token")
    fill(at, num_labels="3", language="zh", gpu_model="T4", metric="entity_f1")
    for fmt, suffix in answer_files.FORMATS.items():
        at.radio(key="advisor.format").set_value(fmt).run()
        assert at.get_by_key("advisor.download").proto.label == f"Download answers{suffix}"
        path = tmp_path / f"answers{suffix}"  # the button's bytes: answers_bytes of the page's answers
        path.write_bytes(answer_files.answers_bytes(at.session_state[state.ANSWERS], suffix))
        answers = read_answers(path)
        assert answers.output == "tag_per_token" and answers.num_labels == 3 and answers.gpu_model == "T4"
        assert answers.metric == "entity_f1" and answers.language == "zh"
        cli = CliRunner().invoke(advisor_cli, ["recommend", "--answers", str(path), "--json"])
        assert cli.exit_code == 0, cli.output  # the CLI takes the file and plans exactly what the page shows
        assert json.loads(cli.output) == json.loads(recommend(at.session_state[state.ANSWERS]).model_dump_json())


def test_upload_fills_the_form(page_app: Callable[[str], AppTest], output_root: Path) -> None:
    at = page_app("advisor").run()
    ner = EXAMPLES / "ner.yaml"
    at.get_by_key("advisor.upload").set_value(("my answers (1).yaml", ner.read_bytes(), "application/yaml")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Loaded" in at.success[0].value
    expected = recommend(read_answers(ner))
    assert at.subheader[0].value.startswith(expected.task.id)
    for name, value in load_answers(ner).items():
        assert str(at.get_by_key(f"advisor.form.{name}").value) == str(value)
    saved = list((output_root / "_uploads").iterdir())
    assert len(saved) == 1 and saved[0].name.endswith("-my_answers_1.yaml")


def test_bad_upload_is_a_message_not_a_traceback(page_app: Callable[[str], AppTest]) -> None:
    at = page_app("advisor").run()
    for name, content, expected in (
            ("a.toml", b'input = "one_text"\noutput = "one_class"\nqsp = 3\n', "a.toml: unknown answer 'qsp'. Did you mean 'qps'?"),
            ("b.json", b'{"input": "one_txt", "output": "one_class", "rows": -1}', "Did you mean 'one_text'?"),
            ("c.toml", b"input = [", "c.toml: malformed TOML"),
            ("d.txt", b"input: one_text", "d.txt: unknown answers format '.txt'"),
            ("e.yaml", b"", "empty")):
        at.get_by_key("advisor.upload").set_value((name, content, "text/plain")).run()
        assert not at.exception
        assert expected in at.error[0].value, at.error[0].value
    assert not at.subheader  # the form kept its (empty) answers
