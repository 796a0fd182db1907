"""Answers as files: the bytes of a download that `advisor recommend --answers` accepts, and an upload
read back by the same reader (`advisor.answers.load_answers` + `parse_answers`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from advisor.answers import Answers, dump_answers, load_answers, parse_answers
from advisor.errors import UserError
from dashboard.uploads import save_upload

FORMATS = {"TOML": ".toml", "YAML": ".yaml", "JSON": ".json"}
MIME = {".toml": "application/toml", ".yaml": "application/yaml", ".json": "application/json"}


def answers_bytes(answers: Answers, suffix: str = ".toml") -> bytes:
    """What `advisor recommend --save-answers answers<suffix>` writes, as bytes for a download."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"answers{suffix}"
        dump_answers(answers, path)
        return path.read_bytes()


def read_uploaded_answers(name: str, data: bytes, folder: Path) -> dict[str, Any]:
    """Save an uploaded answers file to the app's folder and read it like `--answers` does; raises
    UserError with every problem at once. Returns the given answers (field names, not yet defaulted)."""
    path = save_upload(name, data, folder)
    try:
        raw = load_answers(path)
    except UserError as err:  # name the file as the user knows it, not as it was stored
        raise UserError(err.message.replace(str(path), name), err.fix) from None
    parse_answers(raw, origin=name)  # the same check as `advisor recommend --answers`
    return raw
