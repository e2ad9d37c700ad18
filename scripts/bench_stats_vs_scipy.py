#!/usr/bin/env python3
"""Side-by-side speed of gradrd's statistics and scipy/numpy on the same data.

Runs the criterion bench `crates/gradrd-core/benches/stats.rs` (release), reads its mean times
from target/criterion, times the scipy/numpy computations on identical data
(the bench's generator, reproduced here with numpy) and prints the ratios:

    spearman            gradrd::stats::spearman        vs scipy.stats.spearmanr        (N pairs)
    ks_two_sample_half  gradrd::stats::ks_two_sample   vs scipy.stats.ks_2samp         (2 x N/2)
    wasserstein_samples gradrd::stats::wasserstein_samples (W1 and W2)
                        vs numpy's sort-based W2 (np.sort both, mean of squared differences)

    python3 scripts/bench_stats_vs_scipy.py            # N = 10^7
    GRADRD_BENCH_N=1000000 python3 scripts/bench_stats_vs_scipy.py
"""

import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.stats as st

ROOT = Path(__file__).resolve().parent.parent


def heavy_tailed(seed: int, n: int) -> np.ndarray:
    """The bench's data: v·|v|·1e-9 with v = hash(i, seed) mod 2001 − 1000."""
    i = np.arange(n, dtype=np.uint64)
    h = (i + np.uint64(seed)) * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(29)
    v = (h % np.uint64(2001)).astype(np.int64) - 1000
    return (v * np.abs(v)).astype(np.float64) * 1e-9


def best_of(fn, runs=3):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def criterion_mean_seconds(name: str) -> float:
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = target / "criterion" / "stats" / name / "new" / "estimates.json"
    return json.loads(path.read_text())["mean"]["point_estimate"] * 1e-9


def main() -> None:
    n = int(os.environ.get("GRADRD_BENCH_N", 10_000_000))
    env = dict(os.environ, GRADRD_BENCH_N=str(n))
    subprocess.run(["cargo", "bench", "--bench", "stats", "--", "--noplot"],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    a, b = heavy_tailed(1, n), heavy_tailed(2, n)
    half = n // 2

    def w2_numpy():
        return np.sqrt(np.mean((np.sort(a) - np.sort(b)) ** 2))

    reference = {
        "spearman": ("scipy.stats.spearmanr(a, b)", lambda: st.spearmanr(a, b)),
        "ks_two_sample_half": ("scipy.stats.ks_2samp(a[:n/2], b[:n/2])",
                               lambda: st.ks_2samp(a[:half], b[:half])),
        "wasserstein_samples": ("numpy sort-based W2", w2_numpy),
    }
    print(f"n = {n}, scipy {scipy.__version__}, numpy {np.__version__}")
    print(f"{'statistic':22} {'gradrd (s)':>11} {'reference (s)':>14} {'ratio':>7}  reference")
    for name, (call, fn) in reference.items():
        ours = criterion_mean_seconds(name)
        theirs = best_of(fn)
        print(f"{name:22} {ours:11.4f} {theirs:14.4f} {theirs / ours:7.2f}x  {call}")


if __name__ == "__main__":
    main()
