//! The scalar codebook that training code consumes: thresholds, centers and
//! a scale, with PyTorch's lookup convention (see `design/formats.md`):
//!
//! ```text
//! index  = torch.bucketize(x / scale, thresholds, right=False)
//!          i.e. thresholds[i−1] < x/scale ≤ thresholds[i]  ↦  i
//! decode = centers[index] · scale
//! ```

use serde::{Deserialize, Serialize};

/// A codebook that violates its invariants.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodebookError {
    #[error("codebook: {centers} centers need {expected} thresholds, got {thresholds}", expected = centers.saturating_sub(1))]
    Lengths { thresholds: usize, centers: usize },
    #[error("codebook: at least 2 centers are needed, got {0}")]
    TooFewCenters(usize),
    #[error("codebook: {field}[{index}] = {value} is not finite")]
    NonFinite {
        field: &'static str,
        index: usize,
        value: f64,
    },
    #[error("codebook: thresholds must be strictly increasing, but thresholds[{index}] = {value} <= thresholds[{previous_index}] = {previous}", previous_index = index - 1)]
    Unsorted {
        index: usize,
        value: f64,
        previous: f64,
    },
    #[error("codebook: scale must be finite and > 0, got {0}")]
    Scale(f64),
    #[error("codebook: weight exponent m must be finite and >= 0, got {0}")]
    WeightExponent(f64),
}

/// `L` reproduction levels with `L − 1` strictly increasing thresholds, both
/// in units of `scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawCodebook", into = "RawCodebook")]
pub struct Codebook {
    thresholds: Vec<f64>,
    centers: Vec<f64>,
    scale: f64,
    m: f64,
    zero_level: bool,
}

/// The serialized form; deserializing goes through [`Codebook::new`].
#[derive(Serialize, Deserialize)]
struct RawCodebook {
    thresholds: Vec<f64>,
    centers: Vec<f64>,
    scale: f64,
    m: f64,
    zero_level: bool,
}

impl TryFrom<RawCodebook> for Codebook {
    type Error = CodebookError;
    fn try_from(raw: RawCodebook) -> Result<Self, Self::Error> {
        Codebook::new(
            raw.thresholds,
            raw.centers,
            raw.scale,
            raw.m,
            raw.zero_level,
        )
    }
}

impl From<Codebook> for RawCodebook {
    fn from(c: Codebook) -> Self {
        RawCodebook {
            thresholds: c.thresholds,
            centers: c.centers,
            scale: c.scale,
            m: c.m,
            zero_level: c.zero_level,
        }
    }
}

