#!/usr/bin/env python3
"""Independent numpy reference of `gradrd ef` (src/compress/): replays the
gradient sequence of a dump directory of safetensors files through a
compressor with error feedback and prints the run totals.

    pip install numpy safetensors
    python3 scripts/ref_ef.py [DUMP_DIR]          # every configuration of tests/ef_reference.rs

Semantics (written from the issue, not from the Rust code):
  p_t = g_t + e_t;  D_t = C(p_t);  e_{t+1} = gamma * (p_t - D_t)   (none: 0, full: 1)
  error_t = ||p_t - D_t||^2
  top-k: k = ceil(f n), the k largest |p| (stable sort, ties to the lower index)
  rand-k: partial Fisher-Yates with SplitMix64, j = i + (u64 * (n - i)) >> 64;
          unit stream state = seed ^ (unit * 0x9E3779B97F4A7C15) mod 2^64
  threshold: |p| >= lambda
  cwmp: stable sort by |p|/c descending, longest prefix with cumulative cost <= f * sum(c)
  codebook: centers[searchsorted(thresholds, p/scale, 'left')] * scale
  bits: 32 per float value or ceil(log2 L) per codebook index, plus positions:
        0 if dense or empty, else index: min(k * ceil(log2 n), n), entropy: log2 C(n, k)
  units: each tensor (name order), or all tensors concatenated in name order (global)
"""
import json
import math
import os
import sys

import numpy as np
from safetensors.numpy import load_file

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + GOLDEN) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, m):
        return (self.next_u64() * m) >> 64


def load_steps(dump):
    files = sorted(f for f in os.listdir(dump) if f.endswith(".safetensors"))
    steps = []
    for f in files:
        tensors = load_file(os.path.join(dump, f))
        steps.append({k: v.astype(np.float64).ravel() for k, v in tensors.items()})
    return steps


def log2_comb(n, k):
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(2)


def position_bits(n, k, positions):
    if k == 0 or k >= n:
        return 0.0
    if positions == "index":
        return float(min(k * (n - 1).bit_length(), n))
    return log2_comb(n, k)


def compress(p, cfg, rng, costs):
    n = p.size
    kind = cfg["compressor"]
    out = np.zeros(n)
    if kind in ("topk", "topk+codebook"):
        k = math.ceil(cfg["k"] * n)
        keep = np.argsort(-np.abs(p), kind="stable")[:k]
        out[keep] = p[keep] if kind == "topk" else quantize(p[keep], cfg["codebook"])
        vbits = k * (32.0 if kind == "topk" else index_bits(cfg["codebook"]))
        return out, k, vbits
    if kind == "topk+float":
        k = math.ceil(cfg["k"] * n)
        keep = np.argsort(-np.abs(p), kind="stable")[:k]
        values = p[keep]
        peak = float(np.max(np.abs(values))) if k else 0.0
        if peak > 0.0:
            fmt = FORMATS[cfg["format"]]
            scale = peak / fmt[2]
            values = round_minifloat(values / scale, *fmt) * scale
        out[keep] = values
        return out, k, k * FORMATS[cfg["format"]][3] + (32.0 if k else 0.0)
    if kind == "randk":
        k = math.ceil(cfg["k"] * n)
        order = list(range(n))
        for i in range(k):
            j = i + rng.below(n - i)
            order[i], order[j] = order[j], order[i]
        keep = np.array(order[:k], dtype=np.int64)
        factor = n / k if cfg.get("unbiased") else 1.0
        out[keep] = p[keep] * factor
        return out, k, 32.0 * k
    if kind == "threshold":
        keep = np.abs(p) >= cfg["lambda"]
        out[keep] = p[keep]
        k = int(keep.sum())
        return out, k, 32.0 * k
    if kind == "cwmp":
        budget = cfg["k"] * sum_in_order(costs)
        order = np.argsort(-(np.abs(p) / costs), kind="stable")
        spent = 0.0
        k = 0
        for i in order:
            if spent + costs[i] > budget:
                break
            spent += costs[i]
            out[i] = p[i]
            k += 1
        return out, k, 32.0 * k
    if kind == "codebook":
        out = quantize(p, cfg["codebook"])
        return out, n, n * index_bits(cfg["codebook"])
    raise ValueError(kind)


