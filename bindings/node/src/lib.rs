//! The `strongroom` Node.js addon. `strongroom.js` wraps it to give errors a stable `code`.

pub mod errors;
pub mod policy;
pub mod verifier;
