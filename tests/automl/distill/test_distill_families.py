"""automl distill on a teacher with no classes or tags to give soft targets over (generation ABS-7, a language
model ABS-8, reading comprehension ABS-9): exit 2 with one message before any work, never a traceback (ABS-7
and ABS-8 teachers crashed in the scratch student's hyperparameter check; ABS-9 failed after labelling)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automl.cli import app
from automl.demo_data.lm_sentences import write_lm_file
from automl.demo_data.pinyin import write_pinyin
from automl.models import resolve_model
from automl.models.span_qa.generated import generated_questions
from tests.automl.saved_models import save_untrained

runner = CliRunner()


def _squad(path: Path) -> Path:
    path.write_text(json.dumps({"data": [{"paragraphs": generated_questions(20)}]}, ensure_ascii=False),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("task", ["ABS-7", "ABS-8", "ABS-9"])
def test_a_teacher_without_classes_is_refused_before_any_work(task: str, tmp_path: Path,
                                                              make_tiny_transformer: Callable[..., Path]) -> None:
    if task == "ABS-7":
        data = write_pinyin(tmp_path / "pinyin", rows=60, seed=3)["train"]
        teacher = save_untrained("seq2seq", data, tmp_path / "teacher")
    elif task == "ABS-8":
        data = write_lm_file(tmp_path / "lm.txt", per_file=12)
        teacher = save_untrained("char-lm", data, tmp_path / "teacher")
    else:
        data = _squad(tmp_path / "qa.json")
        tiny = make_tiny_transformer(tmp_path / "tiny", resolve_model("multilingual-e5-small").source)
        teacher = save_untrained(str(tiny), data, tmp_path / "teacher")
    out = tmp_path / "distilled"
    result = runner.invoke(app, ["distill", "--teacher", str(teacher), "--data", str(data), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "cannot distil the" in result.output and f"({task})" in result.output
    assert "Traceback" not in result.output and not any(out.iterdir())
