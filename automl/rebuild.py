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


def writes_report(study: optuna.Study, facts: SweepFacts, ran: int, console: Console) -> bool:
    """Whether this worker of a shared study writes the report (`claim_report`: the one that ends the
    study), said on the console either way. A worker with none of the kept models on its disk leaves it
    to one that has them; when the study's best model is elsewhere, the report says so in its notes."""
    from automl.workers import claim_report

    name, out = study.study_name, facts.out
    rebuild = f"`automl report {out} --storage URL --study {name}`"
    if not models_here(study):
        console.print(f"{ran} trials run here; none of study {name!r}'s kept models is on this machine, so the "
                      f"report is left to a worker that has them ({rebuild} rebuilds it where they are).")
        return False
    if not claim_report(study):
        console.print(f"{ran} trials run here; the report is written by the worker that ends study {name!r} "
                      f"({rebuild} rebuilds it here).")
        return False
    elsewhere = best_model_elsewhere(study, facts.metric)
    if elsewhere:
        facts.notes.append(elsewhere)
    return True


def models_here(study: optuna.Study) -> bool:
    from automl.models import MODEL_JSON
    from automl.results import TrialRecord

    dirs = [TrialRecord.from_trial(t).model_dir
            for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
    return any(d and (Path(d) / MODEL_JSON).is_file() for d in dirs)


def best_model_elsewhere(study: optuna.Study, metric: str) -> str | None:
    """A note when the study's best trial saved its model in a folder this machine lacks."""
    from automl.models import MODEL_JSON
    from automl.results import TrialRecord

    best = study.best_trial
    directory = TrialRecord.from_trial(best).model_dir
    if not directory or (Path(directory) / MODEL_JSON).is_file():
        return None
    return (f"the study's best trial #{best.number} (dev {metric} {best.value:.4f}) saved its model in {directory} "
            "on another machine: this report ranks the models on this one. Rebuild it where all are with "
            "`automl report OUT --storage URL --study NAME`, or give every worker one shared --out.")


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
    from automl.preflight import check_folder, check_storage
    from automl.report import render_report, write_report
    from automl.splits import load_splits
    from automl.workers import open_storage

    check_storage(url)
    check_folder(out, "OUT")
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
    if not models_here(study):
        raise UserError(f"none of the models study {name!r} kept is on this machine.",
                        "Rebuild on the machine whose --out holds them, or give every worker one shared --out.")
    elsewhere = best_model_elsewhere(study, sweep.metric)
    if elsewhere:
        sweep.notes.append(elsewhere)
    out.mkdir(parents=True, exist_ok=True)
    report = finish(study, sweep, 0, console)
    write_report(report, out)
    render_report(report, console)
    return report

