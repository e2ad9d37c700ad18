//! Shared helpers for integration tests: the same tolerance policy as the
//! library's unit tests (`|actual − expected| ≤ abs + rel · |expected|`).
#![allow(dead_code)]

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

/// Path of a file under `tests/fixtures/`.
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
