//! What goes wrong on the wire: malformed and oversize bodies, wrong content types, slow
//! clients, a certificate swapped while load runs, and shutdown (in-process and by SIGTERM to
//! the real binary) while load runs. Every load here targets 127.0.0.1 and is bounded in
//! time and request count.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Options, Review, pki, pod, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

const NAMESPACES: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n  labels:\n    pod-security.kubernetes.io/enforce: baseline\n    pod-security.kubernetes.io/warn: restricted\n";

fn options() -> Options {
    Options {
        namespaces_yaml: Some(NAMESPACES.to_owned()),
        ..Options::default()
    }
}

fn review_body() -> Vec<u8> {
    serde_json::to_vec(
        &Review {
            name: "web",
            object: pod("web", "default", false),
            ..Review::default()
        }
        .json(),
    )
    .expect("json")
}

/// Asserts a Go `http.Error`-style answer.
async fn assert_plain(response: reqwest::Response, status: u16, message: &str) {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.text().await.expect("body"), format!("{message}\n"));
}

#[tokio::test]
async fn malformed_requests_get_upstreams_plain_text_errors() {
    let server = start(options()).await;
    let post = |body: Vec<u8>, content_type: &'static str| {
        server
            .client
            .post(server.url("/validate"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let truncated =
        br#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"#
            .to_vec();
    assert_plain(
        post(truncated, "application/json").await.expect("sent"),
        400,
        "unable to decode the request",
    )
    .await;
    assert_plain(
        post(b"[1,2]".to_vec(), "application/json")
            .await
            .expect("sent"),
        400,
        "unable to decode the request",
    )
    .await;
    assert_plain(
        post(
            br#"{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":{}}"#
                .to_vec(),
            "application/json",
        )
        .await
        .expect("sent"),
        400,
        "unable to decode the request",
    )
    .await;
    assert_plain(
        post(
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec(),
            "application/json",
        )
        .await
        .expect("sent"),
        400,
        "unable to decode the request",
    )
    .await;
    assert_plain(
        post(
            br#"{"apiVersion":"v1","kind":"Pod"}"#.to_vec(),
            "application/json",
        )
        .await
        .expect("sent"),
        400,
        "unexpected AdmissionReview kind: /v1, Kind=Pod",
    )
    .await;
    for content_type in [
        "text/plain",
        "application/json; charset=utf-8",
        "application/yaml",
    ] {
        assert_plain(
            post(review_body(), content_type).await.expect("sent"),
            400,
            "unable to process a request with a non-json content type",
        )
        .await;
    }
    assert_plain(
        post(Vec::new(), "application/json").await.expect("sent"),
        400,
        "request body is empty",
    )
    .await;

    // Exactly the limit is already too much, declared or streamed without a length.
    let limit = 3 * 1024 * 1024;
    let too_large = "request entity is too large; limit is 3145728 bytes";
    assert_plain(
        post(vec![b' '; limit], "application/json")
            .await
            .expect("sent"),
        413,
        too_large,
    )
    .await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..64).map(|_| Ok(vec![b' '; limit / 32])).collect();
    let streamed = server
        .client
        .post(server.url("/validate"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .expect("sent");
    assert_plain(streamed, 413, too_large).await;
    // One byte under the limit is read (and then fails to decode).
    assert_plain(
        post(vec![b' '; limit - 1], "application/json")
            .await
            .expect("sent"),
        400,
        "unable to decode the request",
    )
    .await;

    // The server is unharmed.
    let (status, _) = server.post(review_body()).await;
    assert_eq!(status, 200);
    server.stop().await.expect("clean stop");
}

/// A review arriving in many small pieces (streamed, so chunked) is put back together and
/// answered exactly as the same review sent in one piece.
#[tokio::test]
async fn a_review_in_many_pieces_is_answered_like_one_in_one_piece() {
    let server = start(options()).await;
    let body = review_body();
    let (status, whole) = server.post(body.clone()).await;
    assert_eq!(status, 200, "{whole}");
    assert!(whole["response"]["warnings"].is_array(), "{whole}");
    for size in [1, 7, 1000] {
        let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(size).map(|piece| Ok(piece.to_vec())).collect();
        let (status, pieced) = server
            .post(reqwest::Body::wrap_stream(futures::stream::iter(pieces)))
            .await;
        assert_eq!(status, 200, "{pieced}");
        assert_eq!(pieced, whole, "pieces of {size} bytes");
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn slow_clients_are_cut_off_without_blocking_others() {
    let server = start(Options {
        read_timeout: Some(Duration::from_millis(500)),
        ..options()
    })
    .await;
    let started = Instant::now();

    // 1. Connects and never starts TLS.
    let mut silent = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("tcp");
    // 2. Sends half of its headers.
    let mut half_headers = server.raw_tls().await;
    half_headers
        .write_all(b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: appl")
        .await
        .expect("write");
    // 3. Sends its headers and a third of the promised body.
    let body = review_body();
    let mut half_body = server.raw_tls().await;
    half_body
        .write_all(review_request_head(body.len()).as_bytes())
        .await
        .expect("write");
    half_body
        .write_all(&body[..body.len() / 3])
        .await
        .expect("write");
    half_body.flush().await.expect("flush");

    // Meanwhile everybody else is served at once.
    for _ in 0..20 {
        let (status, _) = server.post(review_body()).await;
        assert_eq!(status, 200);
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "served while slow clients hang"
    );

    // All three are dealt with within the read timeout (plus slack).
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), silent.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "silent TCP client still connected");
    let mut buf = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(3), half_headers.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "client with half headers still connected");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), half_body.read_to_end(&mut buf))
        .await
        .expect("client with half a body still connected");
    let answer = String::from_utf8_lossy(&buf);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.ends_with("unable to read the body from the incoming request\n"),
        "{answer}"
    );
    server.stop().await.expect("clean stop");
}

