//! The `strongroom` Node.js addon. `strongroom.js` wraps it to give errors a stable `code`.

mod errors;
mod verifier;
