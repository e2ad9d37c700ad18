//! `Dump::from_bytes` on a .safetensors file, then every tensor read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gradrd_fuzz::read_every_tensor("grads_step_7.safetensors", data);
});