/// The read timeout bounds reading a request, not the wait for one: a keep-alive connection
/// idle for longer than it is still there for the next request (hyper's header read timeout,
/// which starts when hyper waits for the next request, closed it).
#[tokio::test]
async fn an_idle_keep_alive_connection_outlives_the_read_timeout() {
    let read_timeout = Duration::from_millis(500);
    let server = start(Options {
        read_timeout: Some(read_timeout),
        ..options()
    })
    .await;
    let body = review_body();
    let mut stream = server.raw_tls().await;
    for round in 0..3 {
        let answer = exchange(&mut stream, &body)
            .await
            .unwrap_or_else(|| panic!("request {round} on the kept-alive connection answered"));
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(!answer.closes(), "{}", answer.headers);
        tokio::time::sleep(read_timeout * 3).await;
    }
    server.stop().await.expect("clean stop");
}

/// An idle keep-alive connection is closed after `--idle-timeout`, cleanly (TLS close_notify
/// and end of stream, not a reset), as Go's server closes one after its IdleTimeout.
#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let idle = Duration::from_secs(1);
    let server = start(Options {
        idle_timeout: Some(idle),
        ..options()
    })
    .await;
    let mut stream = server.raw_tls().await;
    let answer = exchange(&mut stream, &review_body())
        .await
        .expect("answered");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answered = Instant::now();
    let mut rest = Vec::new();
    tokio::time::timeout(idle * 4, stream.read_to_end(&mut rest))
        .await
        .expect("closed after the idle timeout")
        .expect("closed cleanly");
    let closed_after = answered.elapsed();
    assert!(
        closed_after >= idle - Duration::from_millis(100),
        "closed after {closed_after:?}"
    );
    assert!(rest.is_empty());
    server.stop().await.expect("clean stop");
}

