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
        .write_all(
            format!(
                "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
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

#[tokio::test]
async fn shutdown_during_load_drops_no_request() {
    let mut server = start(options()).await;
    let clients = (0..4)
        .map(|_| (common::client(&[&server.pki.ca_pem]), false))
        .collect();
    let load = Load::start(clients, server.url("/validate"), 20_000);

    // A request that is in flight when shutdown begins: headers and part of the body now, the
    // rest after the shutdown signal.
    let body = review_body();
    let mut in_flight = server.raw_tls().await;
    in_flight
        .write_all(
            format!(
                "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
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
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), in_flight.read_to_end(&mut answer))
        .await
        .expect("answered")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"allowed\":true"), "{answer}");

    let (ok, failed) = load.finish().await;
    // After shutdown nothing may fail except connecting to the closed listener.
    let dropped: Vec<_> = failed
        .iter()
        .filter(|f| !(f.contains("ConnectionRefused") || f.contains("Connect")))
        .collect();
    assert!(dropped.is_empty(), "requests dropped: {dropped:?}");
    assert!(ok > 20, "only {ok} requests before shutdown");
    assert!(shutdown_at.elapsed() < Duration::from_secs(5));
    server.stop().await.expect("clean stop");
}

/// The `serve` example binary (built on demand): the same `run` the `podsec` binary calls.
fn serve_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let binary = profile_dir.join("examples/serve");
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", "podsec-server", "--example", "serve"])
            .status()
            .expect("cargo build");
        assert!(status.success(), "building the serve example");
    }
    binary
}

#[tokio::test]
async fn sigterm_under_load_exits_zero_after_answering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki("bin");
    std::fs::write(dir.path().join("tls.crt"), &pki.cert_pem).expect("cert");
    std::fs::write(dir.path().join("tls.key"), &pki.key_pem).expect("key");
    std::fs::write(dir.path().join("ns.yaml"), NAMESPACES).expect("ns");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = tokio::process::Command::new(serve_binary())
        .args([
            "--tls-cert-file",
            "tls.crt",
            "--tls-private-key-file",
            "tls.key",
            "--bind-address",
            "127.0.0.1",
        ])
        .args([
            "--secure-port",
            &port.to_string(),
            "--namespaces-file",
            "ns.yaml",
            "--log-format",
            "json",
        ])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let client = common::client(&[&pki.ca_pem]);
    let url = |p: &str| format!("https://127.0.0.1:{port}{p}");
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(r) = client.get(url("/readyz")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(Instant::now() < until, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let clients = (0..4)
        .map(|_| (common::client(&[&pki.ca_pem]), false))
        .collect();
    let load = Load::start(clients, url("/validate"), 20_000);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id().expect("pid").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits after SIGTERM")
        .expect("wait");
    let (ok, failed) = load.finish().await;
    let mut logs = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut logs).await;
    }
    assert_eq!(status.code(), Some(0), "{logs}");
    let dropped: Vec<_> = failed
        .iter()
        .filter(|f| !(f.contains("ConnectionRefused") || f.contains("Connect")))
        .collect();
    assert!(dropped.is_empty(), "requests dropped: {dropped:?}");
    assert!(ok > 20, "only {ok} requests");
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
