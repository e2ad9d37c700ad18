//! Sizes checked before allocating. A simulation's settings fix how many
//! values it holds (parameters × clients of error memory, the teacher's and
//! student's weight matrices); settings that need more memory than the
//! machine has available (Linux: `MemAvailable` of `/proc/meminfo`) are
//! refused with both sizes before anything is allocated, where the
//! allocation would otherwise abort the process (`--clients 1e9` wants
//! 16 GB or more). Counts are multiplied in `u128`, so no product of
//! settings can overflow.

use super::SimError;

/// Bytes the system can give to new allocations now, if it says.
pub fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Refuses `values` f64 values for `what` if they do not fit in memory.
pub(crate) fn check_f64(what: impl FnOnce() -> String, values: u128) -> Result<(), SimError> {
    let needed = values.saturating_mul(8);
    match available() {
        Some(available) if needed > u128::from(available) => Err(SimError::TooLarge {
            what: what(),
            needed: bytes(needed),
            available: bytes(u128::from(available)),
        }),
        _ => Ok(()),
    }
}

/// `n` bytes in decimal units ("16.0 GB").
fn bytes(n: u128) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_decimal_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(16_000_000_000), "16.0 GB");
        assert_eq!(bytes(2_000_000_000_000_000_000_000), "2000.0 EB");
    }

    #[test]
    fn what_cannot_fit_is_refused_before_allocating() {
        let Some(available) = available() else {
            return;
        };
        assert!(check_f64(|| "small".into(), 1000).is_ok());
        let error = check_f64(|| "clients 1e9".into(), u128::from(available)).unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("clients 1e9 needs "), "{text}");
        assert!(text.contains("available"), "{text}");
    }
}
