//! The HTTPS listener: accepts TCP connections, completes the TLS handshake within a time
//! limit, serves each connection with hyper (HTTP/1.1 or HTTP/2, as ALPN decides), and shuts
//! down gracefully: stop accepting, let every connection finish the requests it has started,
//! then return.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Limits that protect the server from slow or idle clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// TLS handshake, and then the request headers, must each arrive within this.
    pub read_timeout: Duration,
    /// Longest wait for in-flight requests after shutdown begins.
    pub shutdown_timeout: Duration,
}

/// Why serving ended abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("in-flight requests did not finish within {0:?}")]
    ShutdownTimedOut(Duration),
}

/// Serves `app` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    tls: TlsAcceptor,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        // The API server multiplexes many reviews over few connections; keep a dead peer from
        // holding streams forever.
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10))
        .max_concurrent_streams(250);
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually EMFILE/ENFILE: back off briefly instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Reviews are small request/response pairs: do not let Nagle delay them.
        let _ = stream.set_nodelay(true);
        let tls = tls.clone();
        let builder = Arc::clone(&builder);
        let service = TowerToHyperService::new(app.clone());
        // Taken before the handshake so a connection still handshaking at shutdown is drained
        // too, not cut.
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(limits.read_timeout, tls.accept(stream)).await {
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
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }

    // No new connections from here on; existing ones finish their current requests.
    drop(listener);
    tracing::info!(
        connections = graceful.count(),
        "stopped accepting connections; finishing in-flight requests"
    );
    tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .map_err(|_| ServeError::ShutdownTimedOut(limits.shutdown_timeout))
}
