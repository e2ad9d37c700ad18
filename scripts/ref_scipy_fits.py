"""scipy maximum-likelihood fits on the shipped digits dumps -> tests/fixtures/scipy_fits.json.

The fit engineer's tests use these as a quality floor: gradrd's fit of a family on the
same values must reach at least scipy's log-likelihood (up to a tolerance).

Cases: for every dump under data/ (digits-mlp, digits-cnn), the first, middle
(``steps[len(steps) // 2]``) and last recorded step, and every tensor with at least 50
non-zero values. For each case:

* the non-zero values x (float32 read, float64 computed) are standardized by
  s = std(x) (numpy's population std, ddof=0), the family is fitted on x / s with
  scipy's defaults, and loc and scale are multiplied by s (scipy's best case: its
  Nelder-Mead starts near scale 1);
* ``loglik = sum(dist.logpdf(x, *params))`` on the unstandardized non-zeros;
* ``gennorm_with_zeros``: the same gennorm fit on ALL values including the exact zeros
  (standardized by their own std) and its log-likelihood on all values; this shows the
  degenerate collapse onto the point mass at 0.

``n`` is the non-zero count and ``zeros`` the zero count of the tensor in every entry;
``n_fitted`` is how many values that entry's fit used. ``seconds`` is the wall time of the
``fit`` call alone. Run from anywhere:

    python3 scripts/ref_scipy_fits.py

``--real`` writes ``tests/fixtures/real/scipy_fits_real.json`` instead, with the same fit
procedure and entry format on the recorded real-model fixtures (``REAL_FILES``:
gpt-tiny at step 300 as bf16, fp16 and f32, resnet-tiny at step 300 as bf16; see
``scripts/record_real_models.py``): every tensor with at least 16 non-zero values, the four
families on the non-zeros only (no ``gennorm_with_zeros``). A family whose scipy fit raises
or returns non-finite parameters, and a tensor with too few non-zeros, is left out and listed
under ``skipped``. BF16 is decoded here (bits << 16 as float32), since numpy has no bfloat16.

    python3 scripts/ref_scipy_fits.py --real

``--files F ...`` and ``--output O`` fit other safetensors files the same way (for a larger
recorded model, e.g. ``record_real_models.py --model gpt --vocab 2048 --d-model 128
--data-out DIR``; the step recorded in each entry stays 300).

    python3 scripts/ref_scipy_fits.py --real --files DIR/step_000300.safetensors --output OUT.json
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import time
from pathlib import Path

import numpy as np
import scipy
from safetensors.numpy import load_file
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
DUMPS = ["data/digits-mlp", "data/digits-cnn"]
OUTPUT = ROOT / "tests" / "fixtures" / "scipy_fits.json"
MIN_NONZEROS = 50
REAL_FILES = [
    "tests/fixtures/real/gpt_bf16.safetensors",
    "tests/fixtures/real/gpt_fp16.safetensors",
    "tests/fixtures/real/gpt_f32.safetensors",
    "tests/fixtures/real/resnet_bf16.safetensors",
]
REAL_OUTPUT = ROOT / "tests" / "fixtures" / "real" / "scipy_fits_real.json"
REAL_MIN_NONZEROS = 16
REAL_STEP = 300

# family name -> (scipy distribution, names of the fitted parameters in scipy's order)
FAMILIES = {
    "gennorm": (stats.gennorm, ["beta", "loc", "scale"]),
    "dweibull": (stats.dweibull, ["c", "loc", "scale"]),
    "laplace": (stats.laplace, ["loc", "scale"]),
    "normal": (stats.norm, ["loc", "scale"]),
}
SCIPY_NAMES = {"gennorm": "gennorm", "dweibull": "dweibull", "laplace": "laplace", "normal": "norm"}


def step_of(path: Path) -> int:
    return int(path.stem.removeprefix("step_"))


def standardized_fit(family: str, values: np.ndarray):
    """Fit on values / std(values), rescale loc and scale; return (params, s, loglik, seconds)."""
    distribution, names = FAMILIES[family]
    s = float(np.std(values))
    started = time.perf_counter()
    fitted = distribution.fit(values / s)
    seconds = time.perf_counter() - started
    params = {name: float(value) for name, value in zip(names, fitted)}
    params["loc"] *= s
    params["scale"] *= s
    ordered = [params[name] for name in names]
    loglik = float(np.sum(distribution.logpdf(values, *ordered)))
    return params, s, loglik, seconds


def case(file: str, tensor: str, step: int, counts, family: str, values: np.ndarray, on_all: bool):
    params, s, loglik, seconds = standardized_fit(family.removesuffix("_with_zeros"), values)
    scipy_name = SCIPY_NAMES[family.removesuffix("_with_zeros")]
    entry = {
        "file": file,
        "tensor": tensor,
        "step": step,
        "n": counts["nonzero"],
        "zeros": counts["zeros"],
        "n_fitted": int(values.size),
        "family": family,
        "call": f"scipy.stats.{scipy_name}.fit(x / s); loc, scale *= s",
        "values": "all values including zeros, s = std(all)" if on_all else "non-zeros, s = std(x)",
        "standardized_by": s,
        "params": params,
        "loglik": loglik if math.isfinite(loglik) else None,
        "seconds": seconds,
    }
    if not math.isfinite(loglik):
        entry["loglik_note"] = f"scipy log-likelihood is {loglik}"
    return entry


def read_safetensors(path: Path) -> dict:
    """name -> float32/float64 array, decoding F16, BF16, F32 and F64 (numpy lacks bfloat16)."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    header.pop("__metadata__", None)
    base = 8 + length
    decoded = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        raw = data[base + begin : base + end]
        if info["dtype"] == "BF16":
            values = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            values = np.frombuffer(raw, dtype={"F16": "<f2", "F32": "<f4", "F64": "<f8"}[info["dtype"]])
        decoded[name] = values.reshape(info["shape"])
    return decoded


