//! Errors cross into JavaScript as `Error`s whose message starts with a stable code, e.g.
//! `ERR_STRONGROOM_MISMATCH: ...`; `strongroom.js` moves that prefix into `err.code` (and, for
//! chunk maps, the differing chunk indices into `err.chunks`).

use napi::{Error, Status};
use strongroom_file_verifier::Error as VerifierError;

pub(crate) fn verifier_error(error: VerifierError) -> Error {
    let message = error.to_string();
    let (status, code) = match &error {
        VerifierError::Mismatch { .. } => {
            (Status::GenericFailure, "ERR_STRONGROOM_MISMATCH".to_owned())
        }
        VerifierError::ChunksMismatch { chunks } => {
            let list = chunks
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            (
                Status::GenericFailure,
                format!("ERR_STRONGROOM_MISMATCH[{list}]"),
            )
        }
        VerifierError::InvalidKey { .. }
        | VerifierError::InvalidKeyId { .. }
        | VerifierError::UnknownKeyId { .. }
        | VerifierError::DuplicateKeyId { .. }
        | VerifierError::NoSigningKey
        | VerifierError::KeyFilePermissions { .. } => {
            (Status::InvalidArg, "ERR_STRONGROOM_KEY".to_owned())
        }
        VerifierError::ChangedWhileReading { .. } => {
            (Status::GenericFailure, "ERR_STRONGROOM_CHANGED".to_owned())
        }
        VerifierError::Io { .. } => (Status::GenericFailure, "ERR_STRONGROOM_IO".to_owned()),
        _ => (Status::InvalidArg, "ERR_STRONGROOM_FORMAT".to_owned()),
    };
    Error::new(status, format!("{code}: {message}"))
}

pub(crate) fn invalid_arg(message: &str) -> Error {
    Error::new(
        Status::InvalidArg,
        format!("ERR_STRONGROOM_ARGUMENT: {message}"),
    )
}

/// Policy errors: ERR_STRONGROOM_VALIDATION (the set fails the schema), ERR_STRONGROOM_FORMAT
/// (parse errors, malformed requests or entities), ERR_STRONGROOM_IO.
pub(crate) fn policy_error(error: strongroom_access_policy::Error) -> Error {
    use strongroom_access_policy::Error as PolicyError;
    let code = match &error {
        PolicyError::Validation { .. } => "ERR_STRONGROOM_VALIDATION",
        PolicyError::Io { .. } => "ERR_STRONGROOM_IO",
        _ => "ERR_STRONGROOM_FORMAT",
    };
    Error::new(Status::InvalidArg, format!("{code}: {error}"))
}
