"""Typed automl results, as the advisor's `Recommendation` is for advice: one model per shape, written once
and read back typed by the run, the report, `automl report` and the dashboard.

- `TrialRecord`: one trial of `automl run` or `automl distill`, stored in the Optuna trial as one user
  attribute (`RECORD`) and read back with `TrialRecord.from_trial`, so a study in any storage is a report's
  source.
- `RunReport` / `DistillReport`: report.json of `automl run` / `automl distill`, with the keys the README
  documents (tests/automl/test_results.py checks them against the README's report section).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, Field

REPORT_JSON = "report.json"  # what a run or a distillation writes in its --out folder (the typed report) ...
REPORT_MD = "report.md"  # ... and the same, readable
RECORD = "record"  # the one user attribute a trial carries: its TrialRecord as JSON
# what older runs stored as separate user attributes; read so that their studies still resume and report
LEGACY_ATTRS = ("dev", "stopped", "bf16", "seconds", "train_samples_per_s", "steps", "best_step", "reason", "model_dir")


class StageRecord(BaseModel):
    """One `run_trial` of a distillation trial (TD1, TD2, data, fine-tune)."""

    stage: str
    dev: float
    steps: int
    epochs: float
    seconds: float
    stopped: str
    samples_per_s: float


class TrialRecord(BaseModel):
    """One trial: its parameters, what it scored and why it ended as it did."""

    number: int
    state: str = "RUNNING"  # Optuna's state name: COMPLETE | PRUNED | FAIL | RUNNING | WAITING
    kind: str = "trial"  # trial (automl run) | student | baseline (automl distill)
    params: dict[str, Any] = Field(default_factory=dict)
    value: float | None = None  # the dev score Optuna optimises
    dev: dict[str, float] = Field(default_factory=dict)  # every dev metric at the best eval
    test: dict[str, float] | None = None  # distillation scores every finished student on test (the frontier)
    seconds: float | None = None  # training time (automl run) or the whole trial (automl distill)
    duration_s: float | None = None  # Optuna's start-to-end time
    train_samples_per_s: float | None = None
    steps: int | None = None
    best_step: int | None = None
    stopped: str | None = None  # completed | early_stopping | time_budget
    bf16: bool | None = None
    reason: str = ""  # why it was pruned or failed (out of memory, diverged, behind other trials)
    model_dir: str | None = None  # its saved model, while it is one of the kept ones
    stages: list[StageRecord] = Field(default_factory=list)

    @classmethod
    def from_trial(cls, trial: Any) -> TrialRecord:
        """The record an Optuna (frozen) trial carries; number, state, params, value and duration come from
        Optuna itself, which owns them."""
        attrs = trial.user_attrs
        stored = attrs.get(RECORD) or {k: attrs[k] for k in LEGACY_ATTRS if k in attrs}
        duration = trial.duration.total_seconds() if trial.duration else None
        return cls.model_validate({**stored, "number": trial.number, "state": trial.state.name,
                                   "params": dict(trial.params), "value": trial.value,
                                   "duration_s": None if duration is None else round(duration, 1)})


class Qps(BaseModel):
    """Serving speed as `automl.serving.measure_qps` measured it."""

    batch_1: float
    batch_32: float
    qps_batch1: float | None = None
    qps_batch: float | None = None
    batch_size: int | None = None
    latency_ms_p50: float | None = None
    latency_ms_p95: float | None = None
    threads: int | None = None
    device: str = ""
    bf16: bool = False  # served with weights cast to bf16 (its predictions were unchanged)
    bf16_identical: bool | None = None
    sample_length: float | None = None

    @classmethod
    def measured(cls, measured: dict[str, Any]) -> Qps:
        return cls.model_validate({"batch_1": measured["qps_batch1"], "batch_32": measured["qps_batch"], **measured})


class QpsPair(BaseModel):
    batch_1: float
    batch_32: float


def dir_size_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 2**20, 2)


class ModelInfo(BaseModel):
    """A saved model: what it is and where."""

    name: str
    dir: str
    family: str
    parameters: int
    size_mb: float

    @classmethod
    def of(cls, name: str, directory: Path, model: Any, **more: Any) -> Self:
        """`model` (a TaskModel) saved in `directory`; `more`: a subclass's fields."""
        return cls(name=name, dir=str(directory), family=model.family, parameters=model.num_parameters(),
                   size_mb=dir_size_mb(directory), **more)


class KeptModel(BaseModel):
    """A trial whose model stays on disk: an ensemble candidate."""

    score: float
    trial: int
    model: str  # the model name (a tier, a family, a hub id)
    dir: str = ""


class Probe(BaseModel):
    size: int
    fits: bool
    peak_bytes: int | None = None
    seconds: float = 0.0
    reason: str = ""


class BatchSizeSearch(BaseModel, extra="allow"):
    """One model's batch-size search (automl.batch_size's SearchResult as a dict; newer fields kept)."""

    best: int
    probes: list[Probe] = Field(default_factory=list)


class Baseline(BaseModel):
    name: str
    test: dict[str, float]
    fit_seconds: float | None = None


