//! Where tensor bytes live and how they map to C (row-major) order.
//!
//! A tensor is `extent` elements of one [`Encoding`] starting at byte
//! `data_start` of a [`Source`]; the [`Layout`] turns them into C order:
//!
//! ```text
//! C:        out[i] = data[i]
//! Fortran:  out[(i_0, …, i_{n−1})] = data[Σ_k i_k · Π_{j<k} shape_j]
//! Strided:  out[(i_0, …, i_{n−1})] = data[offset + Σ_k i_k · stride_k]
//! ```

use std::sync::Arc;

use super::elements::Encoding;

/// The container a tensor's bytes are read from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// The file itself, memory-mapped (safetensors, .npy).
    Mapped,
    /// One entry of the file's zip archive (.npz, .pt).
    ZipEntry(super::zipped::ZipEntry),
    /// Values already decoded when the file was opened (tables).
    Memory(Arc<[f64]>),
    /// Pieces in other files, assembled on read (torch.distributed.checkpoint).
    Chunks(Arc<[super::dcp::Chunk]>),
    /// Per-rank pieces in other files, joined on read (recorder shards).
    Shards(Arc<[super::shards::Piece]>),
}

/// Element order of the stored data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Layout {
    C,
    Fortran,
    /// Element strides with a start offset, as in `torch.as_strided`.
    Strided {
        offset: u64,
        strides: Vec<u64>,
    },
}

/// Private locator of a tensor inside its file.
#[derive(Debug, Clone)]
pub(crate) struct Locator {
    pub source: Source,
    /// Byte offset of element 0 inside the source.
    pub data_start: u64,
    /// Number of stored elements to decode (≥ the tensor length for strided views).
    pub extent: u64,
    pub encoding: Encoding,
    pub layout: Layout,
}

impl Locator {
    /// Bytes to read from the source.
    pub(crate) fn byte_len(&self) -> Option<u64> {
        self.extent
            .checked_mul(self.encoding.dtype.size_in_bytes() as u64)
    }
}

/// Number of elements of `shape`, or `None` on overflow.
pub(crate) fn element_count(shape: &[u64]) -> Option<u64> {
    shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d))
}

/// Elements a strided view reaches: `offset + Σ (shape_k − 1) · stride_k + 1`,
/// 0 for an empty view, `None` on overflow.
pub(crate) fn strided_extent(shape: &[u64], offset: u64, strides: &[u64]) -> Option<u64> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape
        .iter()
        .zip(strides)
        .try_fold(offset, |reach, (&d, &s)| {
            reach.checked_add((d - 1).checked_mul(s)?)
        })?
        .checked_add(1)
}

/// Reorders `data` into C order. `None` if an index falls outside `data`
/// (which the readers rule out when they open a file).
pub(crate) fn to_c_order(data: Vec<f64>, shape: &[u64], layout: &Layout) -> Option<Vec<f64>> {
    match layout {
        Layout::C => Some(data),
        Layout::Fortran => {
            let mut strides = Vec::with_capacity(shape.len());
            let mut step = 1u64;
            for &d in shape {
                strides.push(step);
                step = step.checked_mul(d)?;
            }
            gather(&data, shape, 0, &strides)
        }
        Layout::Strided { offset, strides } => gather(&data, shape, *offset, strides),
    }
}

/// `out[idx] = data[offset + Σ idx_k · strides_k]` over `idx` in C order.
fn gather(data: &[f64], shape: &[u64], offset: u64, strides: &[u64]) -> Option<Vec<f64>> {
    let len = usize::try_from(element_count(shape)?).ok()?;
    if len == 0 {
        return Some(Vec::new());
    }
    if strides.len() != shape.len() {
        return None;
    }
    let mut out = Vec::with_capacity(len);
    let mut index = vec![0u64; shape.len()];
    let mut position = offset;
    for _ in 0..len {
        out.push(*data.get(usize::try_from(position).ok()?)?);
        // odometer increment over the last axis first
        for axis in (0..shape.len()).rev() {
            index[axis] += 1;
            position += strides[axis];
            if index[axis] < shape[axis] {
                break;
            }
            position -= strides[axis] * shape[axis];
            index[axis] = 0;
        }
    }
    Some(out)
}

/// Where a piece of a tensor sits: its start index and extent per dimension
/// (a DCP chunk, a rank's shard).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Region<'a> {
    pub offsets: &'a [u64],
    pub sizes: &'a [u64],
}

