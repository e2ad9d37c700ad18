"""Time scipy's generic MLE fits on synthetic samples (the baseline gradrd is compared with).

Draws seeded samples of gennorm(beta=0.7) and dweibull(c=0.8) (loc 0, scale 1), casts them
to float32 as a gradient dump would hold them, and times ``scipy.stats.gennorm.fit`` and
``scipy.stats.dweibull.fit`` (scipy defaults: Nelder-Mead from scipy's start values) on
10^5 and 10^6 values. Prints one line per fit: family, n, seconds, fitted parameters.

    python3 scripts/scipy_reference_timings.py
"""

from __future__ import annotations

import platform
import time

import numpy as np
import scipy
from scipy import stats

SEED = 20260101
SIZES = [100_000, 1_000_000]
CASES = [("gennorm", stats.gennorm, 0.7), ("dweibull", stats.dweibull, 0.8)]


def main() -> None:
    print(f"scipy {scipy.__version__}, numpy {np.__version__}, python {platform.python_version()}")
    for name, distribution, shape in CASES:
        for size in SIZES:
            rng = np.random.default_rng(SEED)
            samples = distribution.rvs(shape, size=size, random_state=rng).astype(np.float32)
            started = time.perf_counter()
            fitted = distribution.fit(samples)
            seconds = time.perf_counter() - started
            params = ", ".join(f"{value:.5g}" for value in fitted)
            print(f"{name:8s} shape={shape} n={size:>9d}  {seconds:8.2f} s  fit=({params})")


if __name__ == "__main__":
    main()
