"""Where the dashboard reads and writes: the output folder (runs, studies, reports) and its upload folder."""

from __future__ import annotations

import os
from pathlib import Path

OUTPUT_ENV = "NLP_DASHBOARD_RUNS"
DEFAULT_OUTPUT = "runs"  # the CLI's default --out is runs/latest: the same tree
UPLOADS = "_uploads"  # the app's own folder for uploaded files, inside the output folder
ADDRESS = "127.0.0.1"  # loopback only: the dashboard runs sweeps and reads local files
REFRESH_SECONDS = 5  # live pages re-read the study and the log this often


def default_output_root() -> Path:
    """$NLP_DASHBOARD_RUNS, else ./runs (where `automl run` writes by default)."""
    return Path(os.environ.get(OUTPUT_ENV) or DEFAULT_OUTPUT).expanduser().resolve()


def upload_dir(output_root: Path) -> Path:
    return output_root / UPLOADS
