//! The HTTPS listener: accepts TCP connections, completes the TLS handshake within a time
//! limit, serves each connection with hyper (HTTP/2 when ALPN chose it, HTTP/1.1 otherwise),
//! and shuts down without dropping a request.
//!
//! An HTTP/1.1 connection may stay idle between requests for [`Limits::idle_timeout`]; once a
//! request has begun, its headers must arrive within [`Limits::read_timeout`]
//! (`read_timer.rs`).
//!
//! Closing a keep-alive HTTP/1.1 connection that looks idle races with a client that is just
//! then sending its next request on it: the request is lost ("connection closed before message
//! completed"), and clients do not retry a POST. So shutdown first tells every connection that
//! it is going away, and closes only those that never came back:
//! 1. From the shutdown signal on, every HTTP/1.1 response carries `Connection: close` (the
//!    client opens a new connection for its next request, after which hyper closes this one)
//!    and every HTTP/2 connection gets GOAWAY (hyper finishes its streams, then closes it).
//!    New connections are still accepted for [`Limits::shutdown_delay`], while `/readyz`
//!    fails and load balancers take this replica out.
//! 2. The listener closes. Connections get [`Limits::drain`] to make their next request and be
//!    closed after its answer; the drain ends early once no connection is left.
//! 3. What is still open then has stayed idle for the whole drain: it is closed, while any
//!    request in flight is answered (with `Connection: close`), all within
//!    [`Limits::shutdown_timeout`] of the listener closing.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use http::{HeaderValue, Request, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::batching::{ConnectionExecutor, Streams};
use crate::read_timer::{Exchanges, TimedIo};

/// Limits that protect the server from slow or idle clients, and shape its shutdown.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The TLS handshake must complete within this, and then each HTTP/1.1 request's headers
    /// must arrive within this from its first byte (the first request's from the handshake).
    pub read_timeout: Duration,
    /// How long an HTTP/1.1 keep-alive connection may stay idle between requests.
    pub idle_timeout: Duration,
    /// After the shutdown signal, how long new connections are still accepted (while every
    /// connection is already told to go away).
    pub shutdown_delay: Duration,
    /// After the listener closes, how long connections get to make one more request before
    /// those still idle are closed.
    pub drain: Duration,
    /// Longest wait, from the listener closing, for every connection to end (the drain
    /// included).
    pub shutdown_timeout: Duration,
}

/// Why serving ended abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("in-flight requests did not finish within {0:?}")]
    ShutdownTimedOut(Duration),
}

/// Where shutdown is, as every connection task sees it. Ordered: each phase includes the
/// ones before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Serving,
    /// Connections are told to go away: HTTP/2 gets GOAWAY now, HTTP/1.1 with its next answer.
    Draining,
    /// Connections still open are shut down: idle ones close, busy ones after their answer.
    Closing,
}

/// What every connection task needs. Each task keeps its own `phase` receiver for as long as
/// it runs, so the sender's receiver count is the number of open connections, and
/// `watch::Sender::closed` resolves once the last one has ended.
#[derive(Clone)]
struct Shared {
    tls: TlsAcceptor,
    app: Router,
    read_timeout: Duration,
    idle_timeout: Duration,
    /// Set at the shutdown signal: HTTP/1.1 answers from then on carry `Connection: close`.
    draining: Arc<AtomicBool>,
    phase: watch::Receiver<Phase>,
}

/// Serves `app` on `listener` until `shutdown` completes, then shuts down as the module
/// documentation describes.
pub async fn serve(
    listener: TcpListener,
    tls: TlsAcceptor,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let (phase_tx, phase) = watch::channel(Phase::Serving);
    let shared = Shared {
        tls,
        app,
        read_timeout: limits.read_timeout,
        idle_timeout: limits.idle_timeout,
        draining: Arc::new(AtomicBool::new(false)),
        phase,
    };

    accept_until(&listener, &shared, shutdown).await;
    shared.draining.store(true, Ordering::Release);
    phase_tx.send_replace(Phase::Draining);
    tracing::info!(
        connections = phase_tx.receiver_count() - 1,
        delay = ?limits.shutdown_delay,
        "shutting down: telling connections to go away; still accepting during the delay"
    );
    accept_until(
        &listener,
        &shared,
        tokio::time::sleep(limits.shutdown_delay),
    )
    .await;
    // Closing the listener resets the connections the kernel has queued but we have not
    // accepted yet, whose clients are already sending their TLS hellos: take those first,
    // asking the kernel itself (tokio's accept only knows what its reactor has been told). One
    // that completes its TCP handshake between the last of these calls and the close is still
    // reset, before it could send a request.
    if let Ok(listener) = listener.into_std() {
        while let Ok((stream, peer)) = listener.accept() {
            // Accepted sockets do not inherit non-blocking mode, which tokio requires.
            if stream.set_nonblocking(true).is_ok()
                && let Ok(stream) = TcpStream::from_std(stream)
            {
                tokio::spawn(connection(stream, peer, shared.clone()));
            }
        }
        // No new connections from here on.
        drop(listener);
    }
    drop(shared);
    let closed_at = Instant::now();
    let deadline = closed_at + limits.shutdown_timeout;
    tracing::info!(
        connections = phase_tx.receiver_count(),
        drain = ?limits.drain,
        "stopped accepting connections; draining"
    );
    let drain_end = (closed_at + limits.drain).min(deadline);
    if tokio::time::timeout_at(drain_end, phase_tx.closed())
        .await
        .is_err()
    {
        tracing::info!(
            connections = phase_tx.receiver_count(),
            "closing connections idle for the whole drain; finishing requests in flight"
        );
        phase_tx.send_replace(Phase::Closing);
        // Idle connections close as soon as they see `Closing`; a drain that ran up to the
        // deadline still leaves them the moment that takes, so that only requests in flight
        // can time the shutdown out.
        let closed_by = deadline.max(Instant::now() + IDLE_CLOSE_GRACE);
        tokio::time::timeout_at(closed_by, phase_tx.closed())
            .await
            .map_err(|_| ServeError::ShutdownTimedOut(limits.shutdown_timeout))?;
    }
    Ok(())
}

