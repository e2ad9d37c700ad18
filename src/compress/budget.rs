//! Total-error budgets (in progress).
