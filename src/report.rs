//! Per-tensor analysis results (STUB).
