#!/usr/bin/env python3
"""Throughput of `gradrd inspect` over a large safetensors dump.

Writes a dump of float32 tensors totalling SIZE_GIB (default 1 GiB) to a
temporary folder (or --dir), runs `gradrd inspect --format json` on it a few
times and prints GB/s (decimal gigabytes of tensor data per second, best and
median of the runs). The first run may read from disk; later runs read from
the page cache, which is how a dump that was just written is inspected.

    python3 scripts/bench_inspect.py --gradrd target/release/gradrd --size-gib 1
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
from safetensors.numpy import save_file


def write_dump(path: str, size_gib: float, seed: int) -> int:
    rng = np.random.default_rng(seed)
    total = int(size_gib * 2**30) // 4
    per_tensor = 16 * 2**20  # 16 Mi elements = 64 MiB per tensor
    tensors = {}
    written = 0
    index = 0
    while written < total:
        n = min(per_tensor, total - written)
        values = rng.standard_normal(n, dtype=np.float32) * np.float32(1e-3)
        values[rng.random(n) < 0.2] = 0.0  # dead-ReLU-like exact zeros
        tensors[f"layer{index}.weight"] = values.reshape(-1, 1024) if n % 1024 == 0 else values
        written += n
        index += 1
    save_file(tensors, path, metadata={"step": "0"})
    return written * 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gradrd", default="target/release/gradrd")
    parser.add_argument("--size-gib", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", default=None, help="folder for the dump (default: a temporary folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        path = os.path.join(folder, "big.safetensors")
        data_bytes = write_dump(path, args.size_gib, seed=0)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            out = subprocess.run([args.gradrd, "inspect", path, "--format", "json"],
                                 check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        report = json.loads(out.stdout)
        zeros = sum(t["zeros"] for t in report["tensors"])
        n = sum(t["n"] for t in report["tensors"])
        print(f"dump: {data_bytes / 1e9:.3f} GB of float32 in {len(report['tensors'])} tensors, "
              f"zero fraction {zeros / n:.4f}")
        print("runs (s): " + ", ".join(f"{t:.3f}" for t in times))
        print(f"gradrd inspect: best {data_bytes / min(times) / 1e9:.2f} GB/s, "
              f"median {data_bytes / statistics.median(times) / 1e9:.2f} GB/s")


if __name__ == "__main__":
    main()
