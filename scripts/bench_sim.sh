#!/bin/sh
# Wall-clock timings of the sim commands on the dev-profile binary (opt-level 1, deps at 2):
#   1. teacher/student: gradient entries recorded per second, recording every step
#      (N = 1000, M = 4: 4004 entries per file, 2000 files, 8.0e6 entries)
#   2. simulate fl: 10 clients x 200 rounds on digits with M22 (4 bits, GenNorm, M = 2)
# Usage: cargo build && sh scripts/bench_sim.sh [target/debug/gradrd]
set -eu
BIN=${1:-target/debug/gradrd}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
start=$(date +%s.%N)
"$BIN" generate teacher-student --input-dim 1000 --teacher-hidden 2 --student-hidden 4 \
    --steps 2000 --record-every 1 --out "$OUT/ts" --format csv > /dev/null
end=$(date +%s.%N)
python3 -c "t = $end - $start; print(f'teacher-student: 8.008e6 entries in {t:.2f} s = {8.008e6 / t:.3g} entries/s')"
start=$(date +%s.%N)
"$BIN" simulate fl --clients 10 --rounds 200 --quantizer m22 --bits 4 --format csv > /dev/null
end=$(date +%s.%N)
python3 -c "print(f'simulate fl, 10 clients x 200 rounds, m22: {$end - $start:.2f} s')"
