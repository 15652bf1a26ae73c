//! The HTTP surface: `/healthz`, `/readyz`, `/metrics`, and every other path as the admission
//! endpoint, with upstream's request rules and plain-text error answers.
//!
//! Admission endpoint, in order: an optional `?timeout=` (Go duration) bounds the decision; an
//! empty body is refused; the body is read up to 3 MiB within `--request-read-timeout`; the
//! content type must be exactly `application/json`; the review is decoded and decided; the
//! answer is the AdmissionReview response as JSON plus a newline. With `--psp`, `/mutate` is the
//! mutating endpoint (PodSecurityPolicy defaulting) under the same rules.

use std::future::Future as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures::FutureExt as _;
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt as _;
use tokio::time::Instant;

use crate::admit::{Admitter, ReviewError};
use crate::batching::SmallFrames;
use crate::duration::parse_go_duration;
use crate::metrics::{self, Metrics};
use crate::psp::PolicyStore;
use crate::state::NamespaceCache;

/// The mutating admission endpoint (PodSecurityPolicy's defaulting, with `--psp`); without
/// `--psp` it is one more path of the validating endpoint.
pub const MUTATE_PATH: &str = "/mutate";

/// Largest request body accepted, exclusive: a body of exactly this size is already refused.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// What the handlers share.
pub struct AppState {
    pub admitter: Admitter,
    pub metrics: Arc<Metrics>,
    pub readiness: Readiness,
    /// Longest time to receive a request body.
    pub body_timeout: Duration,
}

/// Ready once namespace state (and, with `--psp`, the policies) is complete, and no longer once
/// shutdown has begun.
#[derive(Debug)]
pub struct Readiness {
    cache: Arc<NamespaceCache>,
    policies: Option<Arc<PolicyStore>>,
    draining: AtomicBool,
}

impl Readiness {
    pub fn new(cache: Arc<NamespaceCache>) -> Self {
        Readiness {
            cache,
            policies: None,
            draining: AtomicBool::new(false),
        }
    }

    /// Also waits for the PodSecurityPolicies: until they are listed every pod would be denied.
    pub fn with_policies(mut self, policies: Arc<PolicyStore>) -> Self {
        self.policies = Some(policies);
        self
    }

    /// Shutdown has begun: report not ready so load balancers take this replica out.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }
}

/// The routes. Anything that is not a probe or the metrics is an admission request, whatever
/// the method or path (the API server calls whatever path the webhook configuration names).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", any(healthz))
        .route("/healthz/ping", any(healthz))
        .route("/readyz", any(readyz))
        .route("/readyz/informer-sync", any(readyz))
        .route("/metrics", any(metrics_handler))
        .fallback(admission)
        .with_state(state)
}

async fn healthz() -> Response {
    text(StatusCode::OK, "ok")
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let readiness = &state.readiness;
    if readiness.draining.load(Ordering::Acquire) {
        text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "[-]shutdown failed: the server is shutting down",
        )
    } else if !readiness.cache.is_synced() {
        text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "[-]informer-sync failed: the namespace cache has not synced yet",
        )
    } else if readiness
        .policies
        .as_ref()
        .is_some_and(|policies| !policies.is_synced())
    {
        text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "[-]informer-sync failed: the PodSecurityPolicies have not synced yet",
        )
    } else {
        text(StatusCode::OK, "ok")
    }
}

/// OpenMetrics for a scraper that asks for it (Prometheus does), the Prometheus text format
/// otherwise.
async fn metrics_handler(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok());
    let format = metrics::Format::negotiate(accept);
    (
        [(header::CONTENT_TYPE, format.content_type())],
        state.metrics.encode(format),
    )
        .into_response()
}

async fn admission(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let response = admit(&state, request).await;
    state
        .metrics
        .request_finished(response.status().as_u16(), started.elapsed());
    response
}

