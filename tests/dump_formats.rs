//! Round trips: fixtures written by numpy / torch / safetensors / pyarrow
//! (scripts/make_fixtures.py) read back exactly. Each expected value is the
//! closed form the script used, quoted beside the check.

mod common;

use common::{assert_close, fixture};
use gradrd_io::dump::{DType, Dump, Summary, TensorMeta};

fn open(name: &str) -> Dump {
    Dump::open(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn tensor<'d>(dump: &'d Dump, name: &str) -> &'d TensorMeta {
    dump.tensors()
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no tensor {name} in {:?}", names(dump)))
}

fn names(dump: &Dump) -> Vec<String> {
    dump.tensors().iter().map(|t| t.name.clone()).collect()
}

/// Reads `name` and checks dtype, shape and every value against `expected(i)`
/// (i = C-order flat index); values are exactly representable, so the
/// tolerance is zero.
fn check(dump: &Dump, name: &str, dtype: DType, shape: &[u64], expected: impl Fn(usize) -> f64) {
    let t = tensor(dump, name);
    assert_eq!(t.dtype, dtype, "{name} dtype");
    assert_eq!(t.shape, shape, "{name} shape");
    let values = dump.read(t).unwrap();
    assert_eq!(values.len() as u64, t.len(), "{name} length");
    for (i, &v) in values.iter().enumerate() {
        assert_close(v, expected(i), 0.0, 0.0);
    }
    // summarize streams the raw bytes; it must agree with the decoded values
    let streamed = dump.summarize(t).unwrap();
    let from_values = Summary::of_values(&values);
    assert_eq!(
        (streamed.len, streamed.zeros, streamed.nan, streamed.inf),
        (
            from_values.len,
            from_values.zeros,
            from_values.nan,
            from_values.inf
        )
    );
    if from_values.len > 0 {
        assert_close(streamed.min, from_values.min, 0.0, 0.0);
        assert_close(streamed.max, from_values.max, 0.0, 0.0);
    }
}

#[test]
fn safetensors_all_float_dtypes_and_metadata_step() {
    let dump = open("st_mixed.safetensors");
    assert_eq!(
        names(&dump),
        [
            "layer1.brain",
            "layer1.half",
            "layer1.weight",
            "layer2.bias",
            "layer2.empty"
        ]
    );
    // the stem has no number, so __metadata__ {"step": "42"} gives the step
    assert!(dump.tensors().iter().all(|t| t.step == Some(42)));
    // torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) * 0.5 - 3
    check(&dump, "layer1.weight", DType::F32, &[2, 3, 4], |i| {
        i as f64 * 0.5 - 3.0
    });
    // (torch.arange(12).reshape(3, 4) * 0.25 - 1).to(torch.float16)
    check(&dump, "layer1.half", DType::F16, &[3, 4], |i| {
        i as f64 * 0.25 - 1.0
    });
    // (torch.arange(4) * 2 - 3).to(torch.bfloat16)
    check(&dump, "layer1.brain", DType::BF16, &[4], |i| {
        i as f64 * 2.0 - 3.0
    });
    // torch.arange(5, dtype=torch.float64) * 0.125 - 0.25
    check(&dump, "layer2.bias", DType::F64, &[5], |i| {
        i as f64 * 0.125 - 0.25
    });
    assert_eq!(dump.tensors()[0].dtype.to_string(), "BF16");
}

#[test]
fn empty_tensor_is_listed_and_reads_as_empty() {
    let dump = open("st_mixed.safetensors");
    let empty = tensor(&dump, "layer2.empty"); // torch.zeros((0, 3))
    assert_eq!(empty.shape, [0, 3]);
    assert_eq!(empty.len(), 0);
    assert!(dump.read(empty).unwrap().is_empty());
    let s = dump.summarize(empty).unwrap();
    assert_eq!(s.len, 0);
    assert!(s.min.is_nan() && s.max.is_nan());
}

#[test]
fn non_finite_values_are_returned_and_counted() {
    let dump = open("st_special.safetensors");
    let t = tensor(&dump, "special"); // np.array([0, -0, nan, inf, -inf, 1.5, -2.5], float32)
    let values = dump.read(t).unwrap();
    assert!(values[2].is_nan());
    assert_close(values[3], f64::INFINITY, 0.0, 0.0);
    assert_close(values[4], f64::NEG_INFINITY, 0.0, 0.0);
    let s = dump.summarize(t).unwrap();
    assert_eq!((s.len, s.zeros, s.nan, s.inf), (7, 2, 1, 2));
    assert_close(s.min, -2.5, 0.0, 0.0);
    assert_close(s.max, 1.5, 0.0, 0.0);
}

