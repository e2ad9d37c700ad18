#!/usr/bin/env python3
"""Regenerates tests/fixtures/fit_synthetic.json: seeded float32 samples and
scipy's maximum-likelihood fits of them, the references of tests/fit_vs_scipy.rs.

For every sample:
  * "scipy_free": scipy.stats.<family>.fit(x / s) with s = std(x), mapped back
    (loc * s, scale * s) -- scipy's best case; "loglik" is
    sum(<family>.logpdf(x, *params)) over the float64 values.
  * "tight_fixed": scipy.stats.<family>.fit(x / s, floc=0) with the optimizer
    scipy.optimize.fmin(xtol=1e-13, ftol=1e-15, maxiter=20000, maxfun=40000),
    mapped back: the fixed-location MLE to ~1e-10.

Run: python3 scripts/fit_reference.py  (numpy 2.x, scipy >= 1.11)
"""
import json
import pathlib

import numpy as np
import scipy
from scipy import optimize, stats

FAMILIES = {"gennorm": stats.gennorm, "dweibull": stats.dweibull,
            "laplace": stats.laplace, "normal": stats.norm}


def tight(func, x0, args=(), disp=0):
    return optimize.fmin(func, x0, args=args, xtol=1e-13, ftol=1e-15,
                         maxiter=20000, maxfun=40000, disp=0)


def params_dict(family, p):
    names = {"gennorm": ["beta", "loc", "scale"], "dweibull": ["c", "loc", "scale"],
             "laplace": ["loc", "scale"], "normal": ["loc", "scale"]}[family]
    return dict(zip(names, [float(v) for v in p]))


def scaled_back(p, s):
    p = list(p)
    p[-2] *= s
    p[-1] *= s
    return p


def case(name, family, x32):
    x = x32.astype(np.float64)
    dist = FAMILIES[family]
    s = float(np.std(x))
    free = scaled_back(dist.fit(x / s), s)
    out = {
        "name": name, "family": family, "n": int(x.size),
        "values": [float(v) for v in x32],
        "scipy_free": {
            "call": f"stats.{dist.name}.fit(x / s), s = np.std(x); loc, scale *= s",
            "params": params_dict(family, free),
            "loglik": float(np.sum(dist.logpdf(x, *free))),
        },
    }
    fixed = scaled_back(dist.fit(x / s, floc=0, optimizer=tight), s)
    out["tight_fixed"] = {
        "call": f"stats.{dist.name}.fit(x / s, floc=0, optimizer=fmin(xtol=1e-13, ftol=1e-15)); scale *= s",
        "params": params_dict(family, fixed),
        "loglik": float(np.sum(dist.logpdf(x, *fixed))),
    }
    return out


def gennorm_sample(rng, beta, n, scale):
    g = rng.gamma(1.0 / beta, 1.0, n)
    sign = rng.choice([-1.0, 1.0], n)
    return (sign * g ** (1.0 / beta) * scale).astype(np.float32)


def main():
    rng = np.random.default_rng(20261123)
    cases = [
        case("gennorm_b0.7_grad_scale", "gennorm", gennorm_sample(rng, 0.7, 3000, 2e-5)),
        case("gennorm_b1.6", "gennorm", gennorm_sample(rng, 1.6, 2000, 0.5)),
        case("dweibull_c0.8_grad_scale", "dweibull",
             (stats.dweibull.rvs(0.8, scale=3e-4, size=3000, random_state=rng)).astype(np.float32)),
        case("dweibull_c1.5", "dweibull",
             (stats.dweibull.rvs(1.5, scale=2.0, size=2000, random_state=rng)).astype(np.float32)),
        case("laplace", "laplace",
             rng.laplace(0.0, 1e-3, 1001).astype(np.float32)),
        case("normal", "normal", rng.normal(0.0, 1e-2, 1000).astype(np.float32)),
    ]
    doc = {"generated_by": "scripts/fit_reference.py", "numpy": np.__version__,
           "scipy": scipy.__version__, "cases": cases}
    path = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/fit_synthetic.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    for c in cases:
        print(c["name"], c["scipy_free"]["params"], c["scipy_free"]["loglik"],
              c["tight_fixed"]["params"], c["tight_fixed"]["loglik"])


if __name__ == "__main__":
    main()
