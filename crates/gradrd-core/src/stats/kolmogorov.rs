//! The exact distribution of the two-sided one-sample Kolmogorov–Smirnov
//! statistic `D_n = sup |F_n − F|`: a port of scipy's `kstwo.sf(d, n)`
//! (`scipy/stats/_ksstats.py`, `_kolmogn`) with the algorithm selection of
//! Simard & L'Ecuyer, "Computing the two-sided Kolmogorov–Smirnov
//! distribution", J. Stat. Softw. 39(11), 2011:
//!
//! ```text
//! n·d ≤ 1/2                      P(D ≥ d) = 1
//! 1/2 < n·d ≤ 1                  P(D ≤ d) = n!/nⁿ (2nd − 1)ⁿ          (Ruben–Gambino)
//! n·d ≥ n − 1                    P(D ≥ d) = 2(1 − d)ⁿ                 (Ruben–Gambino)
//! d ≥ 1/2                        P(D ≥ d) = 2·P(D⁺ ≥ d)               (Smirnov, exact)
//! n ≤ 140:   n d² ≤ 0.754693     Durbin matrix (Marsaglia, Tsang & Wang 2003)
//!            n d² ≤ 4            Pomeranz recursion (1974)
//!            otherwise           2·P(D⁺ ≥ d)
//! n > 140:   sf, n d² ≥ 370      0;   sf, n d² ≥ 2.2: 2·P(D⁺ ≥ d)
//!            n d² ≥ 18           cdf = 1
//!            n ≤ 1e5, n d^1.5 ≤ 1.4   Durbin matrix
//!            otherwise           Pelz–Good asymptotic series (1976)
//! ```
//!
//! `P(D⁺ ≥ d)` is the one-sided Smirnov distribution (Birnbaum & Tingey
//! 1951), summed here in log space in f64 (scipy sums it in double-double);
//! like scipy, `n > 10⁶` uses `exp(−(6nd + 1)²/(18n))`.

use nalgebra::DMatrix;
use std::f64::consts::PI;

const SCALE_EXPONENT: i32 = 128;
/// 2^128 and 2^−128: rescaling steps that keep matrix powers in range.
const SCALE_UP: f64 = 3.402_823_669_209_385e38;
const SCALE_DOWN: f64 = 2.938_735_877_055_719e-39;
/// exp() of anything below this underflows (scipy's `_MIN_LOG`).
const MIN_LOG: f64 = -708.0;
/// cephes `MINLOG` = ln(2^−1022).
const CEPHES_MIN_LOG: f64 = -7.083_964_185_322_641e2;
/// Above this n the Smirnov tail is approximated (scipy's `SMIRNOV_MAX_COMPUTE_N`).
const SMIRNOV_MAX_COMPUTE_N: u64 = 1_000_000;
const STIRLING_COEFFS: [f64; 8] = [
    -2.955_065_359_477_124e-2,
    6.410_256_410_256_41e-3,
    -1.917_526_917_526_917_5e-3,
    8.417_508_417_508_417e-4,
    -5.952_380_952_380_952e-4,
    7.936_507_936_507_937e-4,
    -2.777_777_777_777_778e-3,
    8.333_333_333_333_333e-2,
];

/// `P(D_n ≥ d)`, the p-value of the two-sided one-sample KS test
/// (`scipy.stats.kstwo.sf(d, n)`). `n = 0` or NaN `d` give NaN.
pub fn kolmogorov_sf(n: u64, d: f64) -> f64 {
    if n == 0 || d.is_nan() {
        return f64::NAN;
    }
    kolmogn_sf(n, d).clamp(0.0, 1.0)
}

