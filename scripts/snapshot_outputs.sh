#!/usr/bin/env bash
# Writes the JSON of every gradrd command on the shipped dumps, and the
# quickstart report, into OUT — the outputs a refactoring must keep
# byte-identical. Take a snapshot with the binary before a change and one
# after, on the same machine, then compare:
#
#   scripts/snapshot_outputs.sh target/release/gradrd /tmp/before
#   ... change, rebuild ...
#   scripts/snapshot_outputs.sh target/release/gradrd /tmp/after
#   diff -r /tmp/before /tmp/after && echo identical
#
# (Floating-point results may differ in the last digits between machines
# and between debug and release builds; compare snapshots of one build.)
set -euo pipefail
bin=$(realpath "${1:?usage: snapshot_outputs.sh GRADRD_BINARY OUT}")
out=${2:?usage: snapshot_outputs.sh GRADRD_BINARY OUT}
cd "$(dirname "$0")/.."
mkdir -p "$out"
out=$(realpath "$out")
mlp=data/digits-mlp
gpt=data/gpt-tiny
resnet=data/resnet-tiny
a=$mlp/step_000050.safetensors:fc1.weight
b=$mlp/step_000100.safetensors:fc1.weight

# name|arguments (word-split; no argument holds a space)
commands=(
    "inspect-mlp|inspect $mlp"
    "inspect-gpt|inspect $gpt"
    "inspect-resnet|inspect $resnet"
    "fit-mlp|fit $mlp"
    "fit-gpt|fit $gpt --steps 0"
    "fit-resnet|fit $resnet --steps 0"
    "compare|compare $a $b"
    "iid-mlp|iid $mlp"
    "iid-gpt-layers|iid $gpt --pairs layers"
    "evolve|evolve $mlp --tensor weight"
    "design-m1|quantize design --from $mlp --steps 0 --bits 3 --m 1"
    "design-empirical|quantize design --from $mlp --steps 0 --empirical --bits 3"
    "rd-gennorm|rd --family gennorm --param beta=0.7 --bits 1,2 --cells 128"
    "ef-topk|ef $mlp --compressor topk --k 0.05"
    "ef-randk|ef $mlp --compressor randk --k 0.05 --seed 3"
    "ef-gpt|ef $gpt --compressor topk --k 0.01"
    "budget|budget $mlp"
    "dp|dp $mlp"
    "stale|stale $mlp --absent 50"
    "cost|cost --dump $mlp"
    "simulate|simulate fl --rounds 3 --topk 0.05 --quantizer m22"
)
status=0
for entry in "${commands[@]}"; do
    name=${entry%%|*}
    # shellcheck disable=SC2206
    args=(${entry#*|})
    if "$bin" "${args[@]}" --format json -o "$out/$name.json" 2> "$out/$name.stderr"; then
        code=0
    else
        code=$?
    fi
    echo "$code" > "$out/$name.exit"
    if [ "$code" -gt 1 ]; then
        echo "$name: exit $code: $(cat "$out/$name.stderr")" >&2
        status=1
    fi
done
"$bin" run analyses/quickstart.toml --reports "$out/reports" > /dev/null 2> "$out/quickstart.stderr"
echo "$(ls "$out"/*.json | wc -l) command outputs and reports/quickstart in $out"
exit $status
