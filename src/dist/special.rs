//! Special functions (STUB — filled by the dist implementation).