/// After an idle spell, a request's headers again get the read timeout, counted from their
/// first byte: one that stalls halfway is cut off at the read timeout, not the idle timeout.
#[tokio::test]
async fn a_request_after_an_idle_spell_must_send_its_headers_within_the_read_timeout() {
    let read_timeout = Duration::from_millis(500);
    let server = start(Options {
        read_timeout: Some(read_timeout),
        idle_timeout: Some(Duration::from_secs(30)),
        ..options()
    })
    .await;
    let mut stream = server.raw_tls().await;
    let answer = exchange(&mut stream, &review_body())
        .await
        .expect("answered");
    assert_eq!(answer.status, 200, "{}", answer.body);
    tokio::time::sleep(read_timeout * 2).await;
    stream
        .write_all(b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: appl")
        .await
        .expect("write");
    stream.flush().await.expect("flush");
    let begun = Instant::now();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
        .await
        .expect("cut off");
    let cut_after = begun.elapsed();
    assert!(
        cut_after >= read_timeout - Duration::from_millis(100) && cut_after < read_timeout * 4,
        "cut off after {cut_after:?}"
    );
    server.stop().await.expect("clean stop");
}

/// Runs `tasks` clients in a loop until `stop` (or `max` requests in total), counting answers.
struct Load {
    ok: Arc<AtomicUsize>,
    failed: Arc<std::sync::Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(clients: Vec<(reqwest::Client, bool)>, url: String, max: usize) -> Load {
        let ok = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let body = review_body();
        let handles = clients
            .into_iter()
            .map(|(client, fresh_connections)| {
                let (ok, failed, stop, sent, url, body) = (
                    ok.clone(),
                    failed.clone(),
                    stop.clone(),
                    sent.clone(),
                    url.clone(),
                    body.clone(),
                );
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed)
                        && sent.fetch_add(1, Ordering::Relaxed) < max
                    {
                        let mut request = client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(body.clone());
                        if fresh_connections {
                            // A new TLS handshake for every request.
                            request = request.header("connection", "close");
                        }
                        match request.send().await {
                            Ok(response) if response.status() == 200 => {
                                let text = response.text().await.unwrap_or_default();
                                if text.contains("\"allowed\":true") {
                                    ok.fetch_add(1, Ordering::Relaxed);
                                } else {
                                    failed
                                        .lock()
                                        .expect("lock")
                                        .push(format!("bad body {text}"));
                                }
                            }
                            Ok(response) => failed
                                .lock()
                                .expect("lock")
                                .push(format!("status {}", response.status())),
                            Err(error) => failed.lock().expect("lock").push(format!("{error:?}")),
                        }
                    }
                })
            })
            .collect();
        Load {
            ok,
            failed,
            stop,
            handles,
        }
    }

    async fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for handle in self.handles {
            handle.await.expect("load task");
        }
        let failed = self.failed.lock().expect("lock").clone();
        (self.ok.load(Ordering::Relaxed), failed)
    }
}

#[tokio::test]
async fn certificate_swapped_under_load_fails_no_request() {
    let server = start(Options {
        secret_layout: true,
        reload_interval: Some(Duration::from_millis(50)),
        ..options()
    })
    .await;
    let next = pki("b");
    let both = || common::client(&[&server.pki.ca_pem, &next.ca_pem]);
    let keep_alive = both();
    let load = Load::start(
        vec![
            (keep_alive.clone(), false),
            (both(), false),
            (both(), true),
            (both(), true),
        ],
        server.url("/validate"),
        20_000,
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.swap_secret("..2026_01_02_00_00_00.2", &next);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (ok, failed) = load.finish().await;
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(ok > 50, "only {ok} requests");

    // New connections get the new certificate, …
    let only_new = common::client(&[&next.ca_pem]);
    let response = only_new
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("new certificate served");
    assert_eq!(response.status(), 200);
    let only_old = common::client(&[&server.pki.ca_pem]);
    assert!(
        only_old.get(server.url("/healthz")).send().await.is_err(),
        "old certificate still served"
    );
    // … connections opened before the swap keep working.
    assert_eq!(
        keep_alive
            .get(server.url("/healthz"))
            .send()
            .await
            .expect("kept")
            .status(),
        200
    );
    let metrics = reqwest_text(&only_new, &server.url("/metrics")).await;
    assert!(
        metrics.contains("podsec_webhook_certificate_reloads_total{result=\"success\"} 1"),
        "{metrics}"
    );
    server.stop().await.expect("clean stop");
}

async fn reqwest_text(client: &reqwest::Client, url: &str) -> String {
    client
        .get(url)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text")
}

#[tokio::test]
async fn a_broken_certificate_update_keeps_the_old_one() {
    let server = start(Options {
        secret_layout: true,
        reload_interval: Some(Duration::from_millis(50)),
        ..options()
    })
    .await;
    // The key of another pair: loading must fail the key check and keep serving the old pair.
    let other = pki("c");
    let mismatched = common::Pki {
        ca_pem: other.ca_pem.clone(),
        cert_pem: other.cert_pem.clone(),
        key_pem: server.pki.key_pem.clone(),
    };
    server.swap_secret("..2026_01_03_00_00_00.3", &mismatched);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.get("/healthz").await.0, 200);
    let metrics = server.get("/metrics").await.1;
    assert!(
        metrics.contains("podsec_webhook_certificate_reloads_total{result=\"failure\"} 1"),
        "{metrics}"
    );
    server.stop().await.expect("clean stop");
}

