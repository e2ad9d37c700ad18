//! Globally adaptive Gauss–Kronrod (7/15-point) quadrature of a small vector
//! of integrands over a finite or infinite interval, as QUADPACK's `QAG`
//! (Piessens et al., *QUADPACK*, Springer 1983): the interval with the largest
//! error estimate `|K15 − G7|` is bisected until every component meets its
//! tolerance. Infinite ends are mapped to `[0, 1)` by
//!
//! ```text
//! x = a + s · t / (1 − t),   dx = s / (1 − t)² dt
//! ```
//!
//! with the length scale `s` of the source, so the nodes sit where the mass is.
//! Used for the M-weighted cell moments when they have no closed form
//! (`loc ≠ 0` with `M > 0`).

/// Kronrod abscissae on [0, 1] (symmetric), QUADPACK `qk15`.
const KRONROD_NODES: [f64; 8] = [
    0.991_455_371_120_812_6,
    0.949_107_912_342_758_5,
    0.864_864_423_359_769_1,
    0.741_531_185_599_394_4,
    0.586_087_235_467_691_1,
    0.405_845_151_377_397_2,
    0.207_784_955_007_898_5,
    0.0,
];
const KRONROD_WEIGHTS: [f64; 8] = [
    0.022_935_322_010_529_22,
    0.063_092_092_629_978_55,
    0.104_790_010_322_250_18,
    0.140_653_259_715_525_92,
    0.169_004_726_639_267_9,
    0.190_350_578_064_785_4,
    0.204_432_940_075_298_9,
    0.209_482_141_084_727_83,
];
/// Gauss weights of the embedded 7-point rule (nodes 1, 3, 5, 7 above).
const GAUSS_WEIGHTS: [f64; 4] = [
    0.129_484_966_168_869_7,
    0.279_705_391_489_276_7,
    0.381_830_050_505_118_9,
    0.417_959_183_673_469_4,
];

/// Components integrated together: the M-weighted moments of order 0, 1, 2.
pub(crate) type Triple = [f64; 3];

const MAX_INTERVALS: usize = 400;

struct Piece {
    lower: f64,
    upper: f64,
    value: Triple,
    error: Triple,
}

fn kronrod(integrand: &impl Fn(f64) -> Triple, lower: f64, upper: f64) -> Piece {
    let half = 0.5 * (upper - lower);
    let mid = 0.5 * (upper + lower);
    let centre = integrand(mid);
    let mut k = centre.map(|v| v * KRONROD_WEIGHTS[7]);
    let mut g = centre.map(|v| v * GAUSS_WEIGHTS[3]);
    for (j, &node) in KRONROD_NODES[..7].iter().enumerate() {
        let left = integrand(mid - half * node);
        let right = integrand(mid + half * node);
        for c in 0..3 {
            let pair = left[c] + right[c];
            k[c] += KRONROD_WEIGHTS[j] * pair;
            if j % 2 == 1 {
                g[c] += GAUSS_WEIGHTS[j / 2] * pair;
            }
        }
    }
    let value = k.map(|v| v * half);
    let error = [0, 1, 2].map(|c| ((k[c] - g[c]) * half).abs());
    Piece {
        lower,
        upper,
        value,
        error,
    }
}

fn sum(pieces: &[Piece], pick: impl Fn(&Piece) -> Triple) -> Triple {
    pieces.iter().fold([0.0; 3], |acc, p| {
        let v = pick(p);
        [acc[0] + v[0], acc[1] + v[1], acc[2] + v[2]]
    })
}

/// Whether the error estimates meet `relative` tolerance: components 0 and 2
/// are positive; component 1 is judged against `√(W0·W2)` (Cauchy–Schwarz
/// bound on `|W1|`), since it may cancel to 0.
fn accurate(value: Triple, error: Triple, relative: f64) -> bool {
    let bound1 = (value[0] * value[2]).abs().sqrt();
    error[0] <= relative * value[0].abs()
        && error[2] <= relative * value[2].abs()
        && error[1] <= relative * bound1
}

/// `∫_lower^upper integrand` on a finite interval without interior kinks.
fn adaptive_finite(
    integrand: &impl Fn(f64) -> Triple,
    lower: f64,
    upper: f64,
    relative: f64,
) -> Triple {
    let mut pieces = vec![kronrod(integrand, lower, upper)];
    loop {
        let value = sum(&pieces, |p| p.value);
        let error = sum(&pieces, |p| p.error);
        if accurate(value, error, relative) || pieces.len() >= MAX_INTERVALS {
            return value;
        }
        let worst = pieces
            .iter()
            .enumerate()
            .map(|(i, p)| (i, p.error.iter().sum::<f64>()))
            .fold((0, f64::NEG_INFINITY), |best, cur| {
                if cur.1 > best.1 {
                    cur
                } else {
                    best
                }
            })
            .0;
        let piece = pieces.swap_remove(worst);
        let mid = 0.5 * (piece.lower + piece.upper);
        if !(piece.lower < mid && mid < piece.upper) {
            return value;
        }
        pieces.push(kronrod(integrand, piece.lower, mid));
        pieces.push(kronrod(integrand, mid, piece.upper));
    }
}

