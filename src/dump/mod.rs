//! Gradient dumps (STUB — filled by the dump implementation).