/// hyper's settings for one connection, whose streams `executor` runs (`batching.rs`). The
/// protocol is fixed by ALPN before hyper sees a byte: no sniffing of the preface, which a
/// graceful shutdown would cut short.
fn http_builder(is_http2: bool, executor: ConnectionExecutor) -> auto::Builder<ConnectionExecutor> {
    let mut builder = auto::Builder::new(executor);
    if !is_http2 {
        // hyper's header read timeout starts when it waits for the next request, so it would
        // also close idle keep-alive connections after the read timeout; `read_timer` keeps
        // both times instead. (hyper's default is 30s, so it is switched off explicitly.)
        builder.http1().header_read_timeout(None);
        return builder.http1_only();
    }
    builder
        .http2()
        .timer(TokioTimer::new())
        // The API server multiplexes many reviews over few connections; keep a dead peer from
        // holding streams forever.
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10))
        .max_concurrent_streams(250);
    builder.http2_only()
}

/// How long idle connections get to close once told to, even past `--shutdown-timeout`.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Accepts connections until `until` completes.
async fn accept_until(listener: &TcpListener, shared: &Shared, until: impl Future<Output = ()>) {
    tokio::pin!(until);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(connection(stream, peer, shared.clone()));
                }
                Err(error) => {
                    // Usually EMFILE/ENFILE: back off briefly instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut until => return,
        }
    }
}

/// One connection, from the TLS handshake to its end.
async fn connection(stream: TcpStream, peer: SocketAddr, shared: Shared) {
    // Reviews are small request/response pairs: do not let Nagle delay them.
    let _ = stream.set_nodelay(true);
    let Shared {
        tls,
        app,
        read_timeout,
        idle_timeout,
        draining,
        mut phase,
    } = shared;
    // A connection still handshaking when shutdown begins is served too (it holds `phase`
    // already, so shutdown waits for it), not cut.
    let stream = match tokio::time::timeout(read_timeout, tls.accept(stream)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            tracing::debug!(%peer, %error, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return;
        }
    };
    let is_http2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    // HTTP/2 goes away by GOAWAY as soon as shutdown begins; HTTP/1.1 by `Connection: close`
    // on its answers, and is shut down (closed if idle) only when the drain is over.
    let (go_away_at, close_marker, io) = if is_http2 {
        (Phase::Draining, None, TimedIo::untimed(stream))
    } else {
        let exchanges = Arc::new(Exchanges::default());
        let io = TimedIo::http1(stream, Arc::clone(&exchanges), read_timeout, idle_timeout);
        (Phase::Closing, Some((draining, exchanges)), io)
    };
    let started = close_marker
        .as_ref()
        .map(|(_, exchanges)| Arc::clone(exchanges));
    let counted = ServiceExt::<Request<Incoming>>::map_request(app, move |request| {
        // hyper has the request's headers: its read timeout is over.
        if let Some(exchanges) = &started {
            exchanges.request_started();
        }
        request
    });
    let marked =
        ServiceExt::<Request<Incoming>>::map_response(counted, move |mut response: Response| {
            if let Some((draining, exchanges)) = &close_marker {
                // The connection's idle time starts once this is written.
                exchanges.answered();
                // Read as the answer leaves, so a request that was in flight at the signal is
                // marked.
                if draining.load(Ordering::Acquire) {
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
            }
            response
        });
    let mut streams = Streams::default();
    let builder = http_builder(is_http2, streams.executor());
    let connection = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(marked));
    tokio::pin!(connection);
    let mut shut_down = false;
    loop {
        // A connection accepted after shutdown began acts on the phase it starts in.
        if !shut_down && *phase.borrow_and_update() >= go_away_at {
            connection.as_mut().graceful_shutdown();
            shut_down = true;
        }
        tokio::select! {
            result = streams.drive(connection.as_mut()) => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            changed = phase.changed(), if !shut_down => {
                if changed.is_err() {
                    // The server is gone; finish what is in flight and stop.
                    connection.as_mut().graceful_shutdown();
                    shut_down = true;
                }
            }
        }
    }
}
