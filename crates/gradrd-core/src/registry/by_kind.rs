//! Analyses named at run time: the kind as a string and the options as
//! JSON, the output as JSON — how the Python package (and any front end
//! that is handed a kind by its user) reaches every entry of the registry
//! through one call. The options are deserialized exactly as a spec table
//! is (unknown keys rejected, the rest defaulted), then validated.
//!
//! ```
//! use gradrd_core::dtype::DType;
//! use gradrd_core::registry::{by_kind, source::InMemory, Silent};
//!
//! let mut source = InMemory::new("memory");
//! source.push("w", None, DType::F32, vec![4], vec![-1.0, -0.5, 0.5, 1.0]);
//! let options = serde_json::json!({"families": ["normal"], "goodness_of_fit": false});
//! let output = by_kind::run("fit", &options, &source, &mut Silent).unwrap();
//! assert_eq!(output["schema"], "gradrd.fit/1");
//! // the normal MLE: the mean, and the root mean square deviation
//! let params = &output["results"][0]["fits"][0]["params"];
//! assert_eq!(params["loc"], 0.0);
//! assert!((params["scale"].as_f64().unwrap() - 0.625f64.sqrt()).abs() < 1e-12);
//! let unknown = by_kind::run("fit", &serde_json::json!({"famlies": []}), &source, &mut Silent);
//! assert!(unknown.unwrap_err().to_string().contains("unknown field `famlies`"));
//! ```

use serde_json::Value;

use super::{
    budget::Budget, compare::Compare, cost::Cost, dp::Dp, ef::Ef, evolve::Evolve, fit::Fit,
    iid::Iid, rd::Rd, stale::Stale, Analysis, AnalysisError, Observer, OptionError, Source,
    Validate,
};

/// Every kind of the registry, in the order of its table.
pub const KINDS: &[&str] = &[
    Fit::KIND,
    Iid::KIND,
    Evolve::KIND,
    Compare::KIND,
    Dp::KIND,
    Rd::KIND,
    Budget::KIND,
    Ef::KIND,
    Stale::KIND,
    Cost::KIND,
];

/// Runs the analysis `kind` with `options` (a JSON object of its option
/// fields; `{}` for the defaults) over `source`.
///
/// Errors: an unknown kind or unusable options ([`AnalysisError::Options`],
/// naming the field), or what the analysis itself refuses.
pub fn run(
    kind: &str,
    options: &Value,
    source: &dyn Source,
    observer: &mut dyn Observer,
) -> Result<Value, AnalysisError> {
    match kind {
        Fit::KIND => run_as::<Fit>(options, source, observer),
        Iid::KIND => run_as::<Iid>(options, source, observer),
        Evolve::KIND => run_as::<Evolve>(options, source, observer),
        Compare::KIND => run_as::<Compare>(options, source, observer),
        Dp::KIND => run_as::<Dp>(options, source, observer),
        Rd::KIND => run_as::<Rd>(options, source, observer),
        Budget::KIND => run_as::<Budget>(options, source, observer),
        Ef::KIND => run_as::<Ef>(options, source, observer),
        Stale::KIND => run_as::<Stale>(options, source, observer),
        Cost::KIND => run_as::<Cost>(options, source, observer),
        other => Err(AnalysisError::Options(OptionError::new(
            "kind",
            format!("unknown analysis '{other}' (known: {})", KINDS.join(", ")),
        ))),
    }
}

/// The options of `A` from JSON, validated; an error names the field
/// (`families[1]: unknown variant …`).
pub fn options<A: Analysis>(options: &Value) -> Result<A::Options, OptionError> {
    let parsed: A::Options = serde_path_to_error::deserialize(options).map_err(|error| {
        let path = error.path().to_string();
        let cause = error.into_inner();
        if path == "." {
            OptionError::new("options", cause.to_string())
        } else {
            OptionError::new("options", format!("{path}: {cause}"))
        }
    })?;
    parsed.validate()?;
    Ok(parsed)
}

fn run_as<A: Analysis>(
    options: &Value,
    source: &dyn Source,
    observer: &mut dyn Observer,
) -> Result<Value, AnalysisError> {
    let options = self::options::<A>(options).map_err(AnalysisError::Options)?;
    let output = A::run(&options, source, observer)?;
    serde_json::to_value(&output)
        .map_err(|error| AnalysisError::unusable(format!("{}: {error}", A::SCHEMA)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::registry::source::InMemory;
    use crate::registry::Silent;
    use serde_json::json;

    /// The `i / 1000` quantile of the standard Laplace distribution.
    fn laplace_quantile(i: i32) -> f64 {
        let u = f64::from(i) / 1000.0;
        if u < 0.5 {
            (2.0 * u).ln()
        } else {
            -(2.0 * (1.0 - u)).ln()
        }
    }

    fn laplace_source() -> InMemory {
        let values: Vec<f64> = (1..=999).map(laplace_quantile).collect();
        let mut source = InMemory::new("memory");
        source.push("w", Some(0), DType::F64, vec![999], values);
        source
    }

    #[test]
    fn a_kind_by_name_gives_the_typed_output() {
        let source = laplace_source();
        let options = json!({
            "families": ["laplace"],
            "zeros": "keep",
            "goodness_of_fit": false,
        });
        let by_name = run("fit", &options, &source, &mut Silent).unwrap();
        let typed = Fit::run(
            &super::options::<Fit>(&options).unwrap(),
            &source,
            &mut Silent,
        )
        .unwrap();
        assert_eq!(by_name, serde_json::to_value(&typed).unwrap());
        assert_eq!(by_name["schema"], "gradrd.fit/1");
        // the Laplace MLE of the scale is the mean absolute deviation from
        // the median (the middle quantile, exactly 0): mean |quantile| over
        // the 999 points, the zero kept
        let mean_abs = (1..=999).map(|i| laplace_quantile(i).abs()).sum::<f64>() / 999.0;
        let scale = by_name["results"][0]["fits"][0]["params"]["scale"]
            .as_f64()
            .unwrap();
        assert!(
            (scale - mean_abs).abs() < 1e-9 * mean_abs,
            "{scale} vs {mean_abs}"
        );
    }

    #[test]
    fn unknown_kinds_and_keys_name_what_is_wrong() {
        let source = laplace_source();
        let Err(AnalysisError::Options(error)) = run("fits", &json!({}), &source, &mut Silent)
        else {
            panic!("an unknown kind must be refused")
        };
        assert_eq!(error.field, "kind");
        assert!(error
            .message
            .contains("fit, iid, evolve, compare, dp, rd, budget, ef"));
        let Err(AnalysisError::Options(error)) =
            run("fit", &json!({ "familes": [] }), &source, &mut Silent)
        else {
            panic!("an unknown key must be refused")
        };
        assert!(error.message.contains("familes"), "{error}");
        let Err(AnalysisError::Options(error)) = run(
            "fit",
            &json!({ "families": ["laplace", "cauchy"] }),
            &source,
            &mut Silent,
        ) else {
            panic!("an unknown family must be refused")
        };
        assert!(error.message.starts_with("families[1]: "), "{error}");
    }
}
