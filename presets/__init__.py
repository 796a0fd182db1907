"""The guide's rules, tasks, model tiers and search spaces, as data files beside this module."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

PRESETS_DIR = Path(__file__).resolve().parent


@cache
def load(name: str) -> dict[str, Any]:
    """Parse `presets/<name>.toml` once per process."""
    with open(PRESETS_DIR / f"{name}.toml", "rb") as f:
        return tomllib.load(f)
