"""Which tier of presets/models.toml a step of the model ladder means, for a language.

The tiers themselves (shape, parameter count, where the weights are) are the catalog's
(presets/catalog.py), shared with automl.
"""

from __future__ import annotations

from presets.catalog import SCRATCH_FAMILIES, ModelTier, tiers


def pick(step: str, language: str) -> ModelTier | None:
    """The first-ranked tier for a ladder step (`tiny`/`base`/`large` or a scratch family)."""
    if step in SCRATCH_FAMILIES:
        return tiers().get(step)
    candidates = [t for t in tiers().values() if t.pretrained and t.size == step and t.language == language]
    return min(candidates, key=lambda t: t.rank) if candidates else None
