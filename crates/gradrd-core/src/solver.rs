//! Why an iterative solver stopped: one [`TerminationReason`] for the
//! Lloyd-Max designs ([`crate::quant::lloyd`], [`crate::quant::empirical`]),
//! Blahut–Arimoto ([`crate::quant::rd`]) and the maximum-likelihood fits
//! ([`crate::fit`]: the safeguarded Newton solves of the shape, the location
//! rounds and argmin's Brent search).
//!
//! Modelled on argmin's `argmin::core::TerminationReason` (argmin 0.11:
//! `SolverConverged`, `MaxItersReached`, `SolverExit`, …), with the reasons
//! these solvers produce. Stopping is a result, not an error: a solver that
//! ran out of iterations still reports its last point, and says so. In JSON
//! a reason is `"converged"`, `"max_iterations"`, `"not_improving"` or
//! `"solver_exit"`; where a result schema has a boolean `converged`, it is
//! [`TerminationReason::converged`].

use serde::{Deserialize, Serialize};

/// Why an iterative solver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TerminationReason {
    /// The solver's convergence test held: Lloyd-Max centers moved at most
    /// `tolerance · max_i |c_i|` (or no sample changed cell), Blahut's
    /// bracket fell below the tolerance, a Newton step or bracket fell below
    /// `tol · s`, Brent's interval closed, or a closed form.
    #[serde(rename = "converged")]
    SolverConverged,
    /// The iteration limit was reached first; the last point is reported.
    #[serde(rename = "max_iterations")]
    MaxItersReached,
    /// The best step left gained no more than a negligible amount (a fit's
    /// location rounds): a local optimum to the solver's resolution, counted
    /// as converged.
    #[serde(rename = "not_improving")]
    NotImproving,
    /// The solver ended otherwise (an argmin run that failed or stopped for
    /// a reason other than convergence or its iteration limit); not
    /// converged.
    #[serde(rename = "solver_exit")]
    SolverExit,
}

impl TerminationReason {
    /// Whether the result is a solution to the solver's tolerance
    /// ([`Self::SolverConverged`] or [`Self::NotImproving`]).
    pub fn converged(self) -> bool {
        matches!(self, Self::SolverConverged | Self::NotImproving)
    }

    /// The reason of a result that needed this solve and then `next`: the
    /// first that did not converge, else `next`.
    pub fn and(self, next: Self) -> Self {
        if self.converged() {
            next
        } else {
            self
        }
    }

    /// The reason of an argmin run that ended with `reason`.
    pub fn from_argmin(reason: Option<&argmin::core::TerminationReason>) -> Self {
        match reason {
            Some(argmin::core::TerminationReason::SolverConverged) => Self::SolverConverged,
            Some(argmin::core::TerminationReason::MaxItersReached) => Self::MaxItersReached,
            _ => Self::SolverExit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TerminationReason::{self, *};

    #[test]
    fn serialized_names_and_convergence() {
        let all = [SolverConverged, MaxItersReached, NotImproving, SolverExit];
        let names = all.map(|r| serde_json::to_string(&r).unwrap());
        assert_eq!(
            names,
            [
                "\"converged\"",
                "\"max_iterations\"",
                "\"not_improving\"",
                "\"solver_exit\""
            ]
        );
        for (reason, name) in all.iter().zip(&names) {
            assert_eq!(
                serde_json::from_str::<TerminationReason>(name).unwrap(),
                *reason
            );
        }
        assert_eq!(
            all.map(TerminationReason::converged),
            [true, false, true, false]
        );
        // the first solve that did not converge decides
        assert_eq!(NotImproving.and(MaxItersReached), MaxItersReached);
        assert_eq!(SolverExit.and(SolverConverged), SolverExit);
        assert_eq!(SolverConverged.and(NotImproving), NotImproving);
        let argmin_reason = argmin::core::TerminationReason::SolverConverged;
        assert_eq!(
            TerminationReason::from_argmin(Some(&argmin_reason)),
            SolverConverged
        );
        assert_eq!(TerminationReason::from_argmin(None), SolverExit);
    }
}
