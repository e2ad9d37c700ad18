"""Run `gradrd simulate fl` over the settings of README "Federated simulation" and print a
Markdown table: final test accuracy (mean over seeds), total uplink bits, wall time.

    cargo build && python3 scripts/fl_per_bit.py target/debug/gradrd [REGEX] > /tmp/fl.md

(REGEX: only the settings whose name matches it.)

Flags may name the files of FILES (written to a temporary folder first): CWMP costs
files and fixed codebooks designed by `gradrd quantize design` on the shipped dump
data/digits-mlp (tensor fc2.weight at step 200, its GenNorm fit, 2 bits).

Every row is `gradrd simulate fl <flags> --seed S --format json` with the defaults
(digits, 10 clients, label skew with 2 classes per client, 200 rounds, E = 5 local steps,
batch 32, lr 0.1, 32 hidden units, full participation).
"""

import json
import re
import os
import subprocess
import sys
import tempfile
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
    ("cwmp 1 %, equal costs", "--cwmp 0.01 --costs EQUAL_COSTS"),
    ("cwmp 1 %, fc2 entries cost 10", "--cwmp 0.01 --costs FC2_COSTS_10"),
    ("fixed codebook 2 bits (M = 0)", "--codebook CODEBOOK_M0"),
    ("fixed codebook 2 bits (M = 0), rescaled", "--codebook CODEBOOK_M0 --codebook-rescale rms"),
    ("fixed codebook 2 bits (M = 2)", "--codebook CODEBOOK_M2"),
    ("top-1 % + fixed codebook 2 bits (M = 0)", "--topk 0.01 --codebook CODEBOOK_M0"),
]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_files(binary: str, folder: str) -> dict:
    """The costs files and codebooks the flags name, by placeholder."""
    files = {}
    for name, text in [
        ("EQUAL_COSTS", '{"fc1": 1.0, "fc2": 1.0}'),
        ("FC2_COSTS_10", '{"fc1": 1.0, "fc2": 10.0}'),
    ]:
        files[name] = os.path.join(folder, name.lower() + ".json")
        with open(files[name], "w") as f:
            f.write(text)
    for m in [0, 2]:
        name = f"CODEBOOK_M{m}"
        files[name] = os.path.join(folder, name.lower() + ".json")
        subprocess.run(
            [binary, "quantize", "design", "--from",
             os.path.join(ROOT, "data/digits-mlp/step_000200.safetensors"),
             "--tensor", "fc2.weight", "--bits", "2", "--m", str(m), "-o", files[name]],
            check=True, capture_output=True,
        )
    return files


def main() -> None:
    binary = sys.argv[1]
    pattern = re.compile(sys.argv[2] if len(sys.argv) > 2 else "")
    folder = tempfile.mkdtemp()
    files = write_files(binary, folder)
    print("| setting | flags | final accuracy (seeds 0, 1, 2) | mean | uplink Mbit (seed 0) | central model | s/run |")
    print("|---|---|---|---|---|---|---|")
    for name, flags in ROWS:
        if not pattern.search(name):
            continue
        accs, bits, central, seconds = [], None, [], []
        for seed in SEEDS:
            start = time.perf_counter()
            out = subprocess.run(
                [binary, "simulate", "fl", *[files.get(a, a) for a in flags.split()],
                 "--seed", str(seed), "--format", "json"],
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
