//! The numerics crate stays free of the front ends' dependencies: its normal
//! dependency tree (what a library user compiles) holds no polars, plotters,
//! clap, toml or indicatif. `cargo tree` reads the lock file only (offline).

use std::process::Command;

#[test]
fn numerics_compile_without_io_plots_or_command_line_crates() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--package",
            "gradrd-core",
            "--edges",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).expect("UTF-8");
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"statrs"),
        "the tree lists gradrd-core's dependencies:\n{tree}"
    );
    for forbidden in ["polars", "plotters", "clap", "toml", "indicatif"] {
        assert!(
            !crates
                .iter()
                .any(|c| *c == forbidden || c.starts_with(&format!("{forbidden}-"))),
            "gradrd-core depends on {forbidden}:\n{tree}"
        );
    }
}