def real_main(files: list[str], output: Path) -> None:
    started = time.perf_counter()
    cases, skipped = [], []
    for relative in files:
        tensors = read_safetensors(ROOT / relative)
        for tensor in sorted(tensors):
            all_values = tensors[tensor].astype(np.float64).ravel()
            nonzeros = all_values[all_values != 0.0]
            counts = {"nonzero": int(nonzeros.size), "zeros": int(all_values.size - nonzeros.size)}
            if nonzeros.size < REAL_MIN_NONZEROS:
                skipped.append({"file": relative, "tensor": tensor, "family": None, **counts,
                                "reason": f"fewer than {REAL_MIN_NONZEROS} non-zero values"})
                continue
            for family in FAMILIES:
                try:
                    entry = case(relative, tensor, REAL_STEP, counts, family, nonzeros, False)
                except Exception as error:  # noqa: BLE001 (recorded, not fatal)
                    skipped.append({"file": relative, "tensor": tensor, "family": family, **counts,
                                    "reason": f"scipy raised {type(error).__name__}: {error}"})
                    continue
                if not all(math.isfinite(v) for v in entry["params"].values()):
                    skipped.append({"file": relative, "tensor": tensor, "family": family, **counts,
                                    "reason": f"non-finite parameters {entry['params']}"})
                    continue
                cases.append(entry)
    document = {
        "generated_by": "scripts/ref_scipy_fits.py --real",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "min_nonzeros": REAL_MIN_NONZEROS,
        "cases": cases,
        "skipped": skipped,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=1) + "\n")
    total = time.perf_counter() - started
    print(f"{len(cases)} cases, {len(skipped)} skipped -> {output} in {total:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="fit the real-model fixtures instead")
    parser.add_argument("--files", nargs="+", default=REAL_FILES,
                        help="--real: safetensors files to fit (paths relative to the repository or absolute)")
    parser.add_argument("--output", type=Path, default=REAL_OUTPUT, help="--real: where the JSON goes")
    args = parser.parse_args()
    if args.real:
        real_main(args.files, args.output)
        return
    started = time.perf_counter()
    cases = []
    for dump in DUMPS:
        files = sorted((ROOT / dump).glob("step_*.safetensors"), key=step_of)
        chosen = [files[0], files[len(files) // 2], files[-1]]
        for path in chosen:
            relative = f"{dump}/{path.name}"
            tensors = load_file(str(path))
            for tensor in sorted(tensors):
                all_values = tensors[tensor].astype(np.float64).ravel()
                nonzeros = all_values[all_values != 0.0]
                if nonzeros.size < MIN_NONZEROS:
                    continue
                counts = {"nonzero": int(nonzeros.size), "zeros": int(all_values.size - nonzeros.size)}
                for family in FAMILIES:
                    cases.append(case(relative, tensor, step_of(path), counts, family, nonzeros, False))
                cases.append(
                    case(relative, tensor, step_of(path), counts, "gennorm_with_zeros", all_values, True)
                )
    document = {
        "generated_by": "scripts/ref_scipy_fits.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "cases": cases,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(document, indent=1) + "\n")
    total = time.perf_counter() - started
    print(f"{len(cases)} cases -> {OUTPUT.relative_to(ROOT)} in {total:.1f} s")


if __name__ == "__main__":
    main()