#[test]
fn npy_byte_orders_versions_and_fortran_order() {
    // np.arange(15, dtype="<f4").reshape(3, 5) * 0.5; name = stem, step = last number of the stem
    let dump = open("np_le_f4.npy");
    check(&dump, "np_le_f4", DType::F32, &[3, 5], |i| i as f64 * 0.5);
    assert_eq!(dump.tensors()[0].step, Some(4));
    // (np.arange(6, dtype=">f8") - 2.5).reshape(2, 3)
    check(
        &open("np_be_f8.npy"),
        "np_be_f8",
        DType::F64,
        &[2, 3],
        |i| i as f64 - 2.5,
    );
    // np.arange(4, dtype=">f4") * 0.25
    check(&open("np_be_f4.npy"), "np_be_f4", DType::F32, &[4], |i| {
        i as f64 * 0.25
    });
    // np.asfortranarray(np.arange(12, dtype="<f4").reshape(3, 4)): C-order value = flat index
    check(
        &open("np_fortran_f4.npy"),
        "np_fortran_f4",
        DType::F32,
        &[3, 4],
        |i| i as f64,
    );
    // ((np.arange(8) - 4) * 0.125).astype("<f2")
    check(&open("np_f2.npy"), "np_f2", DType::F16, &[8], |i| {
        (i as f64 - 4.0) * 0.125
    });
    // np.lib.format.write_array(f, np.arange(4, dtype="<f8").reshape(2, 2) + 1, version=(2, 0) / (3, 0))
    check(&open("np_v2.npy"), "np_v2", DType::F64, &[2, 2], |i| {
        i as f64 + 1.0
    });
    check(&open("np_v3.npy"), "np_v3", DType::F64, &[2, 2], |i| {
        i as f64 + 1.0
    });
    // np.array(7.5): shape (), one element
    check(&open("np_scalar.npy"), "np_scalar", DType::F64, &[], |_| {
        7.5
    });
}

#[test]
fn npz_stored_and_deflated() {
    for file in ["grads_step_000100.npz", "grads_compressed.npz"] {
        let dump = open(file);
        assert_eq!(names(&dump), ["conv.weight", "fc.bias"], "{file}");
        // np.arange(12, dtype=np.float32).reshape(2, 2, 3) * 0.5 - 1
        check(&dump, "conv.weight", DType::F32, &[2, 2, 3], |i| {
            i as f64 * 0.5 - 1.0
        });
        // np.arange(3, dtype=np.float64) - 1
        check(&dump, "fc.bias", DType::F64, &[3], |i| i as f64 - 1.0);
    }
    assert_eq!(open("grads_step_000100.npz").tensors()[0].step, Some(100));
    assert_eq!(open("grads_compressed.npz").tensors()[0].step, None);
}

#[test]
fn torch_state_dict_with_views_nesting_and_half_types() {
    let dump = open("model_state.pt");
    // "count": 3 is not a tensor and is ignored; nested dicts give dotted names
    assert_eq!(
        names(&dump),
        ["fc.weight", "nested.bf", "nested.half", "param", "view"]
    );
    // torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5
    check(&dump, "fc.weight", DType::F32, &[2, 3], |i| i as f64 * 0.5);
    // torch.arange(12, dtype=torch.float64).reshape(3, 4).t()[1:]: t[r][c] = 4 c + r + 1
    check(&dump, "view", DType::F64, &[3, 3], |i| {
        (4 * (i % 3) + i / 3 + 1) as f64
    });
    // (torch.arange(4) - 2).to(torch.bfloat16)
    check(&dump, "nested.bf", DType::BF16, &[4], |i| i as f64 - 2.0);
    // (torch.arange(4) * 0.25).to(torch.float16).reshape(2, 2)
    check(&dump, "nested.half", DType::F16, &[2, 2], |i| {
        i as f64 * 0.25
    });
    // torch.nn.Parameter(-torch.arange(3, dtype=torch.float32))
    check(&dump, "param", DType::F32, &[3], |i| -(i as f64));
}

#[test]
fn torch_bare_tensor_takes_the_file_stem() {
    // torch.save(torch.arange(4, dtype=torch.float32).reshape(2, 2) * 0.5 - 1, "bare_tensor.pt")
    check(
        &open("bare_tensor.pt"),
        "bare_tensor",
        DType::F32,
        &[2, 2],
        |i| i as f64 * 0.5 - 1.0,
    );
}