# name: (mantissa bits, bias, max finite, bits per value)
FORMATS = {"fp8_e4m3": (3, 7, 448.0, 8.0), "fp8_e5m2": (2, 15, 57344.0, 8.0), "fp4_e2m1": (1, 1, 6.0, 4.0)}
ML_DTYPES = {"fp8_e4m3": "float8_e4m3fn", "fp8_e5m2": "float8_e5m2", "fp4_e2m1": "float4_e2m1fn"}


def round_minifloat(v, mantissa, bias, max_finite, _bits=None):
    """Round to nearest, ties to even, in a format with `mantissa` bits and
    exponent bias `bias` (subnormals included), capped at max_finite."""
    mag = np.abs(v)
    _, e = np.frexp(mag)                     # mag = m 2^e, m in [0.5, 1)
    exponent = np.maximum(e - 1, 1 - bias)
    quantum = np.ldexp(1.0, exponent - mantissa)
    out = np.minimum(np.round(mag / quantum) * quantum, max_finite)
    out[mag == 0] = 0.0
    return np.copysign(out, v)


def check_against_ml_dtypes():
    """The formula above against ml_dtypes' casts on a grid (no overflow)."""
    try:
        import ml_dtypes
    except ImportError:
        return "ml_dtypes not installed"
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(100000) * np.exp(rng.uniform(-12, 4, 100000))).astype(np.float32)
    report = []
    for name, fmt in FORMATS.items():
        x_in = x[np.abs(x) <= fmt[2]].astype(np.float64)
        ours = round_minifloat(x_in, *fmt)
        theirs = x_in.astype(np.float32).astype(getattr(ml_dtypes, ML_DTYPES[name])).astype(np.float64)
        report.append(f"{name}: {int(np.sum(ours != theirs))} of {x_in.size} differ")
    return ", ".join(report)


def sum_in_order(values):
    total = 0.0
    for v in values:
        total += float(v)
    return total


def quantize(x, cb):
    t = np.asarray(cb["thresholds"])
    c = np.asarray(cb["centers"])
    return c[np.searchsorted(t, x / cb["scale"], side="left")] * cb["scale"]


def index_bits(cb):
    return float((len(cb["centers"]) - 1).bit_length())


def replay(steps, cfg):
    names = sorted(steps[0])
    gamma = {"none": 0.0, "full": 1.0}.get(cfg["feedback"], cfg.get("gamma"))
    positions = cfg.get("positions", "index")
    costs_by_name = cfg.get("costs", {})
    if cfg.get("global"):
        units = [names]
    else:
        units = [[name] for name in names]
    state = []
    for u, members in enumerate(units):
        n = sum(steps[0][m].size for m in members)
        costs = None
        if cfg["compressor"] == "cwmp":
            costs = np.concatenate([np.full(steps[0][m].size, costs_by_name[m]) for m in members])
        state.append(dict(members=members, e=np.zeros(n), rng=SplitMix64(cfg.get("seed", 0) ^ ((u * GOLDEN) & MASK)), costs=costs))
    total = dict(sent=0, bits=0.0, error=0.0, residual_sq=0.0)
    for step in steps:
        for s in state:
            g = np.concatenate([step[m] for m in s["members"]])
            p = g + s["e"]
            d, k, vbits = compress(p, cfg, s["rng"], s["costs"])
            lost = p - d
            total["error"] += float(np.sum(lost * lost))
            total["sent"] += k
            total["bits"] += vbits + position_bits(p.size, k, positions)
            s["e"] = gamma * lost
    total["residual_sq"] = sum(float(np.sum(s["e"] ** 2)) for s in state)
    return total


def configurations():
    cb = json.load(open(os.path.join(ROOT, "tests/fixtures/ef_codebook.json")))
    costs = json.load(open(os.path.join(ROOT, "tests/fixtures/ef_costs.json")))
    return {
        "topk_full": dict(compressor="topk", k=0.01, feedback="full"),
        "topk_none": dict(compressor="topk", k=0.01, feedback="none"),
        "topk_decay_entropy": dict(compressor="topk", k=0.05, feedback="decay", gamma=0.9, positions="entropy"),
        "topk_global_full": dict(compressor="topk", k=0.01, feedback="full", **{"global": True}),
        "randk_unbiased_full": dict(compressor="randk", k=0.05, unbiased=True, feedback="full", seed=7),
        "randk_none": dict(compressor="randk", k=0.1, unbiased=False, feedback="none", seed=3),
        "threshold_full": dict(compressor="threshold", **{"lambda": 0.02}, feedback="full"),
        "cwmp_full": dict(compressor="cwmp", k=0.1, costs=costs, feedback="full"),
        "cwmp_global_none": dict(compressor="cwmp", k=0.05, costs=costs, feedback="none", **{"global": True}),
        "codebook_full": dict(compressor="codebook", codebook=cb, feedback="full"),
        "topk_codebook_decay": dict(compressor="topk+codebook", k=0.05, codebook=cb, feedback="decay", gamma=0.5),
        "topk_fp8_e4m3_full": dict(compressor="topk+float", k=0.05, format="fp8_e4m3", feedback="full"),
        "topk_fp4_e2m1_full": dict(compressor="topk+float", k=0.05, format="fp4_e2m1", feedback="full"),
    }


