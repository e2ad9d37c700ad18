//! Statistics (STUB — filled by the stats implementation).
