"""From what the rules decided to concrete plans: tier ladder, distillation, hardware, training, data.

Each plan names the rules behind it; the numbers come from presets (search_spaces, prices) and the
guide's own arithmetic (10/100/1000 steps, 200 examples per label).
"""

from __future__ import annotations

import math

import presets
from advisor.answers import Answers, did_you_mean
from advisor.engine import Evaluation, evaluate
from advisor.errors import UserError
from advisor.recommendation import (
    DataVerdict,
    Decomposition,
    Distill,
    Guide,
    Hardware,
    Recommendation,
    Task,
    Tier,
    Training,
)
from advisor.rules import RuleBook, rulebook
from advisor.steps import step_plan
from advisor.tiers import MULTILINGUAL, offline_pretrained, pick
from presets.catalog import MAX_POSITIONS, ModelTier
from presets.catalog import task as task_type
from presets.catalog import tier as tier_named

MIN_PER_LABEL = 200  # DATA-6: "每个标签覆盖的样本数至少要超过200条"
PRETRAINED_BAND = (1_000, 100_000)  # DATA-3: thousands to tens of thousands
SCRATCH_BAND = (10_000, 1_000_000)  # DATA-2: tens of thousands to millions
FINE_TUNE_CEILING = 1_000_000  # DATA-4: don't fine-tune on millions of rows
DEFAULT_LADDER = ["base"]
FALLBACK_LANGUAGE = "en"


def task_of(task_id: str, rule: str = "") -> Task:
    known = task_type(task_id).model_dump()
    return Task(id=task_id, rule=rule, **{k: known[k] for k in Task.model_fields if k not in ("id", "rule")
                                          and known.get(k) is not None})


def ladder(ev: Evaluation, answers: Answers, warnings: list[str]) -> list[Tier]:
    steps = ev.ladder or [(s, "") for s in DEFAULT_LADDER]
    language = answers.language
    pretrained_steps = [s for s, _ in steps if s in ("tiny", "base", "large")]
    if pretrained_steps and not any(pick(s, language) for s in pretrained_steps):  # scratch-only ladders need none
        warnings.append(f"No pretrained tiers for language {language!r} in presets/models.toml; showing "
                        f"{FALLBACK_LANGUAGE!r} tiers. Add a multilingual or {language} model there.")
        language = FALLBACK_LANGUAGE
    out: list[Tier] = []
    for step, rule in steps:
        tier = pick(step, language)
        if tier is None or any(t.name == tier.name for t in out):
            continue
        out.append(as_tier(tier, rule))
    add_offline_tier(out, language, warnings)
    stand_ins = [t.name for t in out if t.language == MULTILINGUAL]
    if stand_ins and not any(t.language == language for t in out if t.family == "transformer"):
        warnings.append(f"No pretrained tiers for language {language!r} in presets/models.toml; the multilingual "
                        f"{', '.join(stand_ins)} stands in for them.")
    distill = ev.facts["distill"]
    if distill == "model":
        pretrained = [t for t in out if t.family == "transformer"]
        # QUAL-3's size class first: e5-small's 250k-piece vocabulary gives it a base model's parameter count
        scale = {"tiny": 0, "base": 1, "large": 2}
        teacher = max(pretrained, key=lambda t: (scale.get(t.size, 0), t.params_millions), default=None)
        student = min(pretrained, key=lambda t: (scale.get(t.size, 0), t.params_millions), default=None)
        for t in out:
            t.role = "teacher" if t is teacher else "student" if t is student else t.role
    elif distill == "data":
        for t in out:
            t.role = "teacher" if t.family == "transformer" else "student"
    return out


def add_offline_tier(out: list[Tier], language: str, warnings: list[str]) -> None:
    """When every pretrained tier of the ladder needs the hub (ERNIE for Chinese), add the pretrained tier that
    trains offline for the language right after them (multilingual-e5-small): the hub tiers stay the named
    defaults, and `automl run`, which keeps what runs here, still gets a pretrained model."""
    pretrained = [t for t in out if t.family == "transformer"]
    if not pretrained or any(t.offline for t in pretrained):
        return
    fallback = offline_pretrained(language)
    if fallback is None or any(t.name == fallback.name for t in out):
        return
    out.insert(out.index(pretrained[-1]) + 1, as_tier(fallback, pretrained[0].rule))
    warnings.append(f"{', '.join(t.name for t in pretrained)} download from the Hugging Face hub once; without a "
                    f"network, {fallback.name} is the pretrained tier that trains here: {fallback.describe_source()}.")