#[test]
fn long_tables_group_by_tensor_and_step() {
    // long_category.parquet: the same table with pandas' `category` tensor column.
    for file in ["long.parquet", "long.csv", "long_category.parquet"] {
        let dump = open(file);
        let keys: Vec<(String, Option<u64>)> = dump
            .tensors()
            .iter()
            .map(|t| (t.name.clone(), t.step))
            .collect();
        let expected =
            [("a", 1), ("b", 1), ("a", 2), ("b", 2)].map(|(n, s)| (n.to_string(), Some(s)));
        assert_eq!(keys, expected, "{file}");
        for t in dump.tensors() {
            let step = t.step.unwrap() as f64;
            let values = dump.read(t).unwrap();
            // tensor "a": step + i * 0.5 (3 values); tensor "b": -i (2 values)
            let expected: Vec<f64> = match t.name.as_str() {
                "a" => (0..3).map(|i| step + i as f64 * 0.5).collect(),
                _ => (0..2).map(|i| -(i as f64)).collect(),
            };
            assert_eq!(values.len(), expected.len());
            for (v, e) in values.iter().zip(expected) {
                assert_close(*v, e, 0.0, 0.0);
            }
            assert_eq!(t.dtype, DType::F64);
        }
    }
}

#[test]
fn long_table_without_step_column() {
    let dump = open("long_nostep.csv");
    assert!(dump.tensors().iter().all(|t| t.step.is_none()));
    // tensor x: [0.5, 1.5]; tensor y: [-2.0]
    check(&dump, "x", DType::F64, &[2], |i| [0.5, 1.5][i]);
    check(&dump, "y", DType::F64, &[1], |_| -2.0);
}

#[test]
fn wide_tables_one_column_per_tensor() {
    let parquet = open("wide_step_7.parquet");
    // pa.array([0.25, 0.5, 0.75], pa.float32()), pa.array([-1.0, 0.0, 1.0], pa.float64())
    check(&parquet, "w1", DType::F32, &[3], |i| {
        0.25 * (i as f64 + 1.0)
    });
    check(&parquet, "w2", DType::F64, &[3], |i| i as f64 - 1.0);
    assert!(parquet.tensors().iter().all(|t| t.step == Some(7)));
    let csv = open("wide_step_7.csv");
    check(&csv, "w1", DType::F64, &[3], |i| 0.25 * (i as f64 + 1.0));
    check(&csv, "w2", DType::F64, &[3], |i| i as f64 - 1.0);
}

mod npy_property {
    //! .npy files written here for random shapes, orders and byte orders (the
    //! writer follows NEP 1 independently of the reader) read back in C order.
    use super::*;
    use proptest::prelude::*;

    fn write_npy(shape: &[u64], fortran: bool, big_endian: bool, c_values: &[f64]) -> Vec<u8> {
        let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
        let tuple = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        let descr = if big_endian { ">f8" } else { "<f8" };
        let py_bool = if fortran { "True" } else { "False" };
        let header =
            format!("{{'descr': '{descr}', 'fortran_order': {py_bool}, 'shape': {tuple}, }}");
        let mut data = Vec::with_capacity(8 * c_values.len());
        // storage order: C, or Fortran (first axis fastest)
        let n = c_values.len();
        for k in 0..n {
            let c_index = if fortran {
                let (mut rest, mut idx) = (k as u64, 0u64);
                let mut c_strides = vec![1u64; shape.len()];
                for a in (0..shape.len().saturating_sub(1)).rev() {
                    c_strides[a] = c_strides[a + 1] * shape[a + 1];
                }
                for (a, &d) in shape.iter().enumerate() {
                    idx += (rest % d) * c_strides[a];
                    rest /= d;
                }
                idx as usize
            } else {
                k
            };
            let v = c_values[c_index];
            data.extend(if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            });
        }
        common::npy_bytes(&header, &data)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn npy_reads_back_in_c_order(shape in prop::collection::vec(1u64..5, 1..4), fortran: bool, big_endian: bool) {
            let n: u64 = shape.iter().product();
            let c_values: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 3.0).collect();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.npy");
            std::fs::write(&path, write_npy(&shape, fortran, big_endian, &c_values)).unwrap();
            let dump = Dump::open(&path).unwrap();
            let t = &dump.tensors()[0];
            prop_assert_eq!(&t.shape, &shape);
            let values = dump.read(t).unwrap();
            prop_assert_eq!(values.len(), c_values.len());
            for (v, e) in values.iter().zip(&c_values) {
                assert_close(*v, *e, 0.0, 0.0);
            }
        }
    }
}
