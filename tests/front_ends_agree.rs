//! Each registry analysis gives the same numbers whichever front end runs
//! it: the subcommand's JSON and the report of a spec with the same
//! selection and options, on the shipped MLP dump.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn gradrd() -> Command {
    Command::cargo_bin("gradrd").expect("the gradrd binary is built")
}

fn digits() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits-mlp")
}

/// The JSON of `gradrd ARGS --format json`.
fn cli_json(args: &[&str]) -> Value {
    let output = gradrd()
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Renders a spec of one `[[analysis]]` entry (`body`) on the MLP dump with
/// the tensor selection `tensor`; returns the report folder.
fn report(dir: &Path, tensor: &str, body: &str) -> PathBuf {
    let spec = dir.join("agree.toml");
    let text = format!(
        "name = \"agree\"\ndump = \"{}\"\ntensor = '{tensor}'\n\n[[analysis]]\n{body}\n",
        digits().display()
    );
    std::fs::write(&spec, text).unwrap();
    let reports = dir.join("reports");
    let output = gradrd()
        .arg("run")
        .arg(&spec)
        .arg("--reports")
        .arg(&reports)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    reports.join("agree")
}

/// The rows of a report's CSV table, each as column → text.
fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// A report cell as a number (`–` when absent).
fn cell(row: &BTreeMap<String, String>, column: &str) -> Option<f64> {
    let text = &row[column];
    (text != "–").then(|| text.parse().unwrap_or_else(|_| panic!("{column}: {text}")))
}

/// The JSON of `gradrd COMMAND <digits> --tensor TENSOR ARGS` (`COMMAND`:
/// the words before the dump) and the rows of table `table` of a spec with
/// the same selection and entry `body`.
fn both_front_ends(
    command: &[&str],
    args: &[&str],
    tensor: &str,
    body: &str,
    table: &str,
) -> (Value, Vec<BTreeMap<String, String>>) {
    let dump = digits();
    let mut cli = command.to_vec();
    cli.extend([dump.to_str().unwrap(), "--tensor", tensor]);
    cli.extend(args);
    let json = cli_json(&cli);
    let dir = tempfile::tempdir().unwrap();
    let rows = csv_rows(&report(dir.path(), tensor, body).join(table));
    (json, rows)
}

#[test]
fn fit_subcommand_and_spec_give_the_same_fits() {
    let (json, rows) = both_front_ends(
        &["fit"],
        &["--steps", "100"],
        r"^fc[12]\.weight$",
        "kind = \"fit\"\nstep = 100",
        "01-fit.csv",
    );
    let mut compared = 0;
    for result in json["results"].as_array().unwrap() {
        let tensor = result["tensor"].as_str().unwrap();
        for fit in result["fits"].as_array().unwrap() {
            let family = fit["family"].as_str().unwrap();
            let row = rows
                .iter()
                .find(|r| r["tensor"] == tensor && r["family"] == family)
                .unwrap_or_else(|| panic!("the report has no row {tensor} {family}"));
            let params = &fit["params"];
            let shape = params
                .get("beta")
                .or(params.get("c"))
                .and_then(Value::as_f64);
            assert_eq!(cell(row, "shape"), shape, "{tensor} {family} shape");
            for (column, value) in [
                ("loc", &params["loc"]),
                ("scale", &params["scale"]),
                ("log-lik", &fit["loglik"]),
                ("AIC", &fit["aic"]),
                ("KS", &fit["ks"]),
                ("W2", &fit["w2"]),
            ] {
                assert_eq!(
                    cell(row, column),
                    value.as_f64(),
                    "{tensor} {family} {column}"
                );
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 8, "two tensors × four families");
    assert_eq!(rows.len(), 8);
}

#[test]
fn iid_subcommand_and_spec_give_the_same_pass_ratios() {
    // fc3.weight (640 entries) is too small for m = 3000: both front ends
    // keep its m = 100 results and leave the m = 3000 cells empty.
    let (json, rows) = both_front_ends(
        &["iid"],
        &["--sample-size", "100,3000", "--trials", "20", "--seed", "7"],
        r"weight$",
        "kind = \"iid\"\nsample_sizes = [100, 3000]\ntrials = 20\nseed = 7",
        "01-iid.csv",
    );
    let mut compared = 0;
    for result in json["results"].as_array().unwrap() {
        let tensor = result["tensor"].as_str().unwrap();
        for c in result["cells"].as_array().unwrap() {
            let test = match c["test"].as_str().unwrap() {
                "spearman" => "Spearman",
                "ks" => "KS",
                other => panic!("test {other}"),
            };
            let size = c["sample_size"].as_u64().unwrap().to_string();
            let row = rows
                .iter()
                .find(|r| r["test"] == test && r["sample size"] == size)
                .unwrap_or_else(|| panic!("no row {test} {size}"));
            assert_eq!(
                cell(row, tensor),
                c["pass_ratio"].as_f64(),
                "{tensor} {test} {size}"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 12, "three tensors × two tests × two sizes");
    let fc3_at_3000 = rows
        .iter()
        .find(|r| r["test"] == "KS" && r["sample size"] == "3000")
        .unwrap();
    assert_eq!(cell(fc3_at_3000, "fc3.weight"), None);
}

#[test]
fn evolve_subcommand_and_spec_give_the_same_rows() {
    let (json, rows) = both_front_ends(
        &["evolve"],
        &["--family", "gennorm,normal"],
        r"^fc[23]\.weight$",
        "kind = \"evolve\"\nfamilies = [\"gennorm\", \"normal\"]",
        "01-evolve.csv",
    );
    let json_rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), json_rows.len());
    assert!(
        rows.len() >= 8,
        "two tensors × two families × several steps"
    );
    for (row, expected) in rows.iter().zip(json_rows) {
        assert_eq!(row["tensor"], expected["tensor"].as_str().unwrap());
        assert_eq!(
            row["depth"],
            expected["depth"].as_u64().unwrap().to_string()
        );
        assert_eq!(row["step"], expected["step"].as_u64().unwrap().to_string());
        assert_eq!(row["family"], expected["family"].as_str().unwrap());
        for (column, key) in [
            ("shape", "shape"),
            ("scale", "scale"),
            ("excess kurtosis", "excess_kurtosis"),
            ("W2", "w2"),
        ] {
            assert_eq!(
                cell(row, column),
                expected[key].as_f64(),
                "{row:?} {column}"
            );
        }
    }
}

#[test]
fn rd_subcommand_and_spec_give_the_same_gaps() {
    let (json, rows) = both_front_ends(
        &["rd", "--from"],
        &[
            "--steps",
            "100",
            "--bits",
            "2,3",
            "--quantizers",
            "m22,uniform-opt",
            "--cells",
            "128",
            "--points",
            "6",
        ],
        r"^fc2\.weight$",
        "kind = \"rd\"\nstep = 100\nbits = [2, 3]\nquantizers = [\"m22\", \"uniform-opt\"]\ncells = 128\npoints = 6",
        "01-rd_gaps.csv",
    );
    assert_eq!(json["tensor"], "fc2.weight");
    let quantizers = json["quantizers"].as_array().unwrap();
    assert_eq!(quantizers.len(), 4, "two quantizers × two rates");
    assert_eq!(rows.len(), quantizers.len());
    for (row, q) in rows.iter().zip(quantizers) {
        assert_eq!(row["tensor"], "fc2.weight");
        assert_eq!(row["quantizer"], q["name"].as_str().unwrap());
        for (column, key) in [
            ("nominal bits", "bits"),
            ("coded bits", "coded_bits"),
            ("distortion", "distortion"),
            ("gap (bits)", "gap_bits"),
            ("gap (dB)", "gap_db"),
        ] {
            assert_eq!(cell(row, column), q[key].as_f64(), "{row:?} {column}");
        }
    }
}

#[test]
fn budget_subcommand_and_spec_give_the_same_budgets() {
    let args = ["--k", "0.01", "--bits-per-entry", "3", "--max-bits", "6"];
    let tensor = r"weight$";
    let (json, rows) = both_front_ends(
        &["budget"],
        &args,
        tensor,
        "kind = \"budget\"\nk = [0.01]\nbits_per_entry = []",
        "01-threshold_vs_topk.csv",
    );
    let s = &json["sparsity"];
    let [row] = &rows[..] else {
        panic!("one fraction, one row: {rows:?}")
    };
    assert_eq!(row["budget (entries)"], s["budget_entries"].to_string());
    assert_eq!(row["threshold sent"], s["threshold"]["sent"].to_string());
    for (column, value) in [
        ("k", &s["k"]),
        ("top-k error", &s["topk"]["total_error"]),
        ("λ", &s["threshold"]["lambda"]),
        ("threshold error", &s["threshold"]["total_error"]),
        ("ratio", &s["error_ratio"]),
    ] {
        assert_eq!(cell(row, column), value.as_f64(), "{column}");
    }

    let (json, rows) = both_front_ends(
        &["budget"],
        &args,
        tensor,
        "kind = \"budget\"\nk = []\nbits_per_entry = [3]\nmax_bits = 6",
        "01-bit_allocation.csv",
    );
    let a = &json["allocation"];
    let tensors = a["tensors"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        tensors.len() + 2,
        "a row per tensor, Σ n·D, gain"
    );
    for (row, t) in rows.iter().zip(tensors) {
        assert_eq!(row["tensor"], t["tensor"].as_str().unwrap());
        assert_eq!(row["entries"], t["n"].to_string());
        assert_eq!(row["3 bits/entry"], t["bits"].to_string());
    }
    let total = &rows[tensors.len()];
    assert_eq!(total["tensor"], "Σ n·D");
    assert_eq!(cell(total, "3 bits/entry"), a["total_distortion"].as_f64());
    let gain = &rows[tensors.len() + 1];
    assert_eq!(cell(gain, "3 bits/entry"), a["gain_db"].as_f64());
}

#[test]
fn ef_subcommand_and_spec_give_the_same_replay() {
    for (flags, entry) in [
        (
            &["--k", "0.01", "--feedback", "full"][..],
            "kind = \"ef\"\nk = [0.01]\nfeedback = [\"full\"]",
        ),
        (
            &["--k", "0.05", "--feedback", "decay", "--gamma", "0.8"][..],
            "kind = \"ef\"\nk = [0.05]\nfeedback = [\"decay\"]\ngamma = 0.8",
        ),
    ] {
        let (json, rows) = both_front_ends(&["ef"], flags, r"weight$", entry, "01-ef.csv");
        let [row] = &rows[..] else {
            panic!("one fraction, one feedback, one row: {rows:?}")
        };
        assert_eq!(row["feedback"], json["feedback"]);
        assert_eq!(row["entries sent"], json["total_sent"].to_string());
        for (column, key) in [
            ("k", &json["parameters"]["k"]),
            ("bits", &json["total_bits"]),
            ("reduction", &json["reduction"]),
            ("total error", &json["total_error"]),
            ("final residual", &json["final_residual_norm"]),
        ] {
            assert_eq!(cell(row, column), key.as_f64(), "{flags:?}: {column}");
        }
    }
}
