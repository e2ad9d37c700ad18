#!/usr/bin/env python3
"""Optimal step and MSE of the symmetric mid-rise uniform quantizer of a unit
Gaussian (exact cell integrals), the reference of
quant::baseline::tests::optimal_uniform_step_on_a_gaussian (Max 1960, Table II:
0.9957/0.1188, 0.5860/0.03744, 0.3352/0.01154)."""
import numpy as np
from scipy import stats, optimize, integrate
def mse(step, L):
    # symmetric mid-rise, unit normal: exact integrals per cell
    t = (np.arange(1, L) - L/2) * step
    edges = np.concatenate([[-np.inf], t, [np.inf]])
    c = (np.arange(L) - L/2 + 0.5) * step
    total = 0.0
    for a, b, y in zip(edges[:-1], edges[1:], c):
        # E[(X-y)^2; a<X<=b] = ∫ (x^2 - 2xy + y^2) φ
        P = stats.norm.cdf(b) - stats.norm.cdf(a)
        m1 = stats.norm.pdf(a) - stats.norm.pdf(b)
        fa = a*stats.norm.pdf(a) if np.isfinite(a) else 0.0
        fb = b*stats.norm.pdf(b) if np.isfinite(b) else 0.0
        m2 = P + fa - fb
        total += m2 - 2*y*m1 + y*y*P
    return total
for L in (4, 8, 16):
    r = optimize.minimize_scalar(lambda s: mse(s, L), bounds=(0.05, 2.0), method='bounded', options={'xatol':1e-10})
    print(L, repr(r.x), repr(r.fun))
