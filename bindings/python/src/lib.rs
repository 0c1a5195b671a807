//! The `strongroom._native` extension module. Python code imports it through the `strongroom`
//! package (`strongroom.verifier`, `strongroom.policy`), which adds docs and typing.

use pyo3::prelude::*;

mod errors;
mod policy;
mod verifier;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    verifier::register(m)?;
    policy::register(m)?;
    Ok(())
}