/// Load as a benchmark client such as oha makes it: a few connections, each used by one
/// worker for request after request through hyper's own client connection, which (unlike
/// reqwest's pool) never retries, so a request lost to a closing connection shows here. A
/// worker opens a new connection when its connection is closed (after an answer with
/// `Connection: close`, or when the server closed it idle), and stops when it cannot connect
/// (the listener is closed), after `max` requests in all, or when told to.
struct KeepAliveLoad {
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    /// Requests handed to an open connection that got no complete answer.
    dropped: std::sync::Mutex<Vec<String>>,
    /// Answers other than 200 with an allowed review.
    wrong: std::sync::Mutex<Vec<String>>,
    /// Answers that carried `Connection: close`.
    told_to_close: AtomicUsize,
}

impl KeepAliveLoad {
    fn start(port: u16, ca_pem: &str, workers: usize, max: usize) -> KeepAliveLoad {
        let tally = Arc::new(Tally::default());
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let body = axum::body::Bytes::from(review_body());
        let handles = (0..workers)
            .map(|_| {
                let (tally, stop, sent, body, ca) = (
                    tally.clone(),
                    stop.clone(),
                    sent.clone(),
                    body.clone(),
                    ca_pem.to_owned(),
                );
                tokio::spawn(async move {
                    while let Ok(stream) = common::tls_connect(port, &ca, b"http/1.1").await {
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let Ok((mut sender, connection)) =
                            hyper::client::conn::http1::handshake(io).await
                        else {
                            return;
                        };
                        tokio::spawn(connection);
                        loop {
                            if stop.load(Ordering::Relaxed)
                                || sent.fetch_add(1, Ordering::Relaxed) >= max
                            {
                                return;
                            }
                            // Closed before anything was sent on it: open another.
                            if sender.ready().await.is_err() {
                                break;
                            }
                            let request = http::Request::post("/validate")
                                .header("host", "localhost")
                                .header("content-type", "application/json")
                                .body(http_body_util::Full::new(body.clone()))
                                .expect("request");
                            let response = match sender.send_request(request).await {
                                Ok(response) => response,
                                Err(error) => {
                                    tally.dropped.lock().expect("lock").push(error.to_string());
                                    break;
                                }
                            };
                            let status = response.status();
                            let close = response
                                .headers()
                                .get("connection")
                                .is_some_and(|value| value == "close");
                            match http_body_util::BodyExt::collect(response.into_body()).await {
                                Ok(answer) => {
                                    let text =
                                        String::from_utf8_lossy(&answer.to_bytes()).into_owned();
                                    if status == 200 && text.contains("\"allowed\":true") {
                                        tally.ok.fetch_add(1, Ordering::Relaxed);
                                    } else {
                                        tally
                                            .wrong
                                            .lock()
                                            .expect("lock")
                                            .push(format!("{status} {text}"));
                                    }
                                }
                                Err(error) => {
                                    tally.dropped.lock().expect("lock").push(error.to_string());
                                    break;
                                }
                            }
                            if close {
                                tally.told_to_close.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        KeepAliveLoad {
            tally,
            stop,
            handles,
        }
    }

    /// Waits up to `within` for the workers to stop by themselves, then stops them.
    async fn finish(self, within: Duration) -> Arc<Tally> {
        let until = Instant::now() + within;
        for handle in self.handles {
            let left = until.saturating_duration_since(Instant::now());
            let mut handle = handle;
            if tokio::time::timeout(left, &mut handle).await.is_err() {
                self.stop.store(true, Ordering::Relaxed);
                handle.await.expect("load task");
            }
        }
        self.tally
    }
}

impl Tally {
    fn assert_nothing_dropped(&self, at_least: usize) {
        let dropped = self.dropped.lock().expect("lock");
        let wrong = self.wrong.lock().expect("lock");
        let ok = self.ok.load(Ordering::Relaxed);
        assert!(
            dropped.is_empty(),
            "{} requests dropped ({ok} answered): {:?}",
            dropped.len(),
            &dropped[..dropped.len().min(5)]
        );
        assert!(
            wrong.is_empty(),
            "wrong answers: {:?}",
            &wrong[..wrong.len().min(5)]
        );
        assert!(ok >= at_least, "only {ok} requests answered");
    }
}

/// An HTTP/1.1 answer read off the wire.
struct Answer {
    status: u16,
    /// The header block, lower-cased, each line ending in CRLF.
    headers: String,
    body: String,
}

impl Answer {
    fn closes(&self) -> bool {
        self.headers.contains("\r\nconnection: close\r\n")
    }
}

/// Reads one answer (with a Content-Length body); `None` when the connection ends first.
async fn read_answer<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Option<Answer> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let (head_len, body_len) = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end + 2]).to_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    while buf.len() < head_len + body_len {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let headers = String::from_utf8_lossy(&buf[..head_len - 2]).to_lowercase();
    let status = headers.get(9..12)?.parse().ok()?;
    let body = String::from_utf8_lossy(&buf[head_len..head_len + body_len]).into_owned();
    Some(Answer {
        status,
        headers,
        body,
    })
}

/// The head of an HTTP/1.1 review request whose body has `len` bytes.
fn review_request_head(len: usize) -> String {
    format!(
        "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    )
}

/// Sends one review as an HTTP/1.1 request on `stream` and reads the answer; `None` when the
/// connection closes (or is found closed) instead.
async fn exchange<S>(stream: &mut S, body: &[u8]) -> Option<Answer>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    stream
        .write_all(review_request_head(body.len()).as_bytes())
        .await
        .ok()?;
    stream.write_all(body).await.ok()?;
    stream.flush().await.ok()?;
    read_answer(stream).await
}

/// The defect behind dropped requests at shutdown: a keep-alive connection that is idle at
/// the signal was closed under its client, which may be sending its next request right then.
/// Instead it is answered once more, told to close, and only a connection idle for the whole
/// drain is closed, when the drain ends.
#[tokio::test]
async fn an_idle_keep_alive_connection_is_told_to_close_not_closed_under_its_client() {
    let drain = Duration::from_secs(2);
    let mut server = start(Options {
        shutdown_drain: Some(drain),
        ..options()
    })
    .await;
    let body = review_body();
    let mut comes_back = server.raw_tls().await;
    let mut stays_idle = server.raw_tls().await;
    for stream in [&mut comes_back, &mut stays_idle] {
        let answer = exchange(stream, &body).await.expect("answered");
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(!answer.closes(), "{}", answer.headers);
    }

    server.trigger_shutdown();
    let signalled = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answer = exchange(&mut comes_back, &body)
        .await
        .expect("a request on a kept-alive connection after the signal is answered");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("\"allowed\":true"), "{}", answer.body);
    assert!(answer.closes(), "not told to close: {}", answer.headers);
    // … and the server closes it after that answer.
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(1), comes_back.read_to_end(&mut rest))
        .await
        .expect("closed after the answer that said so");
    assert!(rest.is_empty());

    // The one that never came back is closed when the drain is over, not before.
    let _ = tokio::time::timeout(drain * 3, stays_idle.read_to_end(&mut rest))
        .await
        .expect("closed at the end of the drain");
    let closed_after = signalled.elapsed();
    assert!(
        closed_after >= drain - Duration::from_millis(200),
        "closed after {closed_after:?}"
    );
    server.stop().await.expect("clean stop");
}

/// A drain as long as the shutdown timeout still ends cleanly: the connections that stayed idle
/// are closed at the timeout, which is no reason to report requests that did not finish.
#[tokio::test]
async fn a_drain_as_long_as_the_shutdown_timeout_closes_idle_connections_cleanly() {
    let server = start(Options {
        shutdown_drain: Some(Duration::from_secs(1)),
        shutdown_timeout: Some(Duration::from_secs(1)),
        ..options()
    })
    .await;
    let mut idle = server.raw_tls().await;
    let answer = exchange(&mut idle, &review_body()).await.expect("answered");
    assert_eq!(answer.status, 200, "{}", answer.body);
    server
        .stop()
        .await
        .expect("an idle connection at the timeout is closed, not a failed shutdown");
}

/// During `--shutdown-delay` new connections are still served (load balancers may not have
/// noticed yet), each answer already telling the client to close, and `/readyz` fails.
#[tokio::test]
async fn during_the_shutdown_delay_new_connections_are_served_and_told_to_close() {
    let mut server = start(Options {
        shutdown_delay: Some(Duration::from_secs(1)),
        ..options()
    })
    .await;
    server.trigger_shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut late = server.raw_tls().await;
    let answer = exchange(&mut late, &review_body())
        .await
        .expect("a new connection during the delay is served");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.closes(), "not told to close: {}", answer.headers);

    let mut probe = server.raw_tls().await;
    probe
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let answer = read_answer(&mut probe).await.expect("readyz answered");
    assert_eq!(answer.status, 500);
    assert_eq!(
        answer.body,
        "[-]shutdown failed: the server is shutting down\n"
    );
    assert!(answer.closes(), "{}", answer.headers);
    server.stop().await.expect("clean stop");
}

/// HTTP/2 needs no drain: GOAWAY at the signal, and the connection closes once its streams
/// are done.
#[tokio::test]
async fn an_http2_connection_gets_goaway_at_the_signal() {
    let mut server = start(Options {
        shutdown_drain: Some(Duration::from_secs(10)),
        ..options()
    })
    .await;
    let (mut sender, connection) = server.http2().await;
    let request = server.validate_request(review_body());
    let response = sender.send_request(request).await.expect("answered");
    assert_eq!(response.status(), 200);

    server.trigger_shutdown();
    tokio::time::timeout(Duration::from_secs(3), connection)
        .await
        .expect("the server closed the connection well before the drain's end")
        .expect("connection task")
        .expect("a clean close");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn shutdown_during_load_drops_no_request() {
    let mut server = start(options()).await;
    let load = KeepAliveLoad::start(server.port, &server.pki.ca_pem, 4, 100_000);

    // A request that is in flight when shutdown begins: headers and part of the body now, the
    // rest after the shutdown signal.
    let body = review_body();
    let mut in_flight = server.raw_tls().await;
    in_flight
        .write_all(review_request_head(body.len()).as_bytes())
        .await
        .expect("write");
    in_flight.write_all(&body[..100]).await.expect("write");
    in_flight.flush().await.expect("flush");

    tokio::time::sleep(Duration::from_millis(300)).await;
    server.trigger_shutdown();
    let shutdown_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    in_flight
        .write_all(&body[100..])
        .await
        .expect("rest of the body");
    in_flight.flush().await.expect("flush");
    let answer = tokio::time::timeout(Duration::from_secs(5), read_answer(&mut in_flight))
        .await
        .expect("answered in time")
        .expect("answered");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("\"allowed\":true"), "{}", answer.body);
    assert!(answer.closes(), "{}", answer.headers);

    // The workers stop by themselves once they cannot connect any more.
    let tally = load.finish(Duration::from_secs(5)).await;
    tally.assert_nothing_dropped(20);
    assert!(tally.told_to_close.load(Ordering::Relaxed) >= 1);
    assert!(shutdown_at.elapsed() < Duration::from_secs(5));
    server.stop().await.expect("clean stop");
}

/// The same through the real binary and a real SIGTERM, with the default drain.
#[tokio::test]
async fn sigterm_under_load_exits_zero_after_answering() {
    let mut process = common::Process::start(NAMESPACES, &[], &["--log-format", "json"]).await;
    let load = KeepAliveLoad::start(process.port, &process.pki.ca_pem, 4, 100_000);
    tokio::time::sleep(Duration::from_millis(300)).await;
    process.sigterm();
    let tally = load.finish(Duration::from_secs(10)).await;
    let (code, logs) = process.stop().await;
    assert_eq!(code, Some(0), "{logs}");
    tally.assert_nothing_dropped(20);
    // JSON logs, one object per line, including the shutdown.
    assert!(
        logs.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{logs}"
    );
    assert!(logs.contains("shutdown complete"), "{logs}");
}

#[test]
fn port_zero_is_refused_at_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = common::args(dir.path(), 0);
    let error = podsec_server::run(args).expect_err("port 0");
    assert_eq!(error.to_string(), "no serving info configured");
}
