//! Network depth: the model's tensor order.
//!
//! Where a dump kept the writer's order (a pickled state dict, an .npz, a
//! DCP checkpoint, a safetensors file with the recorder's
//! `__metadata__["order"]`: `gradrd_io::dump::TensorMeta::position`), depth is
//! the rank in that order (`attn.qkv` before `attn.proj`, as the model runs
//! them). Otherwise (safetensors sorts its header by name) it is recovered
//! from the names: numbers inside a name compare as numbers (`layer2` before
//! `layer10`, `blocks.3.attn` before `blocks.12.attn`), everything else as
//! text. Every result says which order it used ([`OrderSource`]).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

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

/// Distinct names in natural name order.
pub fn depth_order<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    DepthOrder::by_name().sort(names).0
}

/// Which order a list of tensors is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderSource {
    /// The order the file(s) stored them in: the model's.
    File,
    /// Natural name order (numbers compared as numbers).
    Names,
    /// File order for the tensors a file ordered, then the rest by name.
    FileThenNames,
}

impl OrderSource {
    /// A phrase for tables and notes.
    pub fn describe(self) -> &'static str {
        match self {
            OrderSource::File => "the model's order (as the file stores it)",
            OrderSource::Names => {
                "name order (numbers compared as numbers; the file keeps no model order)"
            }
            OrderSource::FileThenNames => {
                "the model's order where the file keeps it, then name order"
            }
        }
    }
}

/// The depth ranks of a dump's tensors.
#[derive(Debug, Clone, Default)]
pub struct DepthOrder {
    rank: HashMap<String, usize>,
}

impl DepthOrder {
    /// Natural name order only.
    pub fn by_name() -> Self {
        DepthOrder::default()
    }

    /// The writer's order, from the step whose files order the most tensors
    /// (its files in path order, so Hugging Face shards follow each other),
    /// falling back to names for tensors no file ordered. `tensors` gives
    /// each tensor's step, file, name and position in its file, where the
    /// file kept one (`gradrd_io::dump::Dump::depth_order` passes a dump's).
    pub fn from_positions<'a>(
        tensors: impl IntoIterator<Item = (Option<u64>, &'a Path, &'a str, Option<u32>)>,
    ) -> Self {
        let mut per_step: BTreeMap<Option<u64>, Vec<(&Path, u32, &str)>> = BTreeMap::new();
        for (step, file, name, position) in tensors {
            if let Some(position) = position {
                per_step
                    .entry(step)
                    .or_default()
                    .push((file, position, name));
            }
        }
        let Some(mut best) = per_step.into_values().max_by_key(Vec::len) else {
            return DepthOrder::by_name();
        };
        best.sort();
        let mut rank = HashMap::with_capacity(best.len());
        for (_, _, name) in best {
            let next = rank.len();
            rank.entry(name.to_string()).or_insert(next);
        }
        DepthOrder { rank }
    }

    /// Distinct `names` in depth order, and which order that is.
    pub fn sort<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> (Vec<&'a str>, OrderSource) {
        let mut names: Vec<&str> = names.into_iter().collect();
        names.sort_by(|a, b| match (self.rank.get(*a), self.rank.get(*b)) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => natural_cmp(a, b),
        });
        names.dedup();
        let ranked = names.iter().filter(|n| self.rank.contains_key(**n)).count();
        let source = match ranked {
            0 => OrderSource::Names,
            r if r == names.len() => OrderSource::File,
            _ => OrderSource::FileThenNames,
        };
        (names, source)
    }
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
    fn ranked_names_come_first_in_rank_order() {
        let order = DepthOrder {
            rank: [("b.qkv", 0), ("b.proj", 1)]
                .into_iter()
                .map(|(n, r)| (n.to_string(), r))
                .collect(),
        };
        let (names, source) = order.sort(["b.proj", "z", "b.qkv", "a10", "a9"]);
        assert_eq!(names, ["b.qkv", "b.proj", "a9", "a10", "z"]);
        assert_eq!(source, OrderSource::FileThenNames);
        assert_eq!(order.sort(["b.proj", "b.qkv"]).1, OrderSource::File);
        assert_eq!(order.sort(["x"]).1, OrderSource::Names);
    }

    #[test]
    fn leading_zeros_do_not_change_the_number() {
        assert_eq!(natural_cmp("step007", "step7"), "step007".cmp("step7"));
        assert_eq!(natural_cmp("a09", "a10"), Ordering::Less);
    }
}
