use std::io::Read;
use std::path::Path;

use crate::algorithm::{MacState, macs_equal};
use crate::io::{for_each_block, read_stable_file};
use crate::{Algorithm, Error, KeyId, KeyRing, Result, Signature};

/// An incremental signer: feed it the bytes as they stream past, then take the signature.
///
/// Made by [`KeyRing::signer`]; useful when the bytes are flowing somewhere else anyway (an
/// upload being written to storage), so they are read once.
pub struct Signer {
    algorithm: Algorithm,
    kid: KeyId,
    state: MacState,
}

impl Signer {
    /// Adds the next bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.state.update(data);
    }

    /// The signature over every byte given to [`Signer::update`].
    pub fn finish(self) -> Signature {
        Signature::new(self.algorithm, self.kid, self.state.finalize())
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// An incremental verifier, the counterpart of [`Signer`]. Made by [`KeyRing::verifier`].
pub struct Verifier {
    expected: Signature,
    state: MacState,
}

impl Verifier {
    /// Adds the next bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.state.update(data);
    }

    /// Checks every byte given to [`Verifier::update`] against the signature, in constant time.
    pub fn finish(self) -> Result<()> {
        if macs_equal(&self.state.finalize(), self.expected.mac()) {
            Ok(())
        } else {
            Err(Error::Mismatch {
                kid: self.expected.kid().to_string(),
            })
        }
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Starts an incremental signature with the signing key.
    pub fn signer(&self) -> Result<Signer> {
        let (kid, key) = self.signing_key()?;
        Ok(Signer {
            algorithm: self.algorithm(),
            kid: kid.clone(),
            state: MacState::new(self.algorithm(), key)?,
        })
    }

    /// Starts an incremental verification of `signature`, with the key it names.
    pub fn verifier(&self, signature: &Signature) -> Result<Verifier> {
        let key = self.key(signature.kid())?;
        Ok(Verifier {
            expected: signature.clone(),
            state: MacState::new(signature.algorithm(), key)?,
        })
    }

    /// Signs a byte slice.
    pub fn sign(&self, data: &[u8]) -> Result<Signature> {
        let mut signer = self.signer()?;
        signer.update(data);
        Ok(signer.finish())
    }

    /// Signs everything `reader` yields, in constant memory.
    pub fn sign_reader(&self, reader: impl Read) -> Result<Signature> {
        let mut signer = self.signer()?;
        for_each_block(reader, |block| signer.update(block))?;
        Ok(signer.finish())
    }

    /// Signs a file, in constant memory. Fails with [`Error::ChangedWhileReading`] if the file
    /// is modified while it is read.
    pub fn sign_path(&self, path: impl AsRef<Path>) -> Result<Signature> {
        let mut signer = self.signer()?;
        read_stable_file(path.as_ref(), |file, _| {
            Ok(((), for_each_block(file, |b| signer.update(b))?))
        })?;
        Ok(signer.finish())
    }

    /// Verifies a byte slice against `signature`.
    pub fn verify(&self, data: &[u8], signature: &Signature) -> Result<()> {
        let mut verifier = self.verifier(signature)?;
        verifier.update(data);
        verifier.finish()
    }

    /// Verifies everything `reader` yields against `signature`, in constant memory.
    pub fn verify_reader(&self, reader: impl Read, signature: &Signature) -> Result<()> {
        let mut verifier = self.verifier(signature)?;
        for_each_block(reader, |block| verifier.update(block))?;
        verifier.finish()
    }

    /// Verifies a file against `signature`, in constant memory.
    pub fn verify_path(&self, path: impl AsRef<Path>, signature: &Signature) -> Result<()> {
        let mut verifier = self.verifier(signature)?;
        read_stable_file(path.as_ref(), |file, _| {
            Ok(((), for_each_block(file, |b| verifier.update(b))?))
        })?;
        verifier.finish()
    }
}

#[cfg(feature = "tokio")]
mod async_io {
    use tokio::io::{AsyncRead, AsyncReadExt};

    use crate::io::BLOCK_LEN;
    use crate::{KeyRing, Result, Signature};

    async fn for_each_block_async(
        mut reader: impl AsyncRead + Unpin,
        mut f: impl FnMut(&[u8]),
    ) -> Result<u64> {
        let mut buf = vec![0u8; BLOCK_LEN];
        let mut total = 0u64;
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
            f(&buf[..n]);
        }
    }

    impl KeyRing {
        /// Signs everything an async `reader` yields, in constant memory (feature `tokio`).
        ///
        /// Hashing runs on the calling task; for very large inputs on a busy runtime, consider
        /// [`KeyRing::sign_path`] inside `spawn_blocking` instead.
        pub async fn sign_async_reader(&self, reader: impl AsyncRead + Unpin) -> Result<Signature> {
            let mut signer = self.signer()?;
            for_each_block_async(reader, |block| signer.update(block)).await?;
            Ok(signer.finish())
        }

        /// Verifies everything an async `reader` yields against `signature` (feature `tokio`).
        pub async fn verify_async_reader(
            &self,
            reader: impl AsyncRead + Unpin,
            signature: &Signature,
        ) -> Result<()> {
            let mut verifier = self.verifier(signature)?;
            for_each_block_async(reader, |block| verifier.update(block)).await?;
            verifier.finish()
        }
    }
}
