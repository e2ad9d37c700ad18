#!/usr/bin/env python3
"""gradrd's M-weighted Lloyd-Max design against a scipy-quadrature Lloyd-Max,
side by side, at equal accuracy.

The scipy reference is the plain Lloyd iteration of scripts/ref_lloyd_scipy.py
(cell moments by scipy.integrate.quad, quantile start) run until the centers
move by at most 1e-10 relative — the tolerance gradrd uses. gradrd is timed as
a whole process (`gradrd quantize design ... --format json`: start-up, design,
output), best of --runs. The distortions must agree to 1e-8 relative.

Then gradrd alone: a 256-level design (target < 50 ms) and an empirical design
on 10^7 float32 samples read from an .npy file (target < 1 s).

    python3 scripts/bench_lloyd_vs_scipy.py --gradrd target/release/gradrd
"""

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

import ref_lloyd_scipy as ref

ref.TOLERANCE = 1e-10


def run_gradrd(binary: str, args: list[str], runs: int) -> tuple[float, dict]:
    best = float("inf")
    out = None
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([binary, "quantize", "design", *args, "--format", "json"],
                              check=True, capture_output=True, text=True)
        best = min(best, time.perf_counter() - start)
        out = json.loads(proc.stdout)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gradrd", default="target/release/gradrd")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--levels", type=int, nargs="+", default=[8, 16, 32])
    args = parser.parse_args()
    print(f"scipy {scipy.__version__}, numpy {np.__version__}; gennorm(beta=0.8), M = 2")
    print(f"{'L':>4} {'scipy (s)':>10} {'iters':>6} {'gradrd (s)':>11} {'ratio':>8}  {'rel. diff of D':>14}")
    for levels in args.levels:
        src = stats.gennorm(0.8)
        start = time.perf_counter()
        thresholds, centers, iterations, converged = ref.lloyd(src, 2.0, levels)
        scipy_seconds = time.perf_counter() - start
        distortion, _, _ = ref.measure(src, 2.0, thresholds, centers)
        seconds, doc = run_gradrd(args.gradrd, ["--param", "beta=0.8", "--levels", str(levels), "--m", "2"], args.runs)
        diff = abs(doc["distortion"] - distortion) / distortion
        flag = "" if converged else " (scipy did not converge)"
        print(f"{levels:>4} {scipy_seconds:>10.3f} {iterations:>6} {seconds:>11.4f} {scipy_seconds / seconds:>8.0f}  {diff:>14.2e}{flag}")
    seconds, doc = run_gradrd(args.gradrd, ["--param", "beta=0.8", "--levels", "256", "--m", "2"], args.runs)
    print(f"gradrd, 256 levels, M = 2: {seconds * 1e3:.1f} ms for the whole process "
          f"({doc['design']['iterations']} iterations, {doc['design']['stop_reason']})")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "samples.npy"
        rng = np.random.default_rng(0)
        np.save(path, stats.gennorm.rvs(0.8, scale=1e-3, size=10_000_000, random_state=rng).astype(np.float32))
        seconds, doc = run_gradrd(args.gradrd, ["--from", str(path), "--empirical", "--bits", "4", "--m", "1"], 3)
        print(f"gradrd, empirical design on 10^7 float32 samples (16 levels, M = 1): {seconds:.3f} s "
              f"for the whole process ({doc['design']['iterations']} iterations)")


if __name__ == "__main__":
    main()