def as_tier(t: ModelTier, rule: str) -> Tier:
    return Tier(name=t.name, family=t.family, size=t.size, language=t.language, layers=t.layers, hidden=t.hidden,
                params_millions=round(t.parameters() / 1e6, 1), source=t.describe_source(), offline=t.offline,
                rule=rule)


def distill_plan(ev: Evaluation, tiers: list[Tier]) -> Distill:
    method = ev.facts["distill"]
    plan = Distill(method=method, rules=ev.distill_rules)
    if method == "none":
        return plan
    plan.teacher = next((t.name for t in tiers if t.role == "teacher"), "")
    plan.student = next((t.name for t in tiers if t.role == "student"), "")
    if method == "model":
        # DIST-2: GD and GED need general-domain data; TD1 and TD2 run on the task's own data.
        plan.stages = ["TD1: match the last layer's query-key and value-value attention relations (KL, MiniLMv2)",
                       "TD2: soft-label cross-entropy to the teacher + hard-label cross-entropy to the truth"]
    else:
        plan.stages = ["augment: UNK p=0.1, same-POS replacement p=0.1, n-sampling",
                       "label the augmented and unlabeled text with the fine-tuned teacher (hard labels)",
                       "train the BOW/CNN student on original + teacher-labeled data"]
    return plan


def hardware_plan(ev: Evaluation, answers: Answers, warnings: list[str]) -> Hardware:
    train_device, train_rule = ev.train_device or (answers.train_hardware, "")
    serve_device, serve_rule = ev.serve_device or (answers.serve_hardware, "")
    cards = ev.facts["cards"]
    plan = Hardware(train_device=train_device, serve_device=serve_device, gpus_per_machine=answers.gpus,
                    machines=answers.machines, cards=cards,
                    data_files=2 * cards if cards > 1 else 1,  # TIME-5: more files than cards, split finer
                    rules=[r for r in (train_rule, serve_rule) if r])
    if cards > 1:
        plan.rules.append("TIME-5")
    prices = presets.load("prices")
    plan.currency = prices.get("meta", {}).get("currency", "USD")
    if answers.gpu_model:
        table = {k.lower(): (k, v) for k, v in prices["gpu"].items()}
        if answers.gpu_model.lower() not in table:
            raise UserError(f"gpu_model {answers.gpu_model!r} is not in the price table."
                            f"{did_you_mean(answers.gpu_model, list(prices['gpu']))}",
                            f"Use one of {', '.join(prices['gpu'])}, or add it to presets/prices.toml.")
        name, price = table[answers.gpu_model.lower()]
        plan.gpu_model, plan.price_per_card_hour = name, float(price)
        if answers.train_hours and cards:
            plan.estimated_train_cost = round(plan.price_per_card_hour * cards * answers.train_hours, 2)
        plan.rules.append("HW-1")
    return plan


def start_batch(tier: Tier, answers: Answers) -> int:
    """TIME-8: the tier's starting batch (presets/search_spaces.toml), doubled for short inputs."""
    batch = int(catalog_tier(tier.name).search_space()["batch_start"])
    if answers.text_chars and answers.text_chars <= presets.load("search_spaces")["short_text_chars"]:
        batch *= 2  # short inputs take a larger batch
    return batch


def catalog_tier(name: str) -> ModelTier:
    found = tier_named(name)
    if found is None:
        raise KeyError(f"{name} is not a tier of presets/models.toml")
    return found


