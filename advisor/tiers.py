"""Which tier of presets/models.toml a step of the model ladder means, for a language.

The tiers themselves (shape, parameter count, where the weights are) are the catalog's
(presets/catalog.py), shared with automl.
"""

from __future__ import annotations

from presets.catalog import SCRATCH_FAMILIES, ModelTier, tiers

MULTILINGUAL = "multi"  # the language of tiers that cover many (multilingual-e5-small)


def serving_languages(language: str) -> tuple[str, ...]:
    """Whose tiers serve `language`: its own, then multilingual ones. English has its own offline tier
    (MiniLM); other languages lose most characters in English vocabularies (transformer.unk_ratio)."""
    return (language,) if language == "en" else (language, MULTILINGUAL)


def pick(step: str, language: str) -> ModelTier | None:
    """The first-ranked tier for a ladder step (`tiny`/`base`/`large` or a scratch family): the language's own,
    else a multilingual one of that size."""
    if step in SCRATCH_FAMILIES:
        return tiers().get(step)
    for lang in serving_languages(language):
        candidates = [t for t in tiers().values() if t.pretrained and t.size == step and t.language == lang]
        if candidates:
            return min(candidates, key=lambda t: t.rank)
    return None


def offline_pretrained(language: str) -> ModelTier | None:
    """The first-ranked pretrained tier that trains here without a network for `language` (its own tiers
    first, then multilingual ones): what a ladder of hub-only tiers (ERNIE for Chinese) can run offline."""
    for lang in serving_languages(language):
        candidates = [t for t in tiers().values() if t.pretrained and t.language == lang and t.offline]
        if candidates:
            return min(candidates, key=lambda t: (t.rank, t.parameters()))
    return None
