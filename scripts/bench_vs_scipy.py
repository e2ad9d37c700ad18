#!/usr/bin/env python3
"""gradrd's maximum-likelihood fits against scipy's, side by side.

For each family, draws N float32 samples (seeded), saves them as .npy, then
- times scipy's `.fit` on the standardized values x/s (its best case; loc and
  scale are rescaled by s afterwards) and evaluates its log-likelihood on x;
- times `gradrd fit FILE.npy --family F --no-gof --format json` (the whole
  process: start, read, fit; goodness of fit off) and reads its log-likelihood;
and prints both times, the ratio and both log-likelihoods (gradrd's must be
at least scipy's minus 1e-6 relative).

    python3 scripts/bench_vs_scipy.py --gradrd target/release/gradrd --n 1000000
"""

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.stats as st

CASES = [
    ("gennorm", st.gennorm, (0.7,), "beta"),
    ("dweibull", st.dweibull, (0.8,), "c"),
    ("laplace", st.laplace, (), None),
    ("normal", st.norm, (), None),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gradrd", default="target/release/gradrd")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="gradrd runs (best is reported); scipy runs once")
    args = parser.parse_args()
    print(f"n = {args.n}, scipy {scipy.__version__}, numpy {np.__version__}")
    print(f"{'family':9} {'scipy (s)':>10} {'gradrd (s)':>11} {'ratio':>7}  {'loglik scipy':>16} {'loglik gradrd':>16}  shape scipy / gradrd")
    with tempfile.TemporaryDirectory() as folder:
        for seed, (name, dist, shape, shape_name) in enumerate(CASES):
            rng = np.random.default_rng(seed)
            x32 = dist.rvs(*shape, scale=1e-3, size=args.n, random_state=rng).astype(np.float32)
            path = Path(folder) / f"{name}.npy"
            np.save(path, x32)
            x = x32.astype(np.float64)
            s = float(np.std(x))
            start = time.perf_counter()
            fitted = list(dist.fit(x / s))
            scipy_seconds = time.perf_counter() - start
            fitted[-2] *= s
            fitted[-1] *= s
            scipy_loglik = float(np.sum(dist.logpdf(x, *fitted)))
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                out = subprocess.run([args.gradrd, "fit", str(path), "--family", name, "--no-gof",
                                      "--zeros", "keep", "--format", "json"], check=True, capture_output=True)
                times.append(time.perf_counter() - start)
            ours = json.loads(out.stdout)["results"][0]["fits"][0]
            ours_seconds = min(times)
            shapes = f"{fitted[0]:.6f} / {ours['params'][shape_name]:.6f}" if shape_name else ""
            print(f"{name:9} {scipy_seconds:10.3f} {ours_seconds:11.3f} {scipy_seconds / ours_seconds:6.1f}x "
                  f"{scipy_loglik:16.3f} {ours['loglik']:16.3f}  {shapes}")


if __name__ == "__main__":
    main()