def threshold_for_budget(steps, feedback, budget, gamma=None, unit="sent"):
    """Bisection on a constant lambda: the smallest lambda found whose replay
    sends at most `budget` entries (unit "sent") or bits (unit "bits"), as
    `gradrd budget`."""
    cfg = dict(compressor="threshold", feedback=feedback, gamma=gamma)
    spend = lambda lam: replay(steps, dict(cfg, **{"lambda": lam}))
    if spend(0.0)[unit] <= budget:
        return 0.0, spend(0.0)
    bound = sum(max(float(np.max(np.abs(v))) for v in step.values()) for step in steps)
    low, high = 0.0, 2.0 * bound + 2.2250738585072014e-308
    best = (high, spend(high))
    for _ in range(200):
        mid = 0.5 * (low + high)
        if mid <= low or mid >= high:
            break
        t = spend(mid)
        if t[unit] > budget:
            low = mid
        else:
            high = mid
            best = (mid, t)
            if t[unit] == budget:
                break
    return best


def replay_absent(steps, k, present, policy, arg=None):
    """Top-k per tensor with full feedback; absent rounds are skipped; on
    return the residual is kept, reset (after any absence), decayed by
    arg**missed, or reset when round - version > arg. Discarded memory
    counts as error."""
    names = sorted(steps[0])
    e = {m: np.zeros(steps[0][m].size) for m in names}
    version = None
    comp = disc = 0.0
    for t, step in enumerate(steps):
        if not present[t]:
            continue
        if version is not None:
            missed = t - version - 1
            f = {"keep": 1.0, "reset": 0.0 if missed > 0 else 1.0,
                 "decay": (arg ** missed) if policy == "decay" else None,
                 "reset-if-older": 0.0 if (t - version) > (arg or 0) else 1.0}[policy]
            if f != 1.0:
                before = sum(float(np.sum(v * v)) for v in e.values())
                disc += (1.0 - f) ** 2 * before
                e = {m: f * v for m, v in e.items()}
        for m in names:
            p = step[m] + e[m]
            d, _, _ = compress(p, dict(compressor="topk", k=k), None, None)
            lost = p - d
            comp += float(np.sum(lost * lost))
            e[m] = lost
        version = t
    return comp, disc


def main():
    dump = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "data/digits-mlp")
    steps = load_steps(dump)
    for name, cfg in configurations().items():
        t = replay(steps, cfg)
        print(f"{name}: sent={t['sent']} bits={t['bits']!r} total_error={t['error']!r} residual_sq={t['residual_sq']!r}")
    print("minifloat rounding vs ml_dtypes:", check_against_ml_dtypes())
    present = [t not in (3, 4, 5, 10) for t in range(len(steps))]
    for policy, arg in [("keep", None), ("reset", None), ("decay", 0.5), ("reset-if-older", 2)]:
        comp, disc = replay_absent(steps, 0.01, present, policy, arg)
        print(f"stale_{policy}: compression_error={comp!r} discarded_error={disc!r}")
    top = replay(steps, dict(compressor="topk", k=0.01, feedback="full"))
    lam, t = threshold_for_budget(steps, "full", top["sent"])
    print(f"budget_k0.01_full: budget={top['sent']} topk_error={top['error']!r} lambda={lam!r} "
          f"threshold_sent={t['sent']} threshold_error={t['error']!r}")
    lam, t = threshold_for_budget(steps, "full", top["bits"], unit="bits")
    print(f"budget_bits_k0.01_full: budget_bits={top['bits']!r} lambda={lam!r} "
          f"threshold_bits={t['bits']!r} threshold_error={t['error']!r}")


if __name__ == "__main__":
    main()
