//! Tensor and step selection flags shared by the commands that read dumps.

use clap::Args;
use gradrd::dump::{Selection, StepRange};

#[derive(Debug, Clone, Args)]
pub struct SelectionArgs {
    /// Only tensors whose name matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub tensor: Option<String>,
    /// Only these steps: N, A..B (inclusive), A.. or ..B.
    #[arg(long, visible_alias = "step", value_name = "RANGE")]
    pub steps: Option<StepRange>,
}

impl SelectionArgs {
    pub fn to_selection(&self) -> anyhow::Result<Selection> {
        let tensor = self
            .tensor
            .as_deref()
            .map(gradrd::dump::tensor_regex)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--tensor {e}"))?;
        Ok(Selection {
            tensor,
            steps: self.steps.clone(),
        })
    }
}
