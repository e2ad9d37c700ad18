#!/usr/bin/env python3
"""Independent reference values for src/quant/rd (Blahut–Arimoto).

Plain numpy, full matrices, log space, run until Blahut's bracket
max_j ln c_j - sum_j r_j ln c_j is below 1e-12 nats.

The 5-cell problem of `small_discrete_problem_matches_numpy` in
src/quant/rd/tests.rs (cells with weights a_i, centroids mu_i, within-cell
V_i; d_ij = a_i (y_j - mu_i)^2 + V_i). The continuous sources are checked
against closed forms (Gaussian R(D), Shannon lower bound) in the tests.

Usage: python3 scripts/ref_blahut_arimoto.py
"""
import numpy as np
from scipy.special import logsumexp


def blahut_arimoto(p, d, s, tol=1e-12, max_iter=200000):
    """Returns (D, R_bits, iterations) at slope s for source p, distortion matrix d."""
    ny = d.shape[1]
    ln_q = np.full(ny, -np.log(ny))
    ln_p = np.log(p)
    for it in range(1, max_iter + 1):
        t = ln_q[None, :] - s * d  # ln q_j - s d_ij
        ln_s = logsumexp(t, axis=1)  # ln S_i
        post = np.exp(t - ln_s[:, None])  # Q(j|i)
        r = p @ post  # output marginal
        ln_r = np.log(np.maximum(r, 1e-300))
        ln_c = ln_r - ln_q
        bracket = ln_c.max() - np.sum(r * ln_c)
        dist = np.sum(p[:, None] * post * d)
        rate = -s * dist - np.sum(p * ln_s) - np.sum(r * ln_c)
        ln_q = ln_r - logsumexp(ln_r)
        if bracket < tol:
            break
    return dist, rate / np.log(2), it


def small():
    p = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    a = np.array([1.5, 1.0, 0.5, 1.0, 1.5])
    mu = np.array([-2.0, -0.8, 0.1, 0.9, 2.2])
    v = np.array([0.05, 0.01, 0.0, 0.02, 0.04])
    y = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    d = a[:, None] * (y[None, :] - mu[:, None]) ** 2 + v[:, None]
    print("# small problem")
    for s in [0.5, 2.0, 8.0]:
        dist, rate, it = blahut_arimoto(p, d, s)
        print(f"small s={s}: D={dist:.15e} R_bits={rate:.15e} (iterations {it})")


if __name__ == "__main__":
    small()