/// Every region inside `shape`, no two overlapping, and their volumes
/// adding up to the tensor's: an exact tiling.
pub(crate) fn check_tiling(shape: &[u64], regions: &[Region<'_>]) -> Result<(), String> {
    let mut volume = 0u64;
    for r in regions {
        if r.offsets.len() != shape.len() || r.sizes.len() != shape.len() {
            return Err(format!(
                "a chunk of rank {} in a tensor of rank {}",
                r.sizes.len(),
                shape.len()
            ));
        }
        let inside = r
            .offsets
            .iter()
            .zip(r.sizes)
            .zip(shape)
            .all(|((&o, &s), &d)| o.checked_add(s).is_some_and(|end| end <= d));
        if !inside {
            return Err(format!(
                "chunk at {:?} of size {:?} reaches outside the shape {shape:?}",
                r.offsets, r.sizes
            ));
        }
        volume = element_count(r.sizes)
            .and_then(|v| volume.checked_add(v))
            .ok_or("chunk volumes overflow")?;
    }
    for (i, a) in regions.iter().enumerate() {
        for b in &regions[i + 1..] {
            let overlap = (0..shape.len()).all(|k| {
                a.offsets[k] < b.offsets[k] + b.sizes[k] && b.offsets[k] < a.offsets[k] + a.sizes[k]
            });
            if overlap && !a.sizes.contains(&0) && !b.sizes.contains(&0) {
                return Err(format!(
                    "chunks at {:?} and {:?} overlap",
                    a.offsets, b.offsets
                ));
            }
        }
    }
    let total = element_count(shape).ok_or("element count overflows")?;
    if volume != total {
        return Err(format!("chunks cover {volume} of the {total} elements"));
    }
    Ok(())
}

/// Copies a piece's C-order `values` into `out` (the whole tensor of
/// `shape`, C order) at `region`, which [`check_tiling`] has checked.
pub(crate) fn place(out: &mut [f64], shape: &[u64], region: Region<'_>, values: &[f64]) {
    if values.is_empty() {
        return;
    }
    let rank = shape.len();
    if rank == 0 {
        out[0] = values[0];
        return;
    }
    // strides of the whole tensor
    let mut strides = vec![1usize; rank];
    for k in (0..rank - 1).rev() {
        strides[k] = strides[k + 1] * shape[k + 1] as usize;
    }
    let row = region.sizes[rank - 1] as usize;
    let mut index = vec![0u64; rank - 1];
    for source in values.chunks_exact(row) {
        let start: usize = (0..rank)
            .map(|k| {
                let i = if k < rank - 1 { index[k] } else { 0 };
                (region.offsets[k] + i) as usize * strides[k]
            })
            .sum();
        out[start..start + row].copy_from_slice(source);
        // next row index, C order over the leading dims
        for k in (0..rank - 1).rev() {
            index[k] += 1;
            if index[k] < region.sizes[k] {
                break;
            }
            index[k] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn region<'a>(offsets: &'a [u64], sizes: &'a [u64]) -> Region<'a> {
        Region { offsets, sizes }
    }

    #[test]
    fn tiling_is_exact() {
        let shape = [5, 3];
        assert!(check_tiling(
            &shape,
            &[region(&[0, 0], &[3, 3]), region(&[3, 0], &[2, 3])]
        )
        .is_ok());
        // a hole
        assert!(check_tiling(&shape, &[region(&[0, 0], &[3, 3])]).is_err());
        // overlap with the right volume
        assert!(check_tiling(
            &shape,
            &[
                region(&[0, 0], &[3, 3]),
                region(&[2, 0], &[2, 3]),
                region(&[4, 0], &[1, 3])
            ]
        )
        .is_err());
        // outside
        assert!(check_tiling(&shape, &[region(&[0, 0], &[6, 3])]).is_err());
    }

    #[test]
    fn pieces_are_placed_in_c_order() {
        // a 3x4 tensor, values 0..12, split into column blocks [0..2) and [2..4)
        let shape = [3u64, 4];
        let mut out = vec![f64::NAN; 12];
        place(
            &mut out,
            &shape,
            region(&[0, 0], &[3, 2]),
            &[0.0, 1.0, 4.0, 5.0, 8.0, 9.0],
        );
        place(
            &mut out,
            &shape,
            region(&[0, 2], &[3, 2]),
            &[2.0, 3.0, 6.0, 7.0, 10.0, 11.0],
        );
        let expected: Vec<f64> = (0..12).map(f64::from).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn fortran_order_transposes_a_matrix() {
        // numpy: np.asfortranarray(np.arange(6).reshape(2, 3)).ravel(order="K") == [0, 3, 1, 4, 2, 5]
        let stored = vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0];
        let c = to_c_order(stored, &[2, 3], &Layout::Fortran).unwrap();
        assert_eq!(c, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn strided_view_of_a_transposed_slice() {
        // torch: torch.arange(12.).reshape(3, 4).t()[1:] has offset 1, stride (1, 4), size (3, 3)
        let storage: Vec<f64> = (0..12).map(f64::from).collect();
        let layout = Layout::Strided {
            offset: 1,
            strides: vec![1, 4],
        };
        let c = to_c_order(storage, &[3, 3], &layout).unwrap();
        assert_eq!(c, vec![1.0, 5.0, 9.0, 2.0, 6.0, 10.0, 3.0, 7.0, 11.0]);
        assert_eq!(strided_extent(&[3, 3], 1, &[1, 4]), Some(12));
    }

    #[test]
    fn out_of_range_view_is_none_not_a_panic() {
        let layout = Layout::Strided {
            offset: 5,
            strides: vec![1],
        };
        assert!(to_c_order(vec![0.0; 4], &[2], &layout).is_none());
        assert_eq!(strided_extent(&[u64::MAX, 2], 0, &[u64::MAX, 1]), None);
    }

    proptest! {
        /// A strided view with C-contiguous strides is the identity, and the
        /// extent of any view bounds every index it gathers.
        #[test]
        fn contiguous_strides_are_identity(shape in prop::collection::vec(1u64..5, 1..4), offset in 0u64..3) {
            let mut strides = vec![1u64; shape.len()];
            for k in (0..shape.len() - 1).rev() {
                strides[k] = strides[k + 1] * shape[k + 1];
            }
            let extent = strided_extent(&shape, offset, &strides).unwrap();
            let data: Vec<f64> = (0..extent).map(|i| i as f64).collect();
            let layout = Layout::Strided { offset, strides };
            let out = to_c_order(data, &shape, &layout).unwrap();
            let expected: Vec<f64> = (offset..extent).map(|i| i as f64).collect();
            prop_assert_eq!(out, expected);
        }
    }
}
