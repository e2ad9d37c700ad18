//! The costs of cost-weighted magnitude pruning ([`super::Compressor::Cwmp`])
//! as they are written in a file: a JSON object keyed by tensor name, each
//! tensor with one cost for all its entries or one cost per entry,
//!
//! ```text
//! {"fc1.weight": 2.0, "fc1.bias": [1.0, 1.0, …], …}
//! ```
//!
//! and their expansion to one finite positive cost per entry.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::sparsify::check_costs;
use super::CompressError;

/// One tensor's costs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum TensorCost {
    /// The same cost for every entry.
    Tensor(f64),
    /// One cost per entry.
    Entries(Vec<f64>),
}

/// A costs file: tensor name → costs.
pub type CostMap = BTreeMap<String, TensorCost>;

/// Why a tensor has no usable costs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CostsError {
    #[error("no cost for tensor '{tensor}' (the file must cover every selected tensor)")]
    Missing { tensor: String },
    #[error("tensor '{tensor}' has {count} costs for {entries} entries")]
    Length {
        tensor: String,
        count: usize,
        entries: usize,
    },
    #[error("tensor '{tensor}' cost[{index}] = {value} is not a finite positive number")]
    Value {
        tensor: String,
        index: usize,
        value: f64,
    },
}

/// Parses the JSON text of a costs file.
pub fn parse_cost_map(text: &str) -> Result<CostMap, serde_json::Error> {
    serde_json::from_str(text)
}

/// The `n` per-entry costs of tensor `name`, each finite and positive.
pub fn tensor_costs(map: &CostMap, name: &str, n: usize) -> Result<Vec<f64>, CostsError> {
    let tensor = || name.to_string();
    let costs = match map.get(name) {
        None => return Err(CostsError::Missing { tensor: tensor() }),
        Some(TensorCost::Tensor(c)) => vec![*c; n],
        Some(TensorCost::Entries(v)) if v.len() == n => v.clone(),
        Some(TensorCost::Entries(v)) => {
            return Err(CostsError::Length {
                tensor: tensor(),
                count: v.len(),
                entries: n,
            })
        }
    };
    match check_costs(&costs, n) {
        Err(CompressError::Cost { index, value }) => Err(CostsError::Value {
            tensor: tensor(),
            index,
            value,
        }),
        _ => Ok(costs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scalar_applies_to_every_entry_and_a_list_is_taken_as_is() {
        let map = parse_cost_map(r#"{"a": 2.5, "b": [1, 2, 3]}"#).unwrap();
        assert_eq!(tensor_costs(&map, "a", 3).unwrap(), vec![2.5; 3]);
        assert_eq!(tensor_costs(&map, "b", 3).unwrap(), vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn missing_tensors_wrong_lengths_and_bad_costs_are_named() {
        let map = parse_cost_map(r#"{"a": 0.0, "b": [1, 2], "c": [1, -1]}"#).unwrap();
        assert_eq!(
            tensor_costs(&map, "z", 2).unwrap_err().to_string(),
            "no cost for tensor 'z' (the file must cover every selected tensor)"
        );
        assert_eq!(
            tensor_costs(&map, "b", 5).unwrap_err().to_string(),
            "tensor 'b' has 2 costs for 5 entries"
        );
        assert!(matches!(
            tensor_costs(&map, "a", 2),
            Err(CostsError::Value { index: 0, .. })
        ));
        assert!(matches!(
            tensor_costs(&map, "c", 2),
            Err(CostsError::Value { index: 1, .. })
        ));
        assert!(parse_cost_map("[1, 2]").is_err());
        assert!(parse_cost_map(r#"{"a": "x"}"#).is_err());
    }
}
