#!/usr/bin/env python3
"""gradrd.fit from Python against the command line and scipy, on the same
10^6 float32 values (a seeded gennorm sample, beta 0.7), side by side:

- ``gradrd.fit(x)`` in process (four families, exact KS/W1/W2), best of
  ``--runs``;
- ``gradrd fit x.npy --format json`` (the whole process: start, read, fit);
- scipy: ``gennorm.fit`` alone on the standardized values (its best case),
  once.

and the binding's overhead: every step of a call but the fitting — the
array handed over (``as_buffer``), the options and the result through JSON,
the worker thread — measured as a closed-form normal fit without goodness of
fit on 3 values (best of 200 calls), plus ``as_buffer`` on the 10^6 input,
as a fraction of ``gradrd.fit(x)``. The widening of the values to f64 is not
overhead: the command line does the same when it reads the file.

    python3 scripts/bench_python.py --gradrd target/release/gradrd
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.stats as st

import gradrd
from gradrd._arrays import as_buffer


def best(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gradrd", default="target/release/gradrd")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    x = st.gennorm.rvs(0.7, scale=1e-3, size=args.n, random_state=np.random.default_rng(0)).astype(np.float32)
    print(f"n = {args.n}, gradrd {gradrd.__version__}, scipy {scipy.__version__}, numpy {np.__version__}")

    python_seconds = best(args.runs, lambda: gradrd.fit(x))
    ours = gradrd.fit(x)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.npy"
        np.save(path, x)
        command = [args.gradrd, "fit", str(path), "--format", "json"]
        cli_seconds = best(args.runs, lambda: subprocess.run(command, check=True, capture_output=True))
        from_cli = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)["results"][0]
    same = {k: v for k, v in ours.items() if k != "file"} == {k: v for k, v in from_cli.items() if k != "file"}

    x64 = x.astype(np.float64)
    s = float(np.std(x64))
    start = time.perf_counter()
    st.gennorm.fit(x64 / s)
    scipy_seconds = time.perf_counter() - start

    tiny = np.array([-1.0, 0.5, 2.0])
    call_seconds = best(200, lambda: gradrd.fit(tiny, families=["normal"], gof=False, zeros="keep"))
    hand_over = best(20, lambda: as_buffer(x))
    overhead = call_seconds + hand_over

    print(f"{'what':58} {'seconds':>9} {'ratio':>8}")
    print(f"{'gradrd.fit(x): four families, exact KS/W1/W2':58} {python_seconds:9.3f} {1.0:8.2f}")
    print(f"{'gradrd fit x.npy (whole process, same fits)':58} {cli_seconds:9.3f} {cli_seconds / python_seconds:8.2f}")
    print(f"{'scipy gennorm.fit alone':58} {scipy_seconds:9.3f} {scipy_seconds / python_seconds:8.2f}")
    print(f"same fields and numbers as the CLI: {same}")
    print(
        f"binding overhead: call {call_seconds * 1e6:.0f} us + hand-over {hand_over * 1e6:.0f} us"
        f" = {100 * overhead / python_seconds:.3f} % of gradrd.fit(x)"
    )


if __name__ == "__main__":
    main()
