//! Python exceptions: one base class, subclasses a caller can catch by what they mean.

use pyo3::exceptions::{PyException, PyOSError};
use pyo3::prelude::*;
use strongroom_file_verifier::Error as VerifierError;

pyo3::create_exception!(
    _native,
    StrongroomError,
    PyException,
    "Base class of every Strongroom error."
);
pyo3::create_exception!(
    _native,
    MismatchError,
    StrongroomError,
    "The data does not match its signature, chunk map or manifest."
);
pyo3::create_exception!(
    _native,
    KeyError,
    StrongroomError,
    "A key or key id is invalid, duplicated or unknown to the key ring."
);
pyo3::create_exception!(
    _native,
    FormatError,
    StrongroomError,
    "A signature, chunk map, manifest or policy could not be parsed or validated."
);
pyo3::create_exception!(
    _native,
    ChangedWhileReadingError,
    StrongroomError,
    "A file changed while it was being read; retry once the writer is done."
);

pyo3::create_exception!(
    _native,
    ValidationError,
    FormatError,
    "A policy set failed validation against its schema; `diagnostics` lists each problem."
);

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("StrongroomError", py.get_type::<StrongroomError>())?;
    m.add("MismatchError", py.get_type::<MismatchError>())?;
    m.add("KeyError", py.get_type::<KeyError>())?;
    m.add("FormatError", py.get_type::<FormatError>())?;
    m.add(
        "ChangedWhileReadingError",
        py.get_type::<ChangedWhileReadingError>(),
    )?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    Ok(())
}

/// Maps the verifier's errors onto the exception a Python caller would catch.
pub(crate) fn verifier_error(py: Python<'_>, error: VerifierError) -> PyErr {
    let message = error.to_string();
    match error {
        VerifierError::Mismatch { .. } => MismatchError::new_err(message),
        VerifierError::ChunksMismatch { chunks } => {
            let err = MismatchError::new_err(message);
            // Callers want to know which chunks to re-fetch.
            let _ = err.value(py).setattr("chunks", chunks);
            err
        }
        VerifierError::InvalidKey { .. }
        | VerifierError::InvalidKeyId { .. }
        | VerifierError::UnknownKeyId { .. }
        | VerifierError::DuplicateKeyId { .. }
        | VerifierError::NoSigningKey
        | VerifierError::KeyFilePermissions { .. } => KeyError::new_err(message),
        VerifierError::ChangedWhileReading { .. } => ChangedWhileReadingError::new_err(message),
        VerifierError::Io { source, .. } => {
            PyOSError::new_err((source.raw_os_error().unwrap_or(0), message))
        }
        _ => FormatError::new_err(message),
    }
}

/// Maps the policy engine's errors onto exceptions; validation and parse errors carry
/// `diagnostics` (policy, message, help, line, column) so tools can point at the source.
pub(crate) fn policy_error(py: Python<'_>, error: strongroom_access_policy::Error) -> PyErr {
    use strongroom_access_policy::Error as PolicyError;
    let message = error.to_string();
    let (err, diagnostics) = match &error {
        PolicyError::Validation { diagnostics } => {
            (ValidationError::new_err(message), Some(diagnostics))
        }
        PolicyError::Parse { diagnostics, .. } => {
            (FormatError::new_err(message), Some(diagnostics))
        }
        PolicyError::Io { .. } => (PyOSError::new_err(message), None),
        _ => (FormatError::new_err(message), None),
    };
    if let Some(diagnostics) = diagnostics {
        let list: Vec<_> = diagnostics
            .iter()
            .map(|d| {
                let dict = pyo3::types::PyDict::new(py);
                let _ = dict.set_item("policy", &d.policy);
                let _ = dict.set_item("message", &d.message);
                let _ = dict.set_item("help", &d.help);
                let _ = dict.set_item("line", d.line);
                let _ = dict.set_item("column", d.column);
                dict
            })
            .collect();
        let _ = err.value(py).setattr("diagnostics", list);
    }
    err
}
