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
