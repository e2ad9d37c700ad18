#!/usr/bin/env python3
"""Top-k + full error feedback: gradrd against the same replay in numpy.

Writes a synthetic dump (STEPS safetensors files, one float32 tensor of N
heavy-tailed entries each), then times
- numpy: load + replay (p = g + e; keep the k = ceil(f n) largest |p| with
  np.argpartition, numpy's selection; e = p - C(p); error and bits), and the
  replay alone;
- gradrd: `gradrd ef DUMP --k f --feedback full --format json` (the whole
  process: start, read, replay, JSON),
checks that both report the same total error (1e-9 relative; ties between
equal |p| are broken differently by argpartition, so up to 1e-6 is accepted
and reported) and prints the times, entries per second and the ratio.

    python3 scripts/bench_ef_vs_numpy.py --gradrd target/release/gradrd --n 4000000 --steps 10
"""

import argparse
import json
import math
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file


def replay_numpy(steps, f):
    n = steps[0].size
    k = math.ceil(f * n)
    e = np.zeros(n)
    total = 0.0
    for g in steps:
        p = g + e
        keep = np.argpartition(np.abs(p), n - k)[n - k:]
        lost = p.copy()
        lost[keep] = 0.0
        total += float(np.dot(lost, lost))
        e = lost
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gradrd", default="target/release/gradrd")
    parser.add_argument("--n", type=int, default=4_000_000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--k", type=float, default=0.01)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        for t in range(args.steps):
            u = rng.random(args.n, dtype=np.float64) - 0.5
            save_file({"w": (u * u * u).astype(np.float32)}, str(Path(tmp) / f"step_{t:06d}.safetensors"))
        files = sorted(Path(tmp).iterdir())
        entries = args.n * args.steps

        best_np = best_replay = math.inf
        for _ in range(args.runs):
            start = time.perf_counter()
            steps = [load_file(str(f))["w"].astype(np.float64) for f in files]
            loaded = time.perf_counter()
            np_error = replay_numpy(steps, args.k)
            end = time.perf_counter()
            best_np = min(best_np, end - start)
            best_replay = min(best_replay, end - loaded)

        best_rd = math.inf
        for _ in range(args.runs):
            start = time.perf_counter()
            out = subprocess.run(
                [args.gradrd, "ef", tmp, "--k", str(args.k), "--feedback", "full", "--format", "json"],
                check=True, capture_output=True,
            )
            best_rd = min(best_rd, time.perf_counter() - start)
        rd_error = json.loads(out.stdout)["total_error"]

    rel = abs(rd_error - np_error) / abs(np_error)
    print(f"n = {args.n}, steps = {args.steps}, k = {args.k}, numpy {np.__version__}")
    print(f"numpy  load+replay {best_np:8.3f} s   replay only {best_replay:8.3f} s  "
          f"({entries / best_replay:.3g} entries/s)")
    print(f"gradrd whole run   {best_rd:8.3f} s   ({entries / best_rd:.3g} entries/s, read + replay + JSON)")
    print(f"ratio numpy(load+replay) / gradrd = {best_np / best_rd:.2f}x;  numpy(replay only) / gradrd = {best_replay / best_rd:.2f}x")
    print(f"total error: numpy {np_error!r}, gradrd {rd_error!r}, relative difference {rel:.2e}")


if __name__ == "__main__":
    main()
