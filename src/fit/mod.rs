//! Maximum-likelihood fits (STUB — filled by the fit implementation).