class BestSingle(ModelInfo):
    """The best single model, reported beside an ensemble that became the run's model."""

    dev: dict[str, float]
    test: dict[str, float]
    qps: Qps


class EnsembleMember(BaseModel):
    name: str
    dir: str
    weight: float
    dev: float


class EnsembleCandidate(BaseModel):
    name: str
    dir: str
    dev: float


class VersusBest(BaseModel):
    fixed: int  # dev examples the ensemble gets right and the best model wrong
    broken: int
    clear: bool  # McNemar's one-sided 5% (automl.ensemble.clearly_better)


class EnsembleInfo(BaseModel):
    dir: str
    dev: dict[str, float]
    best_single_dev: float
    versus_best: VersusBest
    members: list[EnsembleMember]
    candidates: list[EnsembleCandidate] = Field(default_factory=list)
    selection_history: list[float] = Field(default_factory=list)


class RunData(BaseModel):
    files: dict[str, str]
    train: int
    dev: int
    test: int
    language: str
    labels: list[str]
    max_length: int


class SplitOverlap(BaseModel):
    split_a: str
    split_b: str
    shared_texts: int  # distinct texts found in both
    share_of_smaller: float
    examples: list[str] = Field(default_factory=list)


class DataChecks(BaseModel):
    """What `advisor inspect` finds in the run's splits before training (advisor.inspection.check_splits):
    rows repeated inside a split, and texts shared between splits (a leak that inflates dev/test scores)."""

    duplicate_rows: dict[str, int] = Field(default_factory=dict)  # split -> rows repeating an earlier one
    overlaps: list[SplitOverlap] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, check: Any) -> DataChecks:
        """From advisor.inspection.SplitCheck."""
        return cls(duplicate_rows=dict(check.duplicate_rows), warnings=list(check.warnings),
                   overlaps=[SplitOverlap(split_a=o.file_a, split_b=o.file_b, shared_texts=o.shared_texts,
                                          share_of_smaller=o.share_of_smaller, examples=list(o.examples))
                             for o in check.overlaps])


class StudyInfo(BaseModel):
    storage: str
    name: str
    trials_this_run: int


class RunReport(BaseModel):
    """report.json of `automl run`."""

    task: str
    metric: str
    model: ModelInfo
    dev: dict[str, float]
    test: dict[str, float]
    best_single: BestSingle | None = None
    ensemble: EnsembleInfo | None = None
    best_params: dict[str, Any]
    qps: Qps
    batch_size_search: list[Probe]  # the best model's probes, in order
    batch_size_searches: dict[str, BatchSizeSearch]  # every model's
    baseline: Baseline | None = None
    trials: list[TrialRecord]
    data: RunData
    notes: list[str] = Field(default_factory=list)
    data_checks: DataChecks | None = None  # duplicates and train/dev/test overlap (older reports: None)
    study: StudyInfo
    seconds: float = 0.0
    device: str = ""


class DistilledModel(ModelInfo):
    """Teacher, student or baseline of a distillation, scored and timed alike."""

    test: dict[str, float]
    qps: Qps
    qps_fp32: QpsPair | None = None  # set on the one served in bf16 when the other could not be


class Ratios(BaseModel):
    score_kept: float | None = None  # student / teacher on the test metric
    baseline_kept: float | None = None
    speedup_batch_1: float | None = None
    speedup_batch_32: float | None = None
    speedup_fp32_batch_1: float | None = None  # both in fp32, where they serve at different precisions
    speedup_fp32_batch_32: float | None = None
    student_beats_baseline: bool | None = None


class FrontierPoint(BaseModel):
    name: str
    kind: Literal["teacher", "student", "baseline"]
    test: dict[str, float]
    qps_batch_1: float
    qps_batch_32: float
    parameters: int
    chosen: bool = False


class DistillData(BaseModel):
    files: dict[str, str]
    train: int
    dev: int
    test: int
    language: str
    teacher_outputs_cached: int | None = None  # model distillation
    augmented: int | None = None
    unlabeled: int | None = None  # data distillation
    pos_replacement: bool | None = None
    parts: list[str] | None = None
    augment: dict[str, Any] | None = None


DISTILL_ROLES = ("teacher", "student", "baseline")


class DistillReport(BaseModel):
    """report.json of `automl distill`."""

    task: str
    metric: str
    method: Literal["model", "data"]
    teacher: DistilledModel
    student: DistilledModel
    baseline: DistilledModel | None = None
    ratios: Ratios = Field(default_factory=Ratios)
    frontier: list[FrontierPoint] = Field(default_factory=list)
    trials: list[TrialRecord] = Field(default_factory=list)
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)  # best parameters: student, baseline
    dev: dict[str, dict[str, float]] = Field(default_factory=dict)  # best dev scores: student, baseline
    data: DistillData
    notes: list[str] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict)
    seconds: float = 0.0

    def role(self, name: str) -> DistilledModel | None:
        found: DistilledModel | None = getattr(self, name)
        return found

    def present(self) -> list[tuple[str, DistilledModel]]:
        """(role, model) for teacher, student and baseline, in that order, those the report has."""
        return [(role, m) for role in DISTILL_ROLES if (m := self.role(role)) is not None]