impl Codebook {
    /// Validates lengths (`thresholds.len() == centers.len() − 1 ≥ 1`),
    /// finiteness, strictly increasing thresholds, `scale > 0`, `m ≥ 0`.
    pub fn new(
        thresholds: Vec<f64>,
        centers: Vec<f64>,
        scale: f64,
        m: f64,
        zero_level: bool,
    ) -> Result<Self, CodebookError> {
        if centers.len() < 2 {
            return Err(CodebookError::TooFewCenters(centers.len()));
        }
        if thresholds.len() + 1 != centers.len() {
            return Err(CodebookError::Lengths {
                thresholds: thresholds.len(),
                centers: centers.len(),
            });
        }
        for (field, values) in [("thresholds", &thresholds), ("centers", &centers)] {
            if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(CodebookError::NonFinite {
                    field,
                    index,
                    value,
                });
            }
        }
        if let Some(index) = (1..thresholds.len()).find(|&i| thresholds[i] <= thresholds[i - 1]) {
            return Err(CodebookError::Unsorted {
                index,
                value: thresholds[index],
                previous: thresholds[index - 1],
            });
        }
        if !(scale.is_finite() && scale > 0.0) {
            return Err(CodebookError::Scale(scale));
        }
        if !(m.is_finite() && m >= 0.0) {
            return Err(CodebookError::WeightExponent(m));
        }
        Ok(Self {
            thresholds,
            centers,
            scale,
            m,
            zero_level,
        })
    }

    /// Thresholds in units of `scale` (`L − 1`, strictly increasing).
    pub fn thresholds(&self) -> &[f64] {
        &self.thresholds
    }
    /// Reproduction levels in units of `scale` (`L`).
    pub fn centers(&self) -> &[f64] {
        &self.centers
    }
    pub fn scale(&self) -> f64 {
        self.scale
    }
    /// The weight exponent M the codebook was designed for.
    pub fn m(&self) -> f64 {
        self.m
    }
    /// Whether one center is pinned at exactly 0.
    pub fn zero_level(&self) -> bool {
        self.zero_level
    }
    /// Number of levels `L`.
    pub fn levels(&self) -> usize {
        self.centers.len()
    }

    /// The cell index of `x`:
    ///
    /// ```text
    /// i such that thresholds[i−1] < x/scale ≤ thresholds[i]
    /// ```
    ///
    /// (`torch.bucketize(x / scale, thresholds, right=False)`). NaN maps to
    /// the last cell, as in PyTorch.
    pub fn encode(&self, x: f64) -> usize {
        let v = x / self.scale;
        // `v > t`, except that NaN compares greater than every threshold
        self.thresholds.partition_point(|t| {
            v.partial_cmp(t) != Some(std::cmp::Ordering::Less)
                && v.partial_cmp(t) != Some(std::cmp::Ordering::Equal)
        })
    }

    /// `centers[index] · scale`, or `None` for an index outside `0..L`.
    pub fn decode(&self, index: usize) -> Option<f64> {
        self.centers.get(index).map(|c| c * self.scale)
    }

    /// `decode(encode(x))`.
    pub fn quantize(&self, x: f64) -> f64 {
        self.centers[self.encode(x)] * self.scale
    }

    /// The cell indices of `samples` and their reconstructions.
    pub fn encode_all(&self, samples: &[f64]) -> (Vec<u32>, Vec<f64>) {
        samples
            .iter()
            .map(|&x| {
                let index = self.encode(x);
                (index as u32, self.centers[index] * self.scale)
            })
            .unzip()
    }

    /// The same thresholds and centers at another `scale`.
    pub fn with_scale(&self, scale: f64) -> Result<Codebook, CodebookError> {
        Codebook::new(
            self.thresholds.clone(),
            self.centers.clone(),
            scale,
            self.m,
            self.zero_level,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three_level() -> Codebook {
        Codebook::new(vec![-1.0, 1.0], vec![-2.0, 0.0, 2.0], 0.5, 2.0, true).unwrap()
    }

    #[test]
    fn encode_follows_bucketize_right_false() {
        // torch.bucketize(torch.tensor([-3., -0.5, -0.4, 0., 0.5, 0.6, nan, -inf, inf],
        //     dtype=torch.float64) / 0.5, torch.tensor([-1., 1.], dtype=torch.float64),
        //     right=False) -> [0, 0, 1, 1, 1, 2, 2, 0, 2]   (torch 2.x)
        let cb = three_level();
        let got: Vec<usize> = [-3.0, -0.5, -0.4, 0.0, 0.5, 0.6]
            .iter()
            .map(|&x| cb.encode(x))
            .collect();
        assert_eq!(got, vec![0, 0, 1, 1, 1, 2]);
        assert_eq!(cb.encode(f64::NAN), 2);
        assert_eq!(cb.encode(f64::NEG_INFINITY), 0);
        assert_eq!(cb.encode(f64::INFINITY), 2);
    }

    #[test]
    fn decode_multiplies_by_scale() {
        let cb = three_level();
        gradrd_testkit::assert_close(cb.decode(0).unwrap(), -1.0, 0.0, 0.0);
        gradrd_testkit::assert_close(cb.quantize(0.9), 1.0, 0.0, 0.0);
        assert_eq!(cb.decode(3), None);
    }

    #[test]
    fn invalid_codebooks_are_errors() {
        assert!(matches!(
            Codebook::new(vec![0.0], vec![1.0], 1.0, 0.0, false),
            Err(CodebookError::TooFewCenters(1))
        ));
        assert!(matches!(
            Codebook::new(vec![0.0, 1.0], vec![1.0, 2.0], 1.0, 0.0, false),
            Err(CodebookError::Lengths { .. })
        ));
        assert!(matches!(
            Codebook::new(vec![1.0, 1.0], vec![0.0, 1.0, 2.0], 1.0, 0.0, false),
            Err(CodebookError::Unsorted { index: 1, .. })
        ));
        assert!(matches!(
            Codebook::new(vec![f64::NAN], vec![0.0, 1.0], 1.0, 0.0, false),
            Err(CodebookError::NonFinite {
                field: "thresholds",
                ..
            })
        ));
        assert!(matches!(
            Codebook::new(vec![0.5], vec![0.0, f64::INFINITY], 1.0, 0.0, false),
            Err(CodebookError::NonFinite {
                field: "centers",
                index: 1,
                ..
            })
        ));
        assert!(matches!(
            Codebook::new(vec![0.5], vec![0.0, 1.0], 0.0, 0.0, false),
            Err(CodebookError::Scale(_))
        ));
        assert!(matches!(
            Codebook::new(vec![0.5], vec![0.0, 1.0], 1.0, -1.0, false),
            Err(CodebookError::WeightExponent(_))
        ));
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let cb = three_level();
        let json = serde_json::to_string(&cb).unwrap();
        let back: Codebook = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cb);
        let bad =
            r#"{"thresholds":[1.0,0.0],"centers":[0,1,2],"scale":1,"m":0,"zero_level":false}"#;
        let err = serde_json::from_str::<Codebook>(bad).unwrap_err();
        assert!(err.to_string().contains("strictly increasing"), "{err}");
    }
}
