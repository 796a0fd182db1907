"""app.py wires the four pages; the console command and `streamlit run app.py` bind to loopback only."""

from __future__ import annotations

import tomllib
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import launch
from dashboard.pages import PAGES

ROOT = Path(__file__).resolve().parents[2]


def test_app_opens_on_the_advisor(output_root: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Advisor"
    assert at.sidebar.text_input[0].value == str(output_root)  # $NLP_DASHBOARD_RUNS
    assert list(PAGES) == ["advisor", "data", "sweeps", "models"]


def test_binds_to_loopback_by_default() -> None:
    cmd = launch.command(["--server.port", "8600"])
    assert cmd[1:4] == ["-m", "streamlit", "run"] and Path(cmd[4]) == ROOT / "app.py"
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1" and cmd[-2:] == ["--server.port", "8600"]
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1" and config["browser"]["gatherUsageStats"] is False
