#!/usr/bin/env bash
# Runs fuzz targets one after another, each for SECONDS (default 240), one
# process at a time. New inputs go to fuzz/work/<target>/ (not committed);
# the committed seeds in fuzz/corpus/<target>/ are read only. A crash,
# timeout or OOM input lands in fuzz/artifacts/<target>/.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      (from the repository root)
set -u
cd "$(dirname "$0")"
seconds=${1:-240}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(safetensors npy npz pt parquet csv codebook_json analysis_toml)
fi
mkdir -p logs
for target in "${targets[@]}"; do
    mkdir -p "work/$target"
    cargo +nightly fuzz run "$target" "work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -print_final_stats=1 > "logs/$target.log" 2>&1
    echo "$target: exit $? — $(grep -E '^(Done|#[0-9]+ *DONE)' "logs/$target.log" | tail -1)"
done
