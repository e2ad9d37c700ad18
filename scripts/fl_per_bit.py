"""Run `gradrd simulate fl` over the settings of README "Federated simulation" and print a
Markdown table: final test accuracy (mean over seeds), total uplink bits, wall time.

    cargo build && python3 scripts/fl_per_bit.py target/debug/gradrd [REGEX] > /tmp/fl.md

(REGEX: only the settings whose name matches it.)

Every row is `gradrd simulate fl <flags> --seed S --format json` with the defaults
(digits, 10 clients, label skew with 2 classes per client, 200 rounds, E = 5 local steps,
batch 32, lr 0.1, 32 hidden units, full participation).
"""

import json
import re
import subprocess
import sys
import time

SEEDS = [0, 1, 2]

ROWS = [
    ("uncompressed FedAvg (E = 5)", "--quantizer none"),
    ("uncompressed, E = 1", "--quantizer none --local-steps 1"),
    ("uncompressed, E = 3", "--quantizer none --local-steps 3"),
    ("top-1 %, full error feedback", "--topk 0.01 --feedback full"),
    ("top-1 %, no error feedback", "--topk 0.01 --feedback none"),
    ("top-1 %, decayed memory γ = 0.9", "--topk 0.01 --feedback decay --gamma 0.9"),
    ("top-1 %, SA-PEF α = 0.5", "--topk 0.01 --feedback sapef --sapef-alpha 0.5"),
    ("m22 2 bits (GenNorm, M = 2)", "--quantizer m22 --bits 2"),
    ("uniform-minmax 2 bits", "--quantizer uniform-minmax --bits 2"),
    ("m22 3 bits (GenNorm, M = 2)", "--quantizer m22 --bits 3"),
    ("uniform-minmax 3 bits", "--quantizer uniform-minmax --bits 3"),
    ("m22 4 bits (GenNorm, M = 2)", "--quantizer m22 --bits 4"),
    ("m22 4 bits (GenNorm, M = 0)", "--quantizer m22 --bits 4 --m 0"),
    ("uniform-minmax 4 bits", "--quantizer uniform-minmax --bits 4"),
    ("uniform-opt 4 bits", "--quantizer uniform-opt --bits 4"),
    ("fp4-e2m1", "--quantizer fp4-e2m1"),
    ("fp8-e4m3", "--quantizer fp8-e4m3"),
    ("int8", "--quantizer int8"),
    ("top-10 % + m22 3 bits", "--topk 0.1 --quantizer m22 --bits 3"),
    ("top-10 % + uniform-minmax 3 bits", "--topk 0.1 --quantizer uniform-minmax --bits 3"),
    ("top-10 % + fp4-e2m1", "--topk 0.1 --quantizer fp4-e2m1"),
    ("top-10 % + fp8-e4m3", "--topk 0.1 --quantizer fp8-e4m3"),
    ("top-1 % + m22 2 bits", "--topk 0.01 --quantizer m22 --bits 2"),
    ("top-1 % + uniform-minmax 2 bits", "--topk 0.01 --quantizer uniform-minmax --bits 2"),
    ("top-1 % + fp4-e2m1", "--topk 0.01 --quantizer fp4-e2m1"),
    ("no EF: m22 2 bits", "--feedback none --quantizer m22 --bits 2"),
    ("no EF: uniform-minmax 2 bits", "--feedback none --quantizer uniform-minmax --bits 2"),
    ("no EF: uniform-opt 2 bits", "--feedback none --quantizer uniform-opt --bits 2"),
    ("no EF: fp4-e2m1", "--feedback none --quantizer fp4-e2m1"),
    ("no EF: m22 1 bit", "--feedback none --quantizer m22 --bits 1"),
    ("no EF: uniform-minmax 1 bit", "--feedback none --quantizer uniform-minmax --bits 1"),
]


def main() -> None:
    binary = sys.argv[1]
    pattern = re.compile(sys.argv[2] if len(sys.argv) > 2 else "")
    print("| setting | flags | final accuracy (seeds 0, 1, 2) | mean | uplink Mbit (seed 0) | central model | s/run |")
    print("|---|---|---|---|---|---|---|")
    for name, flags in ROWS:
        if not pattern.search(name):
            continue
        accs, bits, central, seconds = [], None, [], []
        for seed in SEEDS:
            start = time.perf_counter()
            out = subprocess.run(
                [binary, "simulate", "fl", *flags.split(), "--seed", str(seed), "--format", "json"],
                check=True, capture_output=True, text=True,
            ).stdout
            seconds.append(time.perf_counter() - start)
            report = json.loads(out)
            accs.append(report["final_accuracy"])
            central.append(report["central_accuracy"])
            if bits is None:
                bits = report["total_uplink_bits"]
        mean = sum(accs) / len(accs)
        print(
            f"| {name} | `{flags}` | {', '.join(f'{100 * a:.1f}' for a in accs)} | {100 * mean:.1f} % "
            f"| {bits / 1e6:.2f} | {100 * sum(central) / len(central):.1f} % | {sum(seconds) / len(seconds):.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
