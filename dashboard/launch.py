"""`nlp-dashboard`: `streamlit run app.py` bound to 127.0.0.1, headless, no usage statistics sent.
Extra arguments go to Streamlit (`nlp-dashboard --server.port 8600`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dashboard.settings import ADDRESS

APP = Path(__file__).resolve().parents[1] / "app.py"


def command(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", ADDRESS,
            "--server.headless", "true", "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal", *argv]


def main(argv: list[str] | None = None) -> None:
    if not APP.is_file():
        sys.exit(f"error: {APP} is missing: the dashboard runs from a checkout of the project "
                 "(pip install -e .), where app.py sits beside the dashboard package.")
    cmd = command(sys.argv[1:] if argv is None else argv)
    os.execv(cmd[0], cmd)  # streamlit takes over the process: Ctrl-C stops it directly


if __name__ == "__main__":
    main()
