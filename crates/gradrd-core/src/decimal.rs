//! Numbers written for people and read back by programs: the shortest
//! decimal that parses to the same `f64` (Rust's `Display` of `f64`, the
//! round-trip shortest representation of Steele & White / Ryū), switched to
//! scientific notation outside [1e-4, 1e15) so that tiny and huge values
//! stay short. Used in result texts (`"16-bit values"`) and report tables.

/// `value` in the shortest decimal that reads back as the same `f64`:
/// positional between 1e-4 and 1e15, scientific (`1.25e-9`) outside.
pub fn full_precision(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 || !value.is_finite() || (1e-4..1e15).contains(&magnitude) {
        value.to_string()
    } else {
        format!("{value:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_precision_reads_back_as_the_same_value() {
        for value in [
            0.0,
            1.0,
            0.1 + 0.2,
            -1e-4,
            9.99e-5,
            123456.789,
            1e15,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            -std::f64::consts::PI * 1e-300,
        ] {
            let text = full_precision(value);
            assert_eq!(
                text.parse::<f64>().unwrap().to_bits(),
                value.to_bits(),
                "{text}"
            );
            assert!(text.len() <= 24, "{text}");
        }
        assert_eq!(full_precision(1.5e-9), "1.5e-9");
        assert_eq!(full_precision(0.25), "0.25");
        assert_eq!(full_precision(f64::NAN), "NaN");
    }
}