async fn admit(state: &AppState, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let deadline = request_deadline(parts.uri.query());

    let declared_len = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len == Some(0) {
        return text(StatusCode::BAD_REQUEST, "request body is empty");
    }
    let body = match read_body(body, declared_len, state.body_timeout).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request entity is too large; limit is {MAX_BODY_BYTES} bytes"),
            );
        }
        Err(BodyError::Read) => {
            return text(
                StatusCode::BAD_REQUEST,
                "unable to read the body from the incoming request",
            );
        }
    };
    if body.is_empty() {
        return text(StatusCode::BAD_REQUEST, "request body is empty");
    }
    if parts.headers.get(header::CONTENT_TYPE)
        != Some(&HeaderValue::from_static("application/json"))
    {
        return text(
            StatusCode::BAD_REQUEST,
            "unable to process a request with a non-json content type",
        );
    }

    // The decision is library code fed by the request; a bug there must cost this request, not
    // the connection or the process. A 500 lets the API server apply the webhook's
    // failurePolicy (Fail for pods and namespaces, Ignore for controllers).
    let mutating = parts.uri.path() == MUTATE_PATH && state.admitter.mutates();
    let decision = async {
        if mutating {
            state.admitter.mutate(&body, deadline).await
        } else {
            state.admitter.review(&body, deadline).await
        }
    };
    let decided = std::panic::AssertUnwindSafe(decision).catch_unwind().await;
    match decided {
        Ok(Ok(answer)) => {
            // Over HTTP/2, in frames that h2 batches with other answers (`batching.rs`).
            let body = if parts.version == http::Version::HTTP_2 {
                Body::new(SmallFrames::new(answer))
            } else {
                Body::from(answer)
            };
            let mut response = Response::new(body);
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Ok(Err(error)) => {
            let status = match error {
                ReviewError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            if status.is_server_error() {
                tracing::error!(%error, "admission review failed");
            } else {
                tracing::debug!(%error, "admission review refused");
            }
            text(status, &error.to_string())
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %what, "admission decision panicked; answering 500 so the webhook's failurePolicy applies");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
        }
    }
}

/// `?timeout=5s` as the API server appends it; absent or unparsable means no deadline.
fn request_deadline(query: Option<&str>) -> Option<Instant> {
    let value = query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "timeout")?
        .1;
    let timeout = parse_go_duration(value)?;
    Instant::now().checked_add(timeout)
}

enum BodyError {
    TooLarge,
    Read,
}

/// Reads the whole body, refusing it as soon as it reaches [`MAX_BODY_BYTES`] (before reading
/// anything when Content-Length already says so) and giving up after `timeout`.
///
/// A body that arrives as one chunk (a review usually comes in one TLS read with its headers)
/// is kept as it is, without copying, and one already complete when first polled arms no
/// timer.
async fn read_body(
    body: Body,
    declared_len: Option<u64>,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    if declared_len.is_some_and(|len| len >= MAX_BODY_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    // Trust Content-Length for sizing only up to a point: a client declaring 3 MiB and then
    // sending nothing must not make the server reserve 3 MiB per connection.
    let capacity = declared_len.map_or(16 * 1024, |len| len.min(256 * 1024) as usize);
    let mut read = std::pin::pin!(collect_body(body, capacity));
    if let Poll::Ready(read) = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await
    {
        return read;
    }
    match tokio::time::timeout(timeout, read).await {
        Ok(read) => read,
        Err(_) => Err(BodyError::Read),
    }
}

/// The data frames of `body` in one buffer: the first chunk itself while it is the only one,
/// a copy into a buffer of `capacity` bytes (growing as needed) once there are more.
async fn collect_body(mut body: Body, capacity: usize) -> Result<Bytes, BodyError> {
    let mut first: Option<Bytes> = None;
    let mut joined: Option<Vec<u8>> = None;
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Read)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        len += data.len();
        if len >= MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        if data.is_empty() {
            continue;
        }
        match (&mut joined, first.take()) {
            (Some(joined), _) => joined.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(earlier)) => {
                let mut buf = Vec::with_capacity(capacity.max(len));
                buf.extend_from_slice(&earlier);
                buf.extend_from_slice(&data);
                joined = Some(buf);
            }
        }
    }
    Ok(match (joined, first) {
        (Some(joined), _) => Bytes::from(joined),
        (None, first) => first.unwrap_or_default(),
    })
}

/// A Go `http.Error`-style answer: plain text, no sniffing, message plus newline.
fn text(status: StatusCode, message: &str) -> Response {
    let mut body = String::with_capacity(message.len() + 1);
    body.push_str(message);
    body.push('\n');
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_comes_from_the_timeout_parameter_only_when_valid() {
        assert!(request_deadline(None).is_none());
        assert!(request_deadline(Some("timeout=bogus")).is_none());
        assert!(request_deadline(Some("x=1")).is_none());
        let deadline = request_deadline(Some("a=b&timeout=5s")).expect("deadline");
        let left = deadline - Instant::now();
        assert!(left <= Duration::from_secs(5) && left > Duration::from_secs(4));
    }
}
