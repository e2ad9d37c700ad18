//! `Dump::from_bytes` on a .parquet file, then every tensor read. Panics inside
//! polars are allowed to reach the library's `catch_unwind` (see
//! `let_the_library_catch_polars_panics`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: gradrd_fuzz::let_the_library_catch_polars_panics(),
    |data: &[u8]| {
        gradrd_fuzz::read_every_tensor("grads_step_7.parquet", data);
    }
);
