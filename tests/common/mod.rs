//! Shared helpers for the binary's integration tests (fixtures, runs of
//! the `gradrd` binary); the tolerance policy is `gradrd_testkit`'s.
#![allow(dead_code)]

#[allow(unused_imports)]
pub use gradrd_testkit::assert_close;

/// Path of a file under `tests/fixtures/`.
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Runs the gradrd binary with `args`, expecting exit code 2, empty stdout
/// and no panic; returns stderr.
#[track_caller]
pub fn fails_with_2(args: &[&str]) -> String {
    let out = assert_cmd::Command::cargo_bin("gradrd")
        .expect("the gradrd binary is built")
        .args(args)
        .output()
        .expect("gradrd runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(2),
        "args {args:?}, stderr: {stderr}"
    );
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// A version 1.0 .npy file: `header` (the dict literal) padded as numpy
/// pads it, then `data`.
pub fn npy_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut header = header.to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

/// A safetensors file: the header's length, the header, then `data`.
pub fn safetensors_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

/// Address space [`gradrd_limited`] lets the binary use, in KiB (`ulimit -v`):
/// an allocation the size of a hostile file's claim aborts it instead.
pub const ADDRESS_SPACE_KIB: u64 = 1 << 20;

/// What a run of the gradrd binary did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: std::time::Duration,
}

/// Runs the gradrd binary with `args` under [`ADDRESS_SPACE_KIB`].
pub fn gradrd_limited(args: &[&str]) -> Run {
    let binary = assert_cmd::cargo::cargo_bin("gradrd");
    let started = std::time::Instant::now();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(binary)
        .args(args)
        .output()
        .expect("sh runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}
