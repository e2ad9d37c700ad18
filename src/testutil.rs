//! The one tolerance policy for unit tests: a value is close to its reference
//! when `|actual − expected| ≤ abs + rel · |expected|`.

/// Panics with both values and the tolerance when `actual` is not close to
/// `expected`. Infinities must match exactly; NaN is never close.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, rel: f64, abs: f64) {
    let ok = if expected.is_infinite() {
        actual == expected
    } else {
        (actual - expected).abs() <= abs + rel * expected.abs()
    };
    assert!(
        ok,
        "actual {actual:e} is not within rel {rel:e} / abs {abs:e} of expected {expected:e} (diff {:e})",
        actual - expected
    );
}
