//! Downloads that refuse to deliver altered content.
//!
//! A whole-file download is checked as it streams: the bytes are counted, and run through the
//! file's keyed signature (or, when the key that made it is gone from the ring, through SHA-256
//! against the recorded digest). The last chunk is held back until the check passes; if it fails,
//! the stream ends with an error instead, so the client never receives a complete body (the
//! connection closes short of `Content-Length`). A range is checked for length only: a digest
//! covers the whole file; but chunked content is authenticated chunk by chunk as it is read, so
//! a range over an altered chunk fails too, and is reported the same way.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use sha2::{Digest, Sha256};
use strongroom_file_verifier::Verifier;

use crate::blobs::BlobStream;

/// How the content is checked.
#[derive(Debug)]
pub enum Check {
    /// Length only (ranges, or checking turned off).
    Length,
    /// The file-verifier signature over the content.
    Signature(Box<Verifier>),
    /// SHA-256 against the recorded hex digest.
    Sha256(Box<Sha256>, String),
}

/// Called once when the content turns out altered, with what was wrong.
pub type OnFailure = Box<dyn FnOnce(&'static str) + Send>;

/// A blob stream that ends with an error rather than deliver content that fails its check.
pub struct Checked {
    inner: BlobStream,
    expected: u64,
    seen: u64,
    check: Option<Check>,
    on_failure: Option<OnFailure>,
    done: bool,
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked")
            .field("expected", &self.expected)
            .field("seen", &self.seen)
            .field("check", &self.check)
            .finish_non_exhaustive()
    }
}

impl Checked {
    /// Checks `inner`, which must deliver exactly `expected` bytes.
    pub fn new(inner: BlobStream, expected: u64, check: Check, on_failure: OnFailure) -> Checked {
        Checked {
            inner,
            expected,
            seen: 0,
            check: Some(check),
            on_failure: Some(on_failure),
            done: false,
        }
    }

    fn fail(&mut self, why: &'static str) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        self.done = true;
        if let Some(f) = self.on_failure.take() {
            f(why);
        }
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("stored content failed its integrity check: {why}"),
        ))))
    }
}

impl Stream for Checked {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                // The chunk engine authenticates each chunk before handing it out: this is a
                // chunk missing from storage or altered there, on a range as on a whole file.
                if e.kind() == std::io::ErrorKind::InvalidData
                    && let Some(f) = self.on_failure.take()
                {
                    f("a stored chunk is missing or was altered");
                }
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Some(Ok(chunk))) => {
                self.seen += chunk.len() as u64;
                if self.seen > self.expected {
                    return self.fail("the stored content is longer than recorded");
                }
                match self.check.as_mut() {
                    Some(Check::Signature(v)) => v.update(&chunk),
                    Some(Check::Sha256(h, _)) => h.update(&chunk),
                    Some(Check::Length) | None => {}
                }
                if self.seen == self.expected {
                    // The last chunk: it goes out only once the whole content checks.
                    let ok = match self.check.take() {
                        Some(Check::Signature(v)) => v.finish().is_ok(),
                        Some(Check::Sha256(h, want)) => hex::encode(h.finalize()) == want,
                        Some(Check::Length) | None => true,
                    };
                    if !ok {
                        return self.fail("the content does not match its signature");
                    }
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                if self.seen < self.expected {
                    return self.fail("the stored content is shorter than recorded");
                }
                self.done = true;
                Poll::Ready(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::StreamExt;

    use super::*;

    fn blob(parts: &[&'static [u8]]) -> BlobStream {
        let parts: Vec<Result<Bytes, std::io::Error>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        futures::stream::iter(parts).boxed()
    }

    async fn run(parts: &[&'static [u8]], expected: u64, check: Check) -> (Vec<u8>, bool, usize) {
        let failures = Arc::new(AtomicUsize::new(0));
        let f = failures.clone();
        let mut s = Checked::new(
            blob(parts),
            expected,
            check,
            Box::new(move |_| {
                f.fetch_add(1, Ordering::SeqCst);
            }),
        );
        let (mut out, mut err) = (Vec::new(), false);
        while let Some(c) = s.next().await {
            match c {
                Ok(b) => out.extend_from_slice(&b),
                Err(_) => err = true,
            }
        }
        (out, err, failures.load(Ordering::SeqCst))
    }

    fn sha(data: &[u8]) -> Check {
        Check::Sha256(Box::new(Sha256::new()), hex::encode(Sha256::digest(data)))
    }

    #[tokio::test]
    async fn intact_content_flows_through() {
        let (out, err, failures) = run(&[b"hello ", b"world"], 11, sha(b"hello world")).await;
        assert_eq!(out, b"hello world");
        assert!(!err);
        assert_eq!(failures, 0);
    }

    #[tokio::test]
    async fn altered_content_never_arrives_whole() {
        let (out, err, failures) = run(&[b"hello ", b"w0rld"], 11, sha(b"hello world")).await;
        assert!(err);
        assert_eq!(out, b"hello ", "the last chunk is held back");
        assert_eq!(failures, 1);
    }

    #[tokio::test]
    async fn length_is_checked_both_ways() {
        let (_, err, failures) = run(&[b"hello"], 11, Check::Length).await;
        assert!(err && failures == 1, "short");
        let (out, err, failures) = run(&[b"hello ", b"world!!"], 11, Check::Length).await;
        assert!(err && failures == 1, "long");
        assert_eq!(out, b"hello ");
        let (out, err, _) = run(&[b"hello"], 5, Check::Length).await;
        assert!(!err);
        assert_eq!(out, b"hello");
    }
}
