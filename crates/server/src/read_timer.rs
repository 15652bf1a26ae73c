//! How long an HTTP/1.1 connection may keep the server waiting for bytes, as Go's
//! `http.Server` bounds it (upstream's webhook: `ReadHeaderTimeout`, `IdleTimeout`):
//! - between requests (after an answer), a keep-alive connection may stay silent for the idle
//!   timeout;
//! - from the first byte of a request on, its headers must arrive within the read timeout
//!   (on a new connection, counted from the end of the TLS handshake: it was opened to send a
//!   request). The body has its own limit, in the handler (`http::read_body`).
//!
//! hyper's own `header_read_timeout` cannot say this: its timer starts as soon as hyper waits
//! for the next request head, so it also cuts idle keep-alive connections after the read
//! timeout. It is switched off, and [`TimedIo`] keeps the time instead: it wraps the decrypted
//! stream, sees the bytes arrive, and learns from [`Exchanges`] (counted by the service) when
//! a request has begun being answered and when its answer is done.
//!
//! HTTP/2 connections are not timed here (ALPN tells before any byte): their streams are
//! concurrent, and a dead peer is found by the keep-alive pings.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The requests of one HTTP/1.1 connection handed to the service, and the answers it has
/// produced. Equal counts: no request is being answered.
///
/// Atomics only because the service must be `Send + Sync`: hyper calls it, and polls the
/// answer, on the connection's own task, the same that reads, so the counts never change
/// under a reader.
#[derive(Debug, Default)]
pub(crate) struct Exchanges {
    started: AtomicU64,
    answered: AtomicU64,
}

impl Exchanges {
    /// hyper has read a request's headers and calls the service with it.
    pub(crate) fn request_started(&self) {
        self.started.fetch_add(1, Ordering::Relaxed);
    }

    /// The service has produced the answer (hyper writes it next).
    pub(crate) fn answered(&self) {
        self.answered.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a request is with the service, and how many answers it has produced.
    fn state(&self) -> (bool, u64) {
        let answered = self.answered.load(Ordering::Relaxed);
        (self.started.load(Ordering::Relaxed) != answered, answered)
    }
}

/// What the connection is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// The next request, after an answer: the idle timeout runs.
    Idle,
    /// The rest of a request's headers: the read timeout runs.
    Head,
    /// A request is with the service (its body is read there, under the handler's own limit)
    /// or its answer is being written: no timer here.
    Busy,
}

struct Clock {
    exchanges: Arc<Exchanges>,
    read_timeout: Duration,
    idle_timeout: Duration,
    waiting: Waiting,
    /// The answers counted when last looked: a new one starts the idle time even if the
    /// request came and went between two reads (read in one piece, answered at once).
    answers_seen: u64,
    /// When `waiting` runs out (unused while `Busy`).
    deadline: Instant,
    /// Set to `deadline` only when the connection is about to wait: a head that arrives in
    /// the read that began it, the usual case, never moves the timer. Boxed so that
    /// [`TimedIo`] is `Unpin`, as hyper requires; one allocation per connection.
    timer: Pin<Box<Sleep>>,
}

impl Clock {
    /// Follows the service's counts: a request being answered makes the connection busy, and
    /// the end of the last answer starts the idle time.
    fn observe_exchanges(&mut self) {
        let (in_progress, answered) = self.exchanges.state();
        if in_progress {
            self.waiting = Waiting::Busy;
        } else if answered != self.answers_seen {
            self.answers_seen = answered;
            self.waiting = Waiting::Idle;
            self.deadline = Instant::now() + self.idle_timeout;
        }
    }

    /// Bytes arrived. The first byte after an answer begins a request, and its read timeout.
    /// (Bytes of a pipelined request that arrive while the previous one is busy are counted
    /// from its end, under the idle timeout: rare enough, and still bounded.)
    fn bytes_arrived(&mut self) {
        if self.waiting == Waiting::Idle {
            self.waiting = Waiting::Head;
            self.deadline = Instant::now() + self.read_timeout;
        }
    }

    /// True once `deadline` has passed; otherwise the task is woken when it does.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.timer.deadline() != self.deadline {
            self.timer.as_mut().reset(self.deadline);
        }
        self.timer.as_mut().poll(cx).is_ready()
    }
}

/// An HTTP/1.1 connection's stream that ends the connection when the client keeps it waiting
/// too long (module documentation), or a plain pass-through (HTTP/2).
pub(crate) struct TimedIo<T> {
    io: T,
    clock: Option<Clock>,
}

impl<T> TimedIo<T> {
    /// Times `io` for HTTP/1.1: a new connection must send its first request's headers within
    /// `read_timeout`.
    pub(crate) fn http1(
        io: T,
        exchanges: Arc<Exchanges>,
        read_timeout: Duration,
        idle_timeout: Duration,
    ) -> Self {
        let timer = Box::pin(tokio::time::sleep(read_timeout));
        let deadline = timer.deadline();
        TimedIo {
            io,
            clock: Some(Clock {
                exchanges,
                read_timeout,
                idle_timeout,
                waiting: Waiting::Head,
                answers_seen: 0,
                deadline,
                timer,
            }),
        }
    }

    /// No timing (HTTP/2), and writes reported as not vectored, so that h2 copies answers of
    /// up to 1,023 bytes into its write buffer (`batching.rs`).
    pub(crate) fn untimed(io: T) -> Self {
        TimedIo { io, clock: None }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(clock) = this.clock.as_mut() else {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        };
        clock.observe_exchanges();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    clock.bytes_arrived();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            // The timer shares the task's waker, so hyper reads again when it fires.
            Poll::Pending if clock.waiting == Waiting::Busy || !clock.expired(cx) => Poll::Pending,
            // An idle connection ends as if the client had closed it: hyper closes it cleanly
            // (close_notify), as Go's server closes idle connections, and nothing is logged.
            Poll::Pending if clock.waiting == Waiting::Idle => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request headers not received within the read timeout",
            ))),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        // h2 copies DATA frames under 1,024 bytes into its buffer on a stream without vectored
        // writes, and only those under 256 on one with (`untimed`).
        self.clock.is_some() && self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