/// scipy's `_kolmogn(n, x, cdf=False)`: where a branch computes the cdf,
/// the sf is `1 − cdf`, exactly as scipy does.
fn kolmogn_sf(n: u64, x: f64) -> f64 {
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            (1..=n).fold(1.0, |acc, i| {
                acc * (i as f64 * (1.0 / nf) * (2.0 * t - 1.0))
            })
        } else {
            (log_factorial_over_power(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return 1.0 - prob;
    }
    if t >= nf - 1.0 {
        return 2.0 * (1.0 - x).powf(nf);
    }
    if x >= 0.5 {
        return 2.0 * smirnov_sf(n, x);
    }
    let n_x_squared = t * x;
    if n <= 140 {
        if n_x_squared <= 0.754693 {
            return 1.0 - durbin_matrix_cdf(n, x);
        }
        if n_x_squared <= 4.0 {
            return 1.0 - pomeranz_cdf(n, x);
        }
        return 2.0 * smirnov_sf(n, x);
    }
    if n_x_squared >= 370.0 {
        return 0.0;
    }
    if n_x_squared >= 2.2 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let cdf = if n_x_squared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_matrix_cdf(n, x)
    } else {
        pelz_good_cdf(n, x)
    };
    1.0 - cdf.clamp(0.0, 1.0)
}

/// `ln(n!/nⁿ)` by Stirling's series (scipy's `_log_nfactorial_div_n_pow_n`).
fn log_factorial_over_power(n: f64) -> f64 {
    let rn = 1.0 / n;
    let series = STIRLING_COEFFS
        .iter()
        .fold(0.0, |acc, &c| acc * (rn / n) + c);
    n.ln() / 2.0 - n + (2.0 * PI).ln() / 2.0 + rn * series
}

/// `x · 2^exponent` without intermediate overflow for representable results.
fn ldexp(mut x: f64, mut exponent: i64) -> f64 {
    while exponent != 0 && x != 0.0 && x.is_finite() {
        let step = exponent.clamp(-1000, 1000);
        x *= 2f64.powi(step as i32);
        exponent -= step;
    }
    x
}

/// `P(D_n ≤ d)` by the Durbin matrix: with `k = ⌈nd⌉`, `h = k − nd`,
/// `m = 2k − 1`, the answer is `n!/nⁿ · (Hⁿ)_{kk}` for the m×m matrix
///
/// ```text
/// H_ij = 1/(i − j + 1)!  (i − j + 1 ≥ 0), first column (1 − h^i)/i!,
/// last row reversed first column, corner (1 − 2hᵐ + max(0, 2h − 1)ᵐ)/m!
/// ```
///
/// (Marsaglia, Tsang & Wang, J. Stat. Softw. 8(18), 2003), with the
/// power and the factor `n!/nⁿ` rescaled by 2^±128.
fn durbin_matrix_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    // w[j] = 1/j!, v[j] = (1 − h^{j+1})/(j+1)!
    let mut w = vec![0.0; m];
    let mut v = vec![0.0; m];
    let mut factorial_inverse = 1.0;
    for j in 1..=m {
        w[j - 1] = factorial_inverse;
        factorial_inverse /= j as f64;
        v[j - 1] = (1.0 - h.powi(j as i32)) * factorial_inverse;
    }
    let corner = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + corner) * factorial_inverse;
    let mut matrix = DMatrix::<f64>::zeros(m, m);
    for col in 1..m {
        for row in (col - 1)..m {
            matrix[(row, col)] = w[row + 1 - col];
        }
    }
    for row in 0..m {
        matrix[(row, 0)] = v[row];
    }
    for col in 0..m {
        matrix[(m - 1, col)] = v[m - 1 - col];
    }

    let mut power = DMatrix::<f64>::identity(m, m);
    let mut remaining = n;
    let mut power_exponent: i64 = 0;
    let mut matrix_exponent: i64 = 0;
    while remaining > 0 {
        if remaining % 2 == 1 {
            power = &power * &matrix;
            power_exponent += matrix_exponent;
        }
        matrix = &matrix * &matrix;
        matrix_exponent *= 2;
        if matrix[(k - 1, k - 1)].abs() > SCALE_UP {
            matrix /= SCALE_UP;
            matrix_exponent += i64::from(SCALE_EXPONENT);
        }
        remaining /= 2;
    }
    let mut p = power[(k - 1, k - 1)];
    let nf = n as f64;
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < SCALE_DOWN {
            p *= SCALE_UP;
            power_exponent -= i64::from(SCALE_EXPONENT);
        }
    }
    ldexp(p, power_exponent).clamp(0.0, 1.0)
}

