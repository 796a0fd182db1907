"""resolve_model reads a tier from the catalog: the weights it trains are the ones the advice calls offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.errors import UserError
from automl.models import resolve_model
from presets.catalog import tier


def test_an_installed_tier_resolves_to_the_catalogs_folder() -> None:
    minilm = tier("minilm-l6")
    assert minilm is not None and minilm.offline
    spec = resolve_model("minilm-l6")
    assert spec.local and spec.source == str(minilm.local_path())
    assert (spec.family, spec.size, spec.language, spec.shape) == ("transformer", "tiny", "en", minilm.shape)
    assert spec.approx_parameters() == minilm.parameters()  # one formula


def test_a_hub_tier_trains_offline_exactly_when_the_advice_says(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty hub cache: the hub is the only source
    roberta = tier("roberta-base")
    assert roberta is not None and not roberta.offline
    with pytest.raises(UserError, match="needs a network"):
        resolve_model("roberta-base")
    snapshot = tmp_path / "models--FacebookAI--roberta-base" / "snapshots" / "0123abc"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}", encoding="utf-8")
    assert roberta.offline and "in the local hub cache" in roberta.describe_source()
    spec = resolve_model("roberta-base")  # now accepted: transformers reads it from the cache
    assert (spec.source, spec.local) == ("FacebookAI/roberta-base", False)


def test_nets_built_from_data_need_no_weights() -> None:
    bow = tier("bow")
    assert bow is not None and bow.offline
    spec = resolve_model("bow")
    assert spec.local and spec.source == "" and spec.approx_parameters() is None
