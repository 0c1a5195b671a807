//! The connection layer under the router: how many sockets a client may hold, and how slowly it
//! may use them.
//!
//! - Connection caps: at most `http.max_connections` open, at most `http.max_connections_per_ip`
//!   from one address; a connection past either cap is closed at once (and counted and logged).
//! - Header-read timeout: the whole request header must arrive within
//!   `http.header_read_timeout_secs` (hyper's own timer), so half-sent headers cannot pin a socket.
//! - Idle timeout: a connection that moves no byte either way for `http.idle_timeout_secs` is
//!   closed ([`IdleTimeout`]), whether it idles between requests or stalls inside a body.
//! - Minimum rate: upload and download bodies must move `http.min_rate_bytes` per
//!   `http.min_rate_window_secs` ([`MinRate`]), so a client trickling one byte at a time cannot
//!   hold a transfer open forever.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use futures::Stream;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tower::ServiceExt;

use crate::config::HttpConfig;
use crate::metrics::Metrics;

/// Limits of the connection layer, from `[http]`.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// Whole-header deadline.
    pub header_read_timeout: Duration,
    /// No-progress deadline.
    pub idle_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Open connections per address at most.
    pub max_connections_per_ip: usize,
}

impl ConnLimits {
    /// The limits configured in `[http]`.
    pub fn from_config(c: &HttpConfig) -> ConnLimits {
        ConnLimits {
            header_read_timeout: Duration::from_secs(c.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(c.idle_timeout_secs),
            max_connections: c.max_connections,
            max_connections_per_ip: c.max_connections_per_ip,
        }
    }
}

/// Open connections, in total and per address.
#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// A place among the open connections, given back on drop.
struct Slot {
    counts: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

fn take_slot(
    counts: &Arc<Mutex<Counts>>,
    ip: IpAddr,
    limits: &ConnLimits,
) -> Result<Slot, &'static str> {
    let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
    if c.total >= limits.max_connections {
        return Err("http.max_connections");
    }
    let n = c.per_ip.entry(ip).or_default();
    if *n >= limits.max_connections_per_ip {
        return Err("http.max_connections_per_ip");
    }
    *n += 1;
    c.total += 1;
    Ok(Slot {
        counts: counts.clone(),
        ip,
    })
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves, then lets open
/// connections finish their requests for up to `drain` before returning.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let counts = Arc::new(Mutex::new(Counts::default()));
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.idle_timeout / 2));
    let mut last_refusal_log: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let slot = match take_slot(&counts, peer.ip(), &limits) {
            Ok(s) => s,
            Err(limit) => {
                metrics.connections_refused.inc();
                // One line a second at most: a flood must not flood the log too.
                if last_refusal_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    last_refusal_log = Some(Instant::now());
                    tracing::warn!(ip = %peer.ip(), limit, "connection refused: limit reached");
                }
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(IdleTimeout::new(
            stream,
            limits.idle_timeout,
            metrics.clone(),
        ));
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(req.map(axum::body::Body::new))
            });
        let conn = builder
            .serve_connection_with_upgrades(io, service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = conn.await {
                tracing::debug!(ip = %peer.ip(), error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            seconds = drain.as_secs(),
            "connections still open after the drain period; closing them"
        );
    }
}

/// A socket closed when no byte moves either way for `idle` (reads and writes both reset the
/// clock). Hyper sees the timeout as an I/O error and drops the connection.
#[derive(Debug)]
pub struct IdleTimeout {
    inner: TcpStream,
    idle: Duration,
    /// Fires at the earliest possible idle deadline; moved lazily (see `check`).
    deadline: Pin<Box<Sleep>>,
    /// When a byte last moved. Cheap to update on every read and write, unlike the timer.
    last_progress: tokio::time::Instant,
    metrics: Arc<Metrics>,
}

impl IdleTimeout {
    /// Wraps `inner`.
    pub fn new(inner: TcpStream, idle: Duration, metrics: Arc<Metrics>) -> IdleTimeout {
        IdleTimeout {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            last_progress: tokio::time::Instant::now(),
            metrics,
        }
    }

    fn progressed(&mut self) {
        self.last_progress = tokio::time::Instant::now();
    }

    /// A write that moved bytes counts as progress; one that waits is judged by the clock.
    fn after_write(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    self.progressed();
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                self.check(cx)?;
                Poll::Pending
            }
        }
    }

    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        // The timer is only moved when it fires: resetting it on every write made large
        // downloads pay a timer-wheel update per chunk.
        while self.deadline.as_mut().poll(cx).is_ready() {
            let due = self.last_progress + self.idle;
            if tokio::time::Instant::now() >= due {
                self.metrics.connections_timed_out.inc();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection idle for too long",
                ));
            }
            self.deadline.as_mut().reset(due);
        }
        Ok(())
    }
}

impl AsyncRead for IdleTimeout {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    this.progressed();
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                this.check(cx)?;
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for IdleTimeout {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after_write(cx, polled)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => {
                this.check(cx)?;
                Poll::Pending
            }
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A body stream that fails once it moves fewer than `min_bytes` in a window of `window`: the
/// transfer is cut off (an upload is aborted and nothing of it becomes visible; a download's
/// connection is closed). `min_bytes == 0` turns it off.
#[derive(Debug)]
pub struct MinRate<S> {
    inner: S,
    metrics: Arc<Metrics>,
    min_bytes: u64,
    window: Duration,
    window_start: Instant,
    in_window: u64,
    timer: Pin<Box<Sleep>>,
    done: bool,
}

impl<S> MinRate<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, http: &HttpConfig, metrics: Arc<Metrics>) -> MinRate<S> {
        let min_bytes = http.min_rate_bytes;
        let window = Duration::from_secs(http.min_rate_window_secs.max(1));
        MinRate {
            inner,
            metrics,
            min_bytes,
            window,
            window_start: Instant::now(),
            in_window: 0,
            timer: Box::pin(tokio::time::sleep(window)),
            done: false,
        }
    }

    /// Closes the window if it is over; an error if it moved too little.
    fn roll(&mut self) -> io::Result<()> {
        if self.window_start.elapsed() < self.window {
            return Ok(());
        }
        if self.in_window < self.min_bytes {
            self.metrics.transfers_too_slow.inc();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "transfer slower than the minimum rate ({} bytes in {} s, at least {} required)",
                    self.in_window,
                    self.window.as_secs(),
                    self.min_bytes
                ),
            ));
        }
        self.window_start = Instant::now();
        self.in_window = 0;
        let next = tokio::time::Instant::now() + self.window;
        self.timer.as_mut().reset(next);
        Ok(())
    }
}

impl<S, E> Stream for MinRate<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Item = Result<Bytes, io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if this.min_bytes == 0 {
            return Pin::new(&mut this.inner)
                .poll_next(cx)
                .map(|o| o.map(|r| r.map_err(io::Error::other)));
        }
        if let Err(e) = this.roll() {
            this.done = true;
            return Poll::Ready(Some(Err(e)));
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(b))) => {
                this.in_window += b.len() as u64;
                Poll::Ready(Some(Ok(b)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(io::Error::other(e)))),
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                // Wake at the window's end to judge it even if no byte comes.
                ready!(this.timer.as_mut().poll(cx));
                if let Err(e) = this.roll() {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                // The window moved on: poll the timer again so it is armed for the next one.
                let _ = this.timer.as_mut().poll(cx);
                Poll::Pending
            }
        }
    }
}
