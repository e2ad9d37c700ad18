//! `quant::export::parse_codebooks` on arbitrary text (the reader of
//! `gradrd quantize --codebook` and `gradrd ef --codebook`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gradrd_core::quant::export::parse_codebooks(text);
    }
});
