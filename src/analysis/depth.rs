//! Network depth from parameter names.
//!
//! Dumps do not keep `named_parameters()` order (safetensors sorts its
//! header), so depth is recovered from the names: numbers inside a name
//! compare as numbers (`layer2` before `layer10`, `blocks.3.attn` before
//! `blocks.12.attn`), everything else as text. Depth is the rank of a name
//! in that order.

use std::cmp::Ordering;

/// Compares two names with embedded numbers compared numerically.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(cx), Some(cy)) if cx.is_ascii_digit() && cy.is_ascii_digit() => {
                let (nx, rest_x) = split_digits(x);
                let (ny, rest_y) = split_digits(y);
                let trimmed = |d: &[u8]| -> usize { d.iter().take_while(|c| **c == b'0').count() };
                let (dx, dy) = (&nx[trimmed(nx)..], &ny[trimmed(ny)..]);
                let order = dx.len().cmp(&dy.len()).then_with(|| dx.cmp(dy));
                if order != Ordering::Equal {
                    return order;
                }
                x = rest_x;
                y = rest_y;
            }
            (Some(cx), Some(cy)) => {
                if cx != cy {
                    return cx.cmp(cy);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let end = s
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    s.split_at(end)
}

/// Distinct names in depth order.
pub fn depth_order<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_by(|a, b| natural_cmp(a, b));
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_inside_names_compare_as_numbers() {
        let names = [
            "layer10.weight",
            "layer2.weight",
            "fc.bias",
            "layer2.bias",
            "blocks.12.a",
            "blocks.3.a",
        ];
        assert_eq!(
            depth_order(names),
            vec![
                "blocks.3.a",
                "blocks.12.a",
                "fc.bias",
                "layer2.bias",
                "layer2.weight",
                "layer10.weight"
            ]
        );
    }

    #[test]
    fn leading_zeros_do_not_change_the_number() {
        assert_eq!(natural_cmp("step007", "step7"), "step007".cmp("step7"));
        assert_eq!(natural_cmp("a09", "a10"), Ordering::Less);
    }
}
