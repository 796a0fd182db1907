"""Uploaded files land in the app's own folder under a sanitized name; nothing else on disk is touched."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

from advisor.errors import UserError

MAX_BYTES = 200 * 2**20  # Streamlit's own default upload limit (server.maxUploadSize = 200 MB)
MAX_NAME = 80  # characters kept of a name, the extension included
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str) -> str:
    """The last path part of `name` in [A-Za-z0-9._-] only, no leading dot, the extension kept:
    `../../etc/passwd` -> `passwd`, `评论 train.tsv` -> `train.tsv`."""
    base = PurePosixPath(name.replace("\\", "/")).name
    suffix = _UNSAFE.sub("", PurePosixPath(base).suffix.lower())[:10]
    stem = _UNSAFE.sub("_", base[: len(base) - len(PurePosixPath(base).suffix)] if suffix else base)
    stem = stem.strip("._-")[: MAX_NAME - len(suffix)] or "upload"
    return stem + (suffix if suffix != "." else "")


def save_upload(name: str, data: bytes, folder: Path) -> Path:
    """Write `data` to `folder` as `<sha256 prefix>-<safe name>`: the same content is stored once, and two
    files of one name do not overwrite each other. Empty and oversized files are refused."""
    if not data:
        raise UserError(f"{name}: the uploaded file is empty.", "Upload the file again, or one with content.")
    if len(data) > MAX_BYTES:
        raise UserError(f"{name}: {len(data) / 2**20:.0f} MB is over the {MAX_BYTES // 2**20} MB upload limit.",
                        "Give its path on this machine instead of uploading it.")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:12]}-{safe_filename(name)}"
    if path.resolve().parent != folder.resolve():  # cannot happen with a safe name; checked all the same
        raise UserError(f"{name}: not a plain file name.", "Rename the file and upload it again.")
    if not path.exists():
        path.write_bytes(data)
    return path
