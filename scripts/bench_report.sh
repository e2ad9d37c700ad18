#!/bin/sh
# Wall-clock time and peak memory of a full quickstart-style report on a small
# transformer: the seven analyses of analyses/gpt-tiny.toml on the bf16 gradients
# of a 0.93 M-parameter GPT-style decoder (vocab 2048, d_model 128, 2 layers,
# steps 0..400 every 100), recorded here by scripts/record_real_models.py.
# Needs a Python with torch, numpy and safetensors (the recording takes a minute).
# Usage: cargo build --release && sh scripts/bench_report.sh [target/release/gradrd] [python3]
set -eu
BIN=$(realpath "${1:-target/release/gradrd}")
PY=${2:-python3}
ROOT=$(dirname "$0")/..
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$PY" "$ROOT/scripts/record_real_models.py" --model gpt --vocab 2048 --d-model 128 --n-layer 2 \
    --data-out "$OUT/gpt093" --no-fixtures > /dev/null
sed -e 's|^dump = .*|dump = "gpt093"|' -e 's|^name = .*|name = "gpt093"|' \
    "$ROOT/analyses/gpt-tiny.toml" > "$OUT/gpt093.toml"
for run in 1 2 3; do
    rm -rf "$OUT/reports"
    /usr/bin/time -f "run $run: %e s wall, %U s user, %M KB peak" \
        "$BIN" run "$OUT/gpt093.toml" --reports "$OUT/reports" > /dev/null
done
