//! `report::spec::Spec::parse` on arbitrary text (the reader of
//! `gradrd run SPEC.toml`).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gradrd_report::spec::Spec::parse(text, Path::new("analyses/fuzz.toml"));
    }
});
