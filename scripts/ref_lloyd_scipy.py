"""Reference M-weighted Lloyd-Max designs with scipy quadrature -> values for
src/quant/lloyd/tests.rs, and the speed baseline for a 256-level design.

The design minimizes d_M = E[|X|^M (X - Q(X))^2]. Plain Lloyd iteration from
quantile thresholds t_j = F^{-1}(j/L): each cell's moments

    W_k = scipy.integrate.quad(lambda x: abs(x)**M * x**k * src.pdf(x), a, b,
                               epsabs=0, epsrel=1e-12, limit=200)     k = 0, 1, 2

give the centers c_i = W_1/W_0, the thresholds move to the midpoints, until the
largest center move is <= 1e-13 * max|c| (or MAX_ITERATIONS). Reported:
thresholds, centers, distortion sum_i (W_2 - 2 c W_1 + c^2 W_0), the MSE (the
same with M = 0) and the index entropy -sum p log2 p, p_i = src.cdf(b) - src.cdf(a).

Cases: gennorm(beta=0.8, loc=0, scale=1) with M in {0, 1, 2} at L = 4, 8, and
gennorm(beta=0.8, loc=0.3, scale=1) with M = 2 at L = 4 (the quadrature path of
the Rust design). Then the wall time of plain Lloyd at L = 256, M = 2 on
gennorm(0.8): per iteration, and for the whole design with --full (hours: plain
Lloyd needs on the order of L^2 iterations).

    python3 scripts/ref_lloyd_scipy.py [--full] [--iterations-256 N]
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import scipy
from scipy import integrate, stats

MAX_ITERATIONS = 200_000
TOLERANCE = 1e-13


def cell_moments(src, m: float, a: float, b: float) -> tuple[float, float, float]:
    loc = float(src.mean())
    kinks = [p for p in (0.0, loc) if a < p < b]
    out = []
    for k in range(3):
        f = lambda x, k=k: abs(x) ** m * x**k * src.pdf(x)
        pieces = [a, *sorted(set(kinks)), b]
        total = 0.0
        for lo, hi in zip(pieces[:-1], pieces[1:]):
            total += integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
        out.append(total)
    return tuple(out)


def lloyd(src, m: float, levels: int, max_iterations: int = MAX_ITERATIONS):
    thresholds = [float(src.ppf(j / levels)) for j in range(1, levels)]
    centers = None
    for iteration in range(1, max_iterations + 1):
        bounds = [-math.inf, *thresholds, math.inf]
        moments = [cell_moments(src, m, bounds[i], bounds[i + 1]) for i in range(levels)]
        new_centers = [w1 / w0 for (w0, w1, _) in moments]
        thresholds = [0.5 * (new_centers[i] + new_centers[i + 1]) for i in range(levels - 1)]
        if centers is not None:
            moved = max(abs(a - b) for a, b in zip(centers, new_centers))
            if moved <= TOLERANCE * max(abs(c) for c in new_centers):
                centers = new_centers
                return thresholds, centers, iteration, True
        centers = new_centers
    return thresholds, centers, max_iterations, False


def measure(src, m: float, thresholds, centers):
    bounds = [-math.inf, *thresholds, math.inf]
    distortion = mse = entropy = 0.0
    for i, c in enumerate(centers):
        a, b = bounds[i], bounds[i + 1]
        w0, w1, w2 = cell_moments(src, m, a, b)
        p0, p1, p2 = cell_moments(src, 0.0, a, b)
        distortion += w2 - 2 * c * w1 + c * c * w0
        mse += p2 - 2 * c * p1 + c * c * p0
        p = float(src.cdf(b) - src.cdf(a))
        entropy -= p * math.log2(p)
    return distortion, mse, entropy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="run the 256-level design to convergence")
    parser.add_argument("--iterations-256", type=int, default=10)
    args = parser.parse_args()
    print(f"# scipy {scipy.__version__}, numpy {np.__version__}")
    cases = [(0.0, m, levels) for m in (0.0, 1.0, 2.0) for levels in (4, 8)] + [(0.3, 2.0, 4)]
    for loc, m, levels in cases:
        src = stats.gennorm(0.8, loc=loc, scale=1.0)
        start = time.perf_counter()
        thresholds, centers, iterations, converged = lloyd(src, m, levels)
        seconds = time.perf_counter() - start
        distortion, mse, entropy = measure(src, m, thresholds, centers)
        print(json.dumps({
            "source": f"gennorm(0.8, loc={loc}, scale=1)", "m": m, "levels": levels,
            "thresholds": thresholds,
            "centers": centers,
            "distortion": distortion, "mse": mse, "entropy_bits": entropy,
            "iterations": iterations, "converged": converged, "seconds": round(seconds, 3),
        }))
    src = stats.gennorm(0.8)
    n = MAX_ITERATIONS if args.full else args.iterations_256
    start = time.perf_counter()
    _, _, iterations, converged = lloyd(src, 2.0, 256, max_iterations=n)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "baseline": "plain Lloyd, scipy.integrate.quad moments, gennorm(0.8), M = 2, L = 256",
        "iterations": iterations, "converged": converged, "seconds": round(seconds, 3),
        "seconds_per_iteration": round(seconds / iterations, 4),
    }))


if __name__ == "__main__":
    main()
