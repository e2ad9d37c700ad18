//! Communication cost models: bits one client uploads per round.
//!
//! ```text
//! FedAvg, full precision   d · b                       (d parameters, b bits each)
//! sparse (values+positions) k · b_v + positions(d, k)   (see [`BitModel`])
//! prediction space (KTA)   n · C · b_l                 (logits of n public reference
//!                                                       samples, C classes, b_l bits)
//! ```
//!
//! KTA v2 reports ≈ 1/1100 of FedAvg's traffic for ResNet-18 on CIFAR-10.
//! From the stated sizes (d = 11.2·10^6 parameters at 32 bits, C = 10
//! classes, 32-bit logits) the ratio `d·b / (n·C·b_l)` is 1100 at
//! n = 1018; a reference set of n = 1000 samples gives 1120 ≈ 1/1100 — the
//! set size the reported ratio implies ([`reference_size_for_ratio`]).

use super::bits::BitModel;

/// Bits of a full-precision model update: `d · b`.
pub fn fedavg_bits(parameters: u64, bits_per_value: f64) -> f64 {
    parameters as f64 * bits_per_value
}

/// Bits of a sparse update of `k` of `d` values at `value_bits` each, plus
/// positions under `model`.
pub fn sparse_bits(parameters: u64, k: u64, value_bits: f64, model: &BitModel) -> f64 {
    let d = usize::try_from(parameters).unwrap_or(usize::MAX);
    let k_usize = usize::try_from(k).unwrap_or(usize::MAX);
    k as f64 * value_bits + model.position_bits(d, k_usize)
}

/// Bits of prediction-space sharing: `n · C · b_l`.
pub fn prediction_space_bits(reference_samples: u64, classes: u64, bits_per_logit: f64) -> f64 {
    reference_samples as f64 * classes as f64 * bits_per_logit
}

/// The reference-set size n at which prediction-space sharing costs
/// `1/ratio` of FedAvg: `n = d · b / (ratio · C · b_l)`.
pub fn reference_size_for_ratio(
    parameters: u64,
    bits_per_value: f64,
    classes: u64,
    bits_per_logit: f64,
    ratio: f64,
) -> f64 {
    fedavg_bits(parameters, bits_per_value) / (ratio * classes as f64 * bits_per_logit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::PositionCoding;
    use gradrd_testkit::assert_close;

    #[test]
    fn resnet18_cifar10_prediction_space_ratio_is_about_1_in_1100() {
        // python3 -c "print(11.2e6*32/(1000*10*32), 11.2e6*32/(1100*10*32))" -> 1120.0 1018.1818181818181
        let fedavg = fedavg_bits(11_200_000, 32.0);
        let logits = prediction_space_bits(1000, 10, 32.0);
        assert_close(fedavg / logits, 1120.0, 1e-15, 0.0);
        assert_close(
            reference_size_for_ratio(11_200_000, 32.0, 10, 32.0, 1100.0),
            1018.1818181818181,
            1e-15,
            0.0,
        );
    }

    #[test]
    fn sparse_update_costs_values_plus_positions() {
        // top-1 % of ResNet-18: 112 000 values at 32 bits + 112 000 · ⌈log2 11.2e6⌉ = 24 bits
        // python3 -c "print(112000*32 + 112000*24)" -> 6272000
        let index = BitModel {
            positions: PositionCoding::Index,
            value_bits: 32.0,
        };
        assert_close(
            sparse_bits(11_200_000, 112_000, 32.0, &index),
            6_272_000.0,
            1e-15,
            0.0,
        );
    }
}