/// Row bounds of the Pomeranz recursion (scipy's `_pomeranz_compute_j1j2`).
fn pomeranz_row_bounds(i: i64, n: i64, ll: i64, ceil_f: i64, round_f: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceil_f - 1, ll + ceil_f - 1)
    } else {
        let (half, odd_successor) = ((i + 1) / 2, (i + 1) % 2);
        if odd_successor == 0 {
            if half == n + 1 {
                (n - ll - ceil_f - 1, n + ll + ceil_f - 1)
            } else {
                (half - 1 - ll - round_f - 1, half + ll - 1 + ceil_f - 1)
            }
        } else {
            (half - 1 - ll - 1, half + ll + round_f - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `P(D_n ≤ d)` by the Pomeranz (1974) recursion: 2n + 1 banded
/// convolutions with the powers `(g/n)^m/m!`, `(2g/n)^m/m!`,
/// `((1 − 2g)/n)^m/m!`, `g = min(f, 1 − f)`, `f` the fractional part of nd.
fn pomeranz_cdf(n: u64, d: f64) -> f64 {
    let n_i = n as i64;
    let nf = n as f64;
    let t = nf * d;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceil_f = i64::from(f > 0.0);
    let round_f = i64::from(f > 0.5);
    let powers_len = (2 * (ll + 1)) as usize;
    let power_table = |base: f64| {
        let mut table = vec![1.0; powers_len];
        for m in 1..powers_len {
            table[m] = table[m - 1] * base / m as f64;
        }
        table
    };
    let g_powers = power_table(g / nf);
    let two_g_powers = power_table(2.0 * g / nf);
    let one_minus_two_g_powers = power_table((1.0 - 2.0 * g) / nf);

    let mut previous = vec![0.0; powers_len];
    let mut current = vec![0.0; powers_len];
    current[0] = 1.0;
    let (mut previous_start, mut current_start) = (0_i64, 0_i64);
    let mut exponent: i64 = 0;
    let (mut j1, _) = pomeranz_row_bounds(0, n_i, ll, ceil_f, round_f);
    for i in 1..=(2 * n_i + 1) {
        let k1 = j1;
        std::mem::swap(&mut previous, &mut current);
        std::mem::swap(&mut previous_start, &mut current_start);
        current.fill(0.0);
        let (new_j1, j2) = pomeranz_row_bounds(i, n_i, ll, ceil_f, round_f);
        j1 = new_j1;
        let powers = if i == 1 || i == 2 * n_i + 1 {
            &g_powers
        } else if i % 2 == 1 {
            &two_g_powers
        } else {
            &one_minus_two_g_powers
        };
        let span = j2 - k1 + 1;
        if span > 0 {
            let from = (k1 - previous_start) as usize;
            let to = (from + span as usize).min(powers_len);
            let window = &previous[from.min(to)..to];
            if window.is_empty() {
                continue;
            }
            let kernel = &powers[..(span as usize).min(powers_len)];
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            for (slot, out) in current.iter_mut().enumerate().take(conv_len) {
                let index = conv_start + slot;
                let lo = index.saturating_sub(kernel.len() - 1);
                let hi = index.min(window.len().saturating_sub(1));
                let mut acc = 0.0;
                for p in lo..=hi {
                    acc += window[p] * kernel[index - p];
                }
                *out = acc;
            }
            let largest = current.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if largest > 0.0 && largest < SCALE_DOWN {
                current.iter_mut().for_each(|c| *c *= SCALE_UP);
                exponent -= i64::from(SCALE_EXPONENT);
            }
            current_start = previous_start + j1 - k1;
        }
    }
    let mut answer = current[(n_i - current_start) as usize];
    for m in 1..=n {
        if answer.abs() > SCALE_UP {
            answer *= SCALE_DOWN;
            exponent += i64::from(SCALE_EXPONENT);
        }
        answer *= m as f64;
    }
    ldexp(answer, exponent).clamp(0.0, 1.0)
}

/// Pelz–Good (1976) asymptotic series for `P(D_n ≤ d)`:
/// `K₀(z) + K₁(z)/√n + K₂(z)/n + K₃(z)/n^{3/2}`, `z = d√n`, each `K_i` in
/// its Jacobi-theta form (accurate for small z).
fn pelz_good_cdf(n: u64, d: f64) -> f64 {
    if d <= 0.0 {
        return 0.0;
    }
    if d >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * d;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let pi2 = PI * PI;
    let (pi4, pi6) = (pi2 * pi2, pi2 * pi2 * pi2);
    let q_log = -pi2 / 8.0 / z2;
    if q_log < MIN_LOG {
        return 0.0;
    }
    let q = q_log.exp();
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut terms = [0.0_f64; 4];
    let max_k = (16.0 * z / PI).ceil() as i64;
    for k in (1..=max_k).rev() {
        let m = (2 * k - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let q_power = q.powf(8.0 * k as f64);
        let coefficients = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (term, c) in terms.iter_mut().zip(coefficients) {
            *term = *term * q_power + c;
        }
    }
    let sqrt_2pi = (2.0 * PI).sqrt();
    let denominators = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (term, den) in terms.iter_mut().zip(denominators) {
        *term = *term * q * sqrt_2pi / den;
    }
    let q_half = (-pi2 / 2.0 / z2).exp();
    let sqrt3_z = 3f64.sqrt() * z;
    let (mut k2_extra, mut k3_extra) = (0.0, 0.0);
    for k in (1..=max_k).rev() {
        let kf = k as f64;
        let k_squared = kf * kf;
        let q_power = q_half.powf(k_squared);
        k2_extra += k_squared * q_power;
        let k_pi = PI * kf;
        k3_extra += (sqrt3_z + k_pi) * (sqrt3_z - k_pi) * k_squared * q_power;
    }
    terms[2] += k2_extra * pi2 * sqrt_2pi / (-36.0 * z3);
    terms[3] += k3_extra * pi2 * sqrt_2pi / (216.0 * z6);
    terms
        .iter()
        .enumerate()
        .map(|(i, term)| term / nf.powf(i as f64 / 2.0))
        .sum()
}

/// `P(D⁺_n ≥ d)`, the one-sided Smirnov tail, by Birnbaum & Tingey (1951):
///
/// ```text
/// P(D⁺_n ≥ d) = d Σ_{v=0}^{⌊n(1−d)⌋} C(n, v) (d + v/n)^{v−1} (1 − d − v/n)^{n−v}
/// ```
///
/// Terms are positive and summed in log space with scipy's early stop; the
/// special cases follow scipy's `_smirnov3`.
fn smirnov_sf(n: u64, d: f64) -> f64 {
    if d.is_nan() {
        return f64::NAN;
    }
    if n == 1 {
        return 1.0 - d;
    }
    if d <= 0.0 {
        return 1.0;
    }
    if d >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let nd = nf * d;
    let nd_floor = nd.floor();
    let alpha = nd - nd_floor;
    let nd_floor = nd_floor as u64;
    if nd_floor == 0 || (nd_floor == 1 && alpha == 0.0) {
        let cdf = d * (1.0 + d).powf(nf - 1.0);
        return 1.0 - cdf;
    }
    if -2.0 * nf * d * d < CEPHES_MIN_LOG {
        return 0.0;
    }
    if nd_floor >= n - 1 {
        return (1.0 - d).powf(nf);
    }
    if n > SMIRNOV_MAX_COMPUTE_N {
        return (-(6.0 * nd + 1.0).powi(2) / 18.0 / nf).exp();
    }
    // v runs to ⌊n(1 − d)⌋, excluding v = n(1 − d) itself (a zero term)
    let term_count = n - nd_floor;
    let mut log_binomial = 0.0;
    let mut sum = 0.0;
    for v in 0..term_count {
        let vf = v as f64;
        let p = d + vf / nf;
        let log_term = log_binomial + (vf - 1.0) * p.ln() + (nf - vf) * (-p).ln_1p();
        let term = log_term.exp();
        sum += term;
        if term > 0.0 {
            let remaining = (term_count - v) as f64;
            if 4.0 * remaining * term < f64::EPSILON * sum && v != term_count - 1 {
                break;
            }
        } else if v > n / 2 {
            break;
        }
        log_binomial += ((nf - vf) / (vf + 1.0)).ln();
    }
    (d * sum).clamp(0.0, 1.0)
}
