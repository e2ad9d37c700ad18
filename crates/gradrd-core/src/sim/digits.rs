//! The data set of the federated simulator: scikit-learn's digits (1797 8×8
//! images, pixels 0..16, labels 0..9; the test part of the UCI "Optical
//! Recognition of Handwritten Digits" data set, provenance and license in
//! data/README.md), shipped as
//! `data/digits/digits.csv` (written by `scripts/make_digits_csv.py`) and
//! embedded in the library. Pixels are divided by 16, so inputs lie in
//! [0, 1]. The train/test split is stratified: per class, a seeded shuffle
//! puts `⌊test_fraction · count⌉` images in the test set.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_pcg::Pcg64;

use super::mlp::Batch;
use super::SimError;

const DIGITS_CSV: &str = include_str!("../../../../data/digits/digits.csv");

/// Labelled inputs, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub input: usize,
    pub classes: usize,
    pub features: Vec<f64>,
    pub labels: Vec<u8>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn batch(&self) -> Batch<'_> {
        Batch {
            features: &self.features,
            labels: &self.labels,
        }
    }

    /// The samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut features = Vec::with_capacity(indices.len() * self.input);
        for &i in indices {
            features.extend_from_slice(&self.features[i * self.input..(i + 1) * self.input]);
        }
        Dataset {
            input: self.input,
            classes: self.classes,
            features,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// A stratified split into (train, test).
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Dataset, Dataset) {
        let mut rng = Pcg64::seed_from_u64(seed);
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for class in 0..self.classes {
            let mut members: Vec<usize> = (0..self.len())
                .filter(|&i| self.labels[i] as usize == class)
                .collect();
            members.shuffle(&mut rng);
            let cut = (test_fraction * members.len() as f64).round() as usize;
            test.extend_from_slice(&members[..cut]);
            train.extend_from_slice(&members[cut..]);
        }
        train.sort_unstable();
        test.sort_unstable();
        (self.subset(&train), self.subset(&test))
    }
}

/// The embedded digits data set.
pub fn digits() -> Result<Dataset, SimError> {
    parse_csv(DIGITS_CSV, 64, 10)
}

/// A CSV with a header line and rows of `input` pixel values (0..16) and a
/// label below `classes`.
pub fn parse_csv(text: &str, input: usize, classes: usize) -> Result<Dataset, SimError> {
    let bad = |line: usize, reason: String| SimError::Data { line, reason };
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (index, row) in text.lines().enumerate().skip(1) {
        let line = index + 1;
        let cells: Vec<&str> = row.split(',').collect();
        if cells.len() != input + 1 {
            return Err(bad(
                line,
                format!("{} fields, expected {}", cells.len(), input + 1),
            ));
        }
        for cell in &cells[..input] {
            let pixel: f64 = cell
                .trim()
                .parse()
                .map_err(|_| bad(line, format!("pixel '{cell}' is not a number")))?;
            if !(0.0..=16.0).contains(&pixel) {
                return Err(bad(line, format!("pixel {pixel} is outside 0..16")));
            }
            features.push(pixel / 16.0);
        }
        let label: u8 = cells[input]
            .trim()
            .parse()
            .ok()
            .filter(|&l: &u8| (l as usize) < classes)
            .ok_or_else(|| {
                bad(
                    line,
                    format!("label '{}' is not below {classes}", cells[input]),
                )
            })?;
        labels.push(label);
    }
    Ok(Dataset {
        input,
        classes,
        features,
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_has_the_scikit_learn_shape_and_counts() {
        let data = digits().unwrap();
        assert_eq!(data.len(), 1797);
        assert_eq!(data.features.len(), 1797 * 64);
        // python3 -c "from sklearn.datasets import load_digits; import numpy as np;
        //   d = load_digits(); print(np.bincount(d.target).tolist(), d.data.sum())"
        // -> [178, 182, 177, 183, 181, 182, 181, 179, 174, 180] 561718.0
        let mut counts = [0usize; 10];
        for &l in &data.labels {
            counts[l as usize] += 1;
        }
        assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
        let pixel_sum: f64 = data.features.iter().sum::<f64>() * 16.0;
        gradrd_testkit::assert_close(pixel_sum, 561718.0, 1e-12, 0.0);
    }

    #[test]
    fn stratified_split_partitions_the_samples() {
        let data = digits().unwrap();
        let (train, test) = data.split(0.2, 0);
        assert_eq!(train.len() + test.len(), 1797);
        // Σ_class round(0.2 · count) = 359
        assert_eq!(test.len(), 359);
    }

    #[test]
    fn malformed_rows_name_their_line() {
        let err = parse_csv("h\n1,2,3\n1,x,3\n", 2, 10).unwrap_err();
        assert_eq!(
            err.to_string(),
            "digits data, line 3: pixel 'x' is not a number"
        );
        let err = parse_csv("h\n1,2\n", 2, 10).unwrap_err();
        assert_eq!(err.to_string(), "digits data, line 2: 2 fields, expected 3");
        let err = parse_csv("h\n1,2,10\n", 2, 10).unwrap_err();
        assert!(err.to_string().contains("label '10'"), "{err}");
    }
}
