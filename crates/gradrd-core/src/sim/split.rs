//! Non-IID partitions of a training set over clients, each a partition in
//! the strict sense (every sample goes to exactly one client):
//!
//! ```text
//! iid         a seeded shuffle dealt round-robin
//! label-skew  the shards of McMahan et al. (AISTATS 2017): samples sorted by
//!             label (shuffled within a label), cut into clients · c shards of
//!             near-equal size, shards dealt at random, c per client; a client
//!             sees about c classes (a shard can straddle two)
//! dirichlet   per class, proportions q ~ Dir(α, …, α) over the clients
//!             (Hsu, Qi & Brown, arXiv:1909.06335, 2019); the class's shuffled
//!             samples are cut at round(n_c · cumsum(q)). Small α: few classes
//!             per client; large α: close to iid. A client can get no samples.
//! ```

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_distr::{Distribution, Gamma};
use rand_pcg::Pcg64;
use serde::Serialize;

use super::SimError;

/// How samples are spread over clients.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Split {
    Iid,
    LabelSkew { classes_per_client: usize },
    Dirichlet { alpha: f64 },
}

/// The sample indices of each client (ascending).
pub fn partition(
    labels: &[u8],
    classes: usize,
    clients: usize,
    split: Split,
    seed: u64,
) -> Result<Vec<Vec<usize>>, SimError> {
    if clients == 0 {
        return Err(SimError::Zero { field: "clients" });
    }
    let mut rng = Pcg64::seed_from_u64(seed);
    let mut parts = vec![Vec::new(); clients];
    match split {
        Split::Iid => {
            let mut order: Vec<usize> = (0..labels.len()).collect();
            order.shuffle(&mut rng);
            for (i, sample) in order.into_iter().enumerate() {
                parts[i % clients].push(sample);
            }
        }
        Split::LabelSkew { classes_per_client } => {
            if !(1..=classes).contains(&classes_per_client) {
                return Err(SimError::ClassesPerClient {
                    value: classes_per_client,
                    classes,
                });
            }
            let mut order: Vec<usize> = (0..labels.len()).collect();
            order.shuffle(&mut rng);
            order.sort_by_key(|&i| labels[i]); // stable: shuffled within a label
            let shards = clients * classes_per_client;
            let mut shard_order: Vec<usize> = (0..shards).collect();
            shard_order.shuffle(&mut rng);
            let n = order.len();
            for (position, &shard) in shard_order.iter().enumerate() {
                let range = shard * n / shards..(shard + 1) * n / shards;
                parts[position / classes_per_client].extend_from_slice(&order[range]);
            }
        }
        Split::Dirichlet { alpha } => {
            let gamma = Gamma::new(alpha, 1.0)
                .ok()
                .filter(|_| alpha.is_finite() && alpha > 0.0)
                .ok_or(SimError::NotPositive {
                    field: "alpha",
                    value: alpha,
                })?;
            for class in 0..classes {
                let mut members: Vec<usize> = (0..labels.len())
                    .filter(|&i| labels[i] as usize == class)
                    .collect();
                members.shuffle(&mut rng);
                let draws: Vec<f64> = (0..clients).map(|_| gamma.sample(&mut rng)).collect();
                let total: f64 = draws.iter().sum();
                let n = members.len() as f64;
                let mut start = 0;
                let mut cumulative = 0.0;
                for (c, draw) in draws.iter().enumerate() {
                    cumulative += draw;
                    let end = if c + 1 == clients || total <= 0.0 {
                        members.len()
                    } else {
                        ((n * cumulative / total).round() as usize).clamp(start, members.len())
                    };
                    parts[c].extend_from_slice(&members[start..end]);
                    start = end;
                }
            }
        }
    }
    for part in &mut parts {
        part.sort_unstable();
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels(n: usize, classes: u8) -> Vec<u8> {
        (0..n)
            .map(|i| ((i * 7 + i / 3) % classes as usize) as u8)
            .collect()
    }

    fn assert_partition(parts: &[Vec<usize>], n: usize) {
        let mut seen = vec![0u32; n];
        for part in parts {
            for &i in part {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1), "not a partition");
    }

    proptest! {
        #[test]
        fn every_split_covers_each_sample_exactly_once(
            n in 1usize..400,
            clients in 1usize..20,
            per_client in 1usize..=10,
            alpha in 0.01f64..100.0,
            seed in any::<u64>(),
        ) {
            let labels = labels(n, 10);
            for split in [
                Split::Iid,
                Split::LabelSkew { classes_per_client: per_client },
                Split::Dirichlet { alpha },
            ] {
                let parts = partition(&labels, 10, clients, split, seed).unwrap();
                prop_assert_eq!(parts.len(), clients);
                assert_partition(&parts, n);
            }
        }
    }

    #[test]
    fn label_skew_gives_few_classes_per_client() {
        let labels: Vec<u8> = (0..1000).map(|i| (i % 10) as u8).collect();
        let parts = partition(
            &labels,
            10,
            10,
            Split::LabelSkew {
                classes_per_client: 2,
            },
            1,
        )
        .unwrap();
        for part in &parts {
            let mut classes: Vec<u8> = part.iter().map(|&i| labels[i]).collect();
            classes.sort_unstable();
            classes.dedup();
            // 100 samples per class and shards of 50: two shards touch at most 2 classes
            assert!(classes.len() <= 2, "{classes:?}");
        }
    }

    #[test]
    fn bad_settings_are_errors() {
        let labels = labels(10, 10);
        assert_eq!(
            partition(&labels, 10, 0, Split::Iid, 0),
            Err(SimError::Zero { field: "clients" })
        );
        assert!(partition(
            &labels,
            10,
            2,
            Split::LabelSkew {
                classes_per_client: 11
            },
            0
        )
        .is_err());
        assert!(partition(&labels, 10, 2, Split::Dirichlet { alpha: 0.0 }, 0).is_err());
        assert!(partition(&labels, 10, 2, Split::Dirichlet { alpha: f64::NAN }, 0).is_err());
    }
}