/// `∫_a^b integrand(x) dx` for `a ≤ b` (either may be infinite), split at the
/// `kinks` that fall strictly inside, to `relative` accuracy per component.
pub(crate) fn integrate(
    integrand: &impl Fn(f64) -> Triple,
    a: f64,
    b: f64,
    kinks: &[f64],
    length_scale: f64,
    relative: f64,
) -> Triple {
    let mut points = vec![a];
    let mut inside: Vec<f64> = kinks.iter().copied().filter(|k| *k > a && *k < b).collect();
    inside.sort_by(f64::total_cmp);
    inside.dedup();
    points.extend(inside);
    points.push(b);
    let mut total = [0.0; 3];
    for pair in points.windows(2) {
        let (lo, hi) = (pair[0], pair[1]);
        let part = match (lo.is_finite(), hi.is_finite()) {
            (true, true) => adaptive_finite(integrand, lo, hi, relative),
            (true, false) => {
                let mapped = |t: f64| {
                    let jac = length_scale / ((1.0 - t) * (1.0 - t));
                    integrand(lo + length_scale * t / (1.0 - t)).map(|v| v * jac)
                };
                adaptive_finite(&mapped, 0.0, 1.0, relative)
            }
            (false, true) => {
                let mapped = |t: f64| {
                    let jac = length_scale / ((1.0 - t) * (1.0 - t));
                    integrand(hi - length_scale * t / (1.0 - t)).map(|v| v * jac)
                };
                adaptive_finite(&mapped, 0.0, 1.0, relative)
            }
            (false, false) => {
                let split = 0.0;
                let left = integrate(integrand, lo, split, &[], length_scale, relative);
                let right = integrate(integrand, split, hi, &[], length_scale, relative);
                [left[0] + right[0], left[1] + right[1], left[2] + right[2]]
            }
        };
        for c in 0..3 {
            total[c] += part[c];
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradrd_testkit::assert_close;

    #[test]
    fn gaussian_moments_over_the_line() {
        // ∫ x^k φ(x) dx = 1, 0, 1 for the standard normal.
        let phi = |x: f64| {
            let p = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            [p, x * p, x * x * p]
        };
        let v = integrate(&phi, f64::NEG_INFINITY, f64::INFINITY, &[], 1.0, 1e-13);
        assert_close(v[0], 1.0, 1e-12, 0.0);
        assert_close(v[1], 0.0, 0.0, 1e-13);
        assert_close(v[2], 1.0, 1e-12, 0.0);
    }

    #[test]
    fn kinked_weight_on_a_finite_interval() {
        // ∫_{-1}^{2} |x|^0.5 dx = (2/3)(1 + 2^{1.5}); ∫ |x|^0.5 x dx = (2/5)(2^{2.5} − 1)
        let w = |x: f64| {
            let a = x.abs().sqrt();
            [a, a * x, a * x * x]
        };
        let v = integrate(&w, -1.0, 2.0, &[0.0], 1.0, 1e-13);
        assert_close(v[0], 2.0 / 3.0 * (1.0 + 2f64.powf(1.5)), 1e-12, 0.0);
        assert_close(v[1], 0.4 * (2f64.powf(2.5) - 1.0), 1e-12, 0.0);
        // ∫ |x|^0.5 x² = (2/7)(1 + 2^{3.5})
        assert_close(v[2], 2.0 / 7.0 * (1.0 + 2f64.powf(3.5)), 1e-12, 0.0);
    }

    #[test]
    fn laplace_tail_with_small_length_scale() {
        // ∫_{1e-4}^{∞} e^{−x/1e-4}/1e-4 dx = e^{-1}
        let s = 1e-4;
        let f = |x: f64| {
            let p = (-x / s).exp() / s;
            [p, x * p, x * x * p]
        };
        let v = integrate(&f, s, f64::INFINITY, &[], s, 1e-13);
        assert_close(v[0], (-1.0f64).exp(), 1e-12, 0.0);
        // ∫_s^∞ x e^{-x/s}/s dx = 2 s e^{-1}
        assert_close(v[1], 2.0 * s * (-1.0f64).exp(), 1e-12, 0.0);
    }
}
