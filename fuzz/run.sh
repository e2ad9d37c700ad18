#!/usr/bin/env bash
# Runs fuzz targets, each for SECONDS (default 240): one process at a time,
# or up to JOBS at once with -j JOBS. New inputs go to fuzz/work/<target>/
# (not committed); the committed seeds in fuzz/corpus/<target>/ are read
# only. A crash, timeout or OOM input lands in fuzz/artifacts/<target>/;
# each target's log is fuzz/logs/<target>.log.
#
#   fuzz/run.sh [-j JOBS] [SECONDS] [TARGET...]      (from the repository root)
set -u
cd "$(dirname "$0")"
jobs=1
if [ "${1:-}" = "-j" ]; then
    jobs=${2:?"-j needs a number"}
    shift 2
fi
seconds=${1:-240}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(safetensors npy npz pt parquet csv codebook_json analysis_toml)
fi
mkdir -p logs

run_one() {
    local target=$1
    mkdir -p "work/$target"
    cargo +nightly fuzz run "$target" "work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -print_final_stats=1 > "logs/$target.log" 2>&1
    local status=$?
    echo "$target: exit $status — $(grep -E '^(Done|#[0-9]+ *DONE)' "logs/$target.log" | tail -1)"
}

for target in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n
    done
    run_one "$target" &
done
wait
