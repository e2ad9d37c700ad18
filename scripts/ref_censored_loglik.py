"""Interval-censored log-likelihoods of 16-bit fixture tensors -> tests/fixtures/censored_loglik.json.

The reference for ``gradrd::fit::loglik_censored``: for the non-zero values x of a few
bfloat16 and float16 tensors of ``tests/fixtures/real/`` and each family with scipy's fitted
parameters (from ``tests/fixtures/real/scipy_fits_real.json``),

    sum(log(F(u) - F(l)))

where [l, u] is the round-to-nearest cell of each value in its storage format (midpoints
with the neighbouring representable values, found here from the bit patterns with numpy),
F is scipy's cdf, and the difference is taken of survival functions when l >= loc (no
cancellation against 1). Run from anywhere:

    python3 scripts/ref_censored_loglik.py
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent

CASES = [
    ("tests/fixtures/real/gpt_bf16.safetensors", "bf16", ["head.weight", "blocks.0.mlp.fc.weight", "blocks.0.attn.proj.bias"]),
    ("tests/fixtures/real/gpt_fp16.safetensors", "f16", ["head.weight", "blocks.0.mlp.fc.weight", "blocks.0.attn.proj.bias"]),
]
DISTS = {"gennorm": (stats.gennorm, "beta"), "dweibull": (stats.dweibull, "c"), "laplace": (stats.laplace, None),
         "normal": (stats.norm, None)}
OUTPUT = ROOT / "tests" / "fixtures" / "censored_loglik.json"


def read_16bit(path: Path, fmt: str) -> dict:
    """name -> the values of every tensor of a bfloat16 or float16 safetensors file, as float64."""
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    header.pop("__metadata__", None)
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == {"bf16": "BF16", "f16": "F16"}[fmt], (name, info["dtype"])
        begin, end = info["data_offsets"]
        tensors[name] = decode(np.frombuffer(raw[8 + length + begin : 8 + length + end], dtype="<u2"), fmt)
    return tensors


def decode(bits: np.ndarray, fmt: str) -> np.ndarray:
    bits = bits.astype(np.uint16)
    if fmt == "bf16":
        return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return bits.view(np.float16).astype(np.float64)


def encode(values: np.ndarray, fmt: str) -> np.ndarray:
    """Bit patterns of |values| (exact: the values are of the format)."""
    a = np.abs(values)
    if fmt == "bf16":
        bits = (a.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    else:
        bits = a.astype(np.float16).view(np.uint16)
    assert np.array_equal(decode(bits, fmt), a)
    return bits


def cells(values: np.ndarray, fmt: str):
    bits = encode(values, fmt).astype(np.int64)
    a = np.abs(values)
    up = decode(np.minimum(bits + 1, 0xFFFF), fmt)
    down = np.where(bits == 0, -decode(np.ones_like(bits), fmt), decode(np.maximum(bits - 1, 0), fmt))
    up = np.where(np.isfinite(up), up, 2 * a - down)
    lo, hi = (down + a) / 2, (a + up) / 2
    neg = values < 0
    return np.where(neg, -hi, lo), np.where(neg, -lo, hi)


def main() -> None:
    fits = json.loads((ROOT / "tests/fixtures/real/scipy_fits_real.json").read_text())["cases"]
    out = []
    for file, fmt, tensors in CASES:
        data = read_16bit(ROOT / file, fmt)
        for tensor in tensors:
            x = data[tensor]
            x = x[x != 0]
            lo, hi = cells(x, fmt)
            for family, (dist, shape) in DISTS.items():
                params = next(c["params"] for c in fits if c["file"] == file and c["tensor"] == tensor
                              and c["family"] == family)
                args = ([params[shape]] if shape else []) + [params["loc"], params["scale"]]
                above = lo >= params["loc"]
                p = np.where(above, dist.sf(lo, *args) - dist.sf(hi, *args),
                             dist.cdf(hi, *args) - dist.cdf(lo, *args))
                fallback = dist.logpdf(x, *args) + np.log(hi - lo)
                terms = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), fallback)
                out.append({"file": file, "tensor": tensor, "format": fmt, "family": family, "params": params,
                            "n": int(x.size), "distinct": int(np.unique(x).size),
                            "loglik_censored": float(np.sum(terms)),
                            "loglik_density": float(np.sum(dist.logpdf(x, *args))),
                            "fallback_terms": int(np.sum(p <= 0))})
    OUTPUT.write_text(json.dumps({"generated_by": "scripts/ref_censored_loglik.py", "scipy": scipy.__version__,
                                  "numpy": np.__version__, "cases": out}, indent=1) + "\n")
    print(f"{len(out)} cases -> {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
