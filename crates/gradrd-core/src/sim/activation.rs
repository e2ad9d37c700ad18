//! The activations of the teacher/student networks and their derivatives,
//! as in Goldt, Advani, Saxe, Krzakala & Zdeborová, "Dynamics of stochastic
//! gradient descent for two-layer neural networks in the teacher-student
//! setup" (NeurIPS 2019):
//!
//! ```text
//! erf     g(x) = erf(x/√2)          g'(x) = √(2/π) exp(−x²/2)
//! relu    g(x) = max(0, x)          g'(x) = 1 if x > 0 else 0
//! tanh    g(x) = tanh(x)            g'(x) = 1 − tanh²(x)
//! linear  g(x) = x                  g'(x) = 1
//! ```

use std::f64::consts::PI;

use serde::Serialize;

use crate::dist::special::reg_lower_gamma;

/// A hidden-unit activation `g`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Erf,
    Relu,
    Tanh,
    Linear,
}

impl Activation {
    /// `g(x)`.
    #[inline]
    pub fn value(self, x: f64) -> f64 {
        match self {
            // erf(x/√2) = sign(x) · P(½, x²/2), the regularized lower gamma
            Activation::Erf => reg_lower_gamma(0.5, 0.5 * x * x).copysign(x),
            Activation::Relu => x.max(0.0),
            Activation::Tanh => x.tanh(),
            Activation::Linear => x,
        }
    }

    /// `g'(x)`.
    #[inline]
    pub fn derivative(self, x: f64) -> f64 {
        match self {
            Activation::Erf => (2.0 / PI).sqrt() * (-0.5 * x * x).exp(),
            Activation::Relu => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => {
                let t = x.tanh();
                1.0 - t * t
            }
            Activation::Linear => 1.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Activation::Erf => "erf",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Linear => "linear",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradrd_testkit::assert_close;

    #[test]
    fn erf_matches_scipy() {
        // python3 -c "from scipy.special import erf; import numpy as np; print(erf(1.3/np.sqrt(2)))"
        // -> 0.8063990308287792
        assert_close(Activation::Erf.value(1.3), 0.8063990308287792, 1e-13, 0.0);
    }

    #[test]
    fn derivatives_match_central_differences() {
        let h = 1e-6;
        for act in [
            Activation::Erf,
            Activation::Relu,
            Activation::Tanh,
            Activation::Linear,
        ] {
            for x in [-2.1, -0.4, 0.3, 1.7] {
                let numeric = (act.value(x + h) - act.value(x - h)) / (2.0 * h);
                assert_close(act.derivative(x), numeric, 1e-7, 1e-9);
            }
        }
    }
}
