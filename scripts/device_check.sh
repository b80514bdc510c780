#!/usr/bin/env bash
# Run ON the GPU machine (no TensorFlow there: Keras's JAX backend), from the repo
# root, with carry [".whl", ".data"] made by scripts/device_prepare.sh:
#   bash scripts/device_check.sh [PRESET [SECONDS]]
#   (environment: JOBS, reproduction worker processes sharing the GPU, default 4;
#    BENCH_ARGS, extra `actkeras bench` options)
# 1. `actkeras bench` on the GPU -> $OUT/BENCHMARKS_gpu.md (skipped when resuming);
# 2. `actkeras reproduce --preset PRESET` (default full) into /tmp/repro-PRESET for at
#    most SECONDS (default 420), then the report and a tarball of the folder in $OUT.
# The reproduction resumes: while the machine is still warm, the same command again
# goes on from the last finished run (a fresh machine starts over).
set -uo pipefail
PRESET=${1:-full}
LIMIT=${2:-420}
OUT=${OUT:-/tmp/device-out}
REPRO=/tmp/repro-$PRESET
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" KERAS_BACKEND=jax ACTKERAS_DATA_DIR="$PWD/.data" \
    ACTKERAS_NO_DOWNLOAD=1 PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3 \
    XLA_PYTHON_CLIENT_PREALLOCATE=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
if [ ! -d "$REPRO" ]; then
    python3 -m actkeras bench ${BENCH_ARGS:-} --write "$OUT/BENCHMARKS_gpu.md" > "$OUT/bench.log" 2>&1
    echo "bench: exit $?"
fi
start=$(date +%s)
timeout "$LIMIT" python3 -m actkeras reproduce --preset "$PRESET" --out "$REPRO" --quiet \
    --jobs "${JOBS:-4}" \
    > "$OUT/reproduce.log" 2>&1
code=$?
echo "reproduce: exit $code after $(( $(date +%s) - start )) s (124: stopped at the limit; run again to go on)"
tail -n 14 "$OUT/reproduce.log"
[ -f "$REPRO/report.md" ] && cp "$REPRO/report.md" "$OUT/"
tar czf "$OUT/repro-$PRESET.tgz" -C /tmp "repro-$PRESET"
