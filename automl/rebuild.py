"""A run's report rebuilt from its study alone: `automl report OUT --storage URL [--study NAME]`.

Whichever worker ends a shared study writes the report into its own `--out`; any machine that can reach
the storage rebuilds it with this. The study carries what the report needs besides its trials (data
files, task, metric, lengths, batch-size searches: `remember`); the models come from the folders the
trials saved them in, so rebuild where those are (a shared `--out`, or the machine that ran them).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import optuna
from rich.console import Console

from advisor.errors import UserError
from automl.finish import SweepFacts
from automl.results import RunReport

FACTS = "automl:run"  # study user attribute: what a report needs besides the trials


def remember(study: optuna.Study, facts: SweepFacts, seed: int) -> None:
    """Store in the study what `rebuild_report` needs to redo the report elsewhere."""
    study.set_user_attr(FACTS, {
        "files": facts.splits.files, "task": facts.splits.task, "seed": seed, "metric": facts.metric,
        "max_lengths": facts.max_lengths, "probe_logs": facts.probe_logs, "notes": facts.notes,
        "device": facts.device, "keep": facts.keep,
    })


def pick_study(storage: optuna.storages.BaseStorage, url: str, name: str | None) -> str:
    names = sorted(s.study_name for s in storage.get_all_studies())
    if name is not None:
        if name not in names:
            raise UserError(f"no study named {name!r} in {url} (studies there: {', '.join(names) or 'none'}).",
                            "Give --study with one of those names: the --study (or the default name) of the run.")
        return name
    if len(names) != 1:
        raise UserError(f"{url} holds {len(names)} studies ({', '.join(names) or 'none'}): which one?",
                        "Give --study NAME.")
    return names[0]


def rebuild_report(url: str, study_name: str | None, out: Path, console: Console) -> RunReport:
    from automl.finish import finish
    from automl.labels import label_space
    from automl.report import render_report, write_report
    from automl.splits import load_splits
    from automl.workers import open_storage

    storage = open_storage(url)
    name = pick_study(storage, url, study_name)
    study = optuna.load_study(study_name=name, storage=storage)
    facts: dict[str, Any] | None = study.user_attrs.get(FACTS)
    if facts is None:
        raise UserError(f"study {name!r} in {url} has no record of its run (data files, metric): it was not made by "
                        "`automl run`, or by a version before reports could be rebuilt.",
                        "Print the report its run wrote instead: automl report OUT (its --out folder).")
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        raise UserError(f"study {name!r} has no completed trial yet.", "Wait for its workers, then rebuild.")
    files = facts["files"]
    missing = [f for f in files.values() if not Path(f).is_file()]
    if missing:
        raise UserError(f"the data files of study {name!r} are not on this machine: {', '.join(missing)}.",
                        "Rebuild on a machine that has them at those paths (the workers' machines).")
    splits = load_splits(Path(files["train"]), Path(files["dev"]) if "dev" in files else None,
                         Path(files["test"]) if "test" in files else None, facts["task"], int(facts["seed"]))
    labels = label_space(splits.task, splits.train, splits.dev, splits.test)
    sweep = SweepFacts(splits=splits, labels=labels, metric=facts["metric"], max_lengths=facts["max_lengths"],
                       probe_logs=facts["probe_logs"], notes=list(facts["notes"]), storage=url,
                       device=facts["device"], started=time.time(), out=out, keep=int(facts["keep"]))
    check_models_here(study, name)
    out.mkdir(parents=True, exist_ok=True)
    report = finish(study, sweep, 0, console)
    write_report(report, out)
    render_report(report, console)
    return report


def check_models_here(study: optuna.Study, name: str) -> None:
    from automl.models import MODEL_JSON
    from automl.results import TrialRecord

    saved = [TrialRecord.from_trial(t).model_dir for t in study.get_trials(deepcopy=False)
             if t.state == optuna.trial.TrialState.COMPLETE]
    saved_dirs = [d for d in saved if d]
    if saved_dirs and not any((Path(d) / MODEL_JSON).is_file() for d in saved_dirs):
        raise UserError(f"none of the models study {name!r} kept is on this machine (e.g. {saved_dirs[0]}).",
                        "Rebuild on the machine whose --out holds them, or give every worker one shared --out.")