def training_plan(tiers: list[Tier], answers: Answers, warnings: list[str]) -> Training:
    first = tiers[0]
    space = catalog_tier(first.name).search_space()
    group = "transformer" if first.family == "transformer" else "scratch"
    batch = start_batch(first, answers)
    max_length = min(MAX_POSITIONS, 16 * math.ceil((answers.text_chars or 128) / 16))
    rows = max(answers.labeled_rows, 1)
    steps_per_epoch = math.ceil(rows / batch)
    epochs = int(space["epochs"])
    if group == "transformer" and answers.labeled_rows < 5_000:
        epochs += 2  # few rows: more passes before the dev score settles
    log, eval_, save = step_plan(rows, batch, epochs)
    return Training(model=first.name, batch_size=batch,
                    batch_size_search="binary search for the largest batch that fits (automl run does it)",
                    learning_rate=float(space["lr_default"]), epochs=epochs, max_length=max_length,
                    steps_per_epoch=steps_per_epoch, train_log_step=log, eval_step=eval_, save_model_step=save,
                    mixed_precision=answers.train_hardware == "gpu", rules=["TIME-7", "TIME-8"])


def per_label_tasks(book: RuleBook) -> tuple[str, ...]:
    """The tasks DATA-6 counts rows per label for, read from its condition in presets/rules.toml."""
    rule = book.by_id["DATA-6"]
    leaves = rule.when.all if rule.when else ()
    return next((tuple(c.value) for c in leaves if c.field == "task" and c.op == "in"), ())


def data_verdict(ev: Evaluation, answers: Answers, book: RuleBook) -> DataVerdict:
    task, rows = ev.facts["task"], answers.labeled_rows
    verdict = DataVerdict(verdict="sufficient", labeled_rows=rows, rows_per_label=ev.facts["rows_per_label"],
                          pretrained_band=f"{PRETRAINED_BAND[0]:,}-{PRETRAINED_BAND[1]:,} rows (DATA-3)",
                          scratch_band=f"{SCRATCH_BAND[0]:,}-{SCRATCH_BAND[1]:,} rows (DATA-2)",
                          rules=["DATA-3", "DATA-2"])
    if task in per_label_tasks(book) and answers.num_labels:
        verdict.needed_rows = MIN_PER_LABEL * answers.num_labels
        verdict.rules.append("DATA-6")
    if rows == 0:
        verdict.verdict = "unknown"
        verdict.notes.append("No labeled rows given: label at least a few thousand (FLOW-2).")
        return verdict
    short_per_label = verdict.needed_rows is not None and rows < verdict.needed_rows
    if short_per_label or rows < PRETRAINED_BAND[0]:
        verdict.verdict = "insufficient"
    elif rows >= FINE_TUNE_CEILING:
        verdict.verdict = "more_than_needed"
        verdict.rules.append("DATA-4")
    if short_per_label:
        verdict.notes.append(f"{verdict.rows_per_label:.0f} rows per label; at least {MIN_PER_LABEL} each, "
                             f"{verdict.needed_rows:,} in all, are needed for {answers.num_labels} labels.")
    verdict.notes.append("enough for a pretrained model" if rows >= PRETRAINED_BAND[0]
                         else f"a pretrained model needs at least {PRETRAINED_BAND[0]:,} rows")
    verdict.notes.append("enough for a from-scratch network" if rows >= SCRATCH_BAND[0]
                         else f"a from-scratch network needs {SCRATCH_BAND[0]:,}+ rows")
    return verdict


def recommend(answers: Answers, book: RuleBook | None = None) -> Recommendation:
    book = book or rulebook()
    ev = evaluate(book, answers)
    if ev.facts["task"] is None:
        raise UserError(f"No task abstraction fits input={answers.input!r} with output={answers.output!r}.",
                        "Check the input and output answers (`?` at the question explains each choice).")
    warnings = [f.because for f in ev.fired_where("warning")]
    tiers = ladder(ev, answers, warnings)
    return Recommendation(
        task=task_of(ev.facts["task"], ev.task_rule),
        decomposition=Decomposition(steps=[task_of(t) for t in ev.decompose], rule=ev.decompose_rule),
        model_tiers=tiers,
        distill=distill_plan(ev, tiers),
        hardware=hardware_plan(ev, answers, warnings),
        training=training_plan(tiers, answers, warnings),
        data_verdict=data_verdict(ev, answers, book),
        warnings=warnings,
        advice=[f"{f.id}: {f.because}" for f in ev.fired_where("advice")],
        fired_rules=ev.fired,
        answers=answers.model_dump(exclude_none=True),
        guide=Guide(title=book.guide.title, url=book.guide.url, license=book.guide.license),
    )
