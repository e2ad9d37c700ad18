//! STUB — to be replaced by the dist implementation.
use super::{ContinuousDist, FamilyKind, ParamError};
use rand::RngCore;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normal {
    loc: f64,
    scale: f64,
}

impl Normal {
    pub fn new(loc: f64, scale: f64) -> Result<Self, ParamError> {
        let loc = super::finite("loc", loc)?;
        let scale = super::positive("scale", scale)?;
        Ok(Self { loc, scale })
    }
}

impl ContinuousDist for Normal {
    fn kind(&self) -> FamilyKind {
        FamilyKind::Normal
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        vec![("loc", self.loc), ("scale", self.scale)]
    }
    fn loc(&self) -> f64 {
        self.loc
    }
    fn scale(&self) -> f64 {
        self.scale
    }
    fn pdf(&self, _x: f64) -> f64 {
        unimplemented!()
    }
    fn ln_pdf(&self, _x: f64) -> f64 {
        unimplemented!()
    }
    fn cdf(&self, _x: f64) -> f64 {
        unimplemented!()
    }
    fn sf(&self, _x: f64) -> f64 {
        unimplemented!()
    }
    fn quantile(&self, _p: f64) -> f64 {
        unimplemented!()
    }
    fn abs_moment_between(&self, _k: f64, _a: f64, _b: f64) -> f64 {
        unimplemented!()
    }
    fn signed_moment_between(&self, _k: f64, _a: f64, _b: f64) -> f64 {
        unimplemented!()
    }
    fn variance(&self) -> f64 {
        unimplemented!()
    }
    fn excess_kurtosis(&self) -> f64 {
        unimplemented!()
    }
    fn entropy(&self) -> f64 {
        unimplemented!()
    }
    fn sample(&self, _rng: &mut dyn RngCore, _n: usize) -> Vec<f64> {
        unimplemented!()
    }
}
