//! The kube-rs side against recorded API server responses, replayed through kube-rs's own mock
//! transport (`tower_test::mock::pair` behind `kube::Client::new`): the namespace watcher
//! (metadata-only list, watch events, a 410 forcing a re-list, its backoff through an outage),
//! the live namespace GET, the paged pod listing, and the log line of a failed one.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use kube::client::Body;
use podsec_server::admit::{Admitter, ClusterState};
use podsec_server::args::LogFormat;
use podsec_server::cluster::{self, Cluster, ListError, LookupError};
use podsec_server::logging;
use podsec_server::metrics::Metrics;
use podsec_server::state::NamespaceCache;
use tokio::time::Instant;
use tower_test::mock::{self, Handle};

type ApiHandle = Handle<Request<Body>, Response<Body>>;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/api")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn respond(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("response")
}

/// The next request the client sends, within a few seconds.
async fn next(
    handle: &mut std::pin::Pin<&mut ApiHandle>,
) -> (Request<Body>, mock::SendResponse<Response<Body>>) {
    tokio::time::timeout(Duration::from_secs(10), handle.next_request())
        .await
        .expect("client sent no request")
        .expect("client dropped")
}

async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A namespace watcher running on a task, stopped as `serve` stops it.
struct Watcher {
    stop_tx: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    fn start(client: kube::Client, cache: &Arc<NamespaceCache>) -> Self {
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(cluster::watch_namespaces(client, Arc::clone(cache), stop));
        Watcher { stop_tx, task }
    }

    /// Signals the stop and waits for the task, which must end `within` that time.
    async fn stop(self, within: Duration, what: &str) {
        self.stop_tx.send(true).expect("stop");
        tokio::time::timeout(within, self.task)
            .await
            .expect(what)
            .expect("watcher task");
    }
}

fn label(cache: &NamespaceCache, ns: &str, key: &str) -> Option<String> {
    cache.get(ns).and_then(|namespace| {
        namespace
            .labels()
            .get(&format!("pod-security.kubernetes.io/{key}"))
            .cloned()
    })
}

#[tokio::test]
async fn namespace_watcher_lists_watches_and_relists_after_gone() {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let cache = Arc::new(NamespaceCache::new());
    let watcher = Watcher::start(client, &cache);
    let mut handle = pin!(handle);

    // Initial list: paged, metadata only.
    let (request, send) = next(&mut handle).await;
    let uri = request.uri().to_string();
    assert!(uri.starts_with("/api/v1/namespaces?"), "{uri}");
    assert!(uri.contains("limit=500"), "{uri}");
    assert!(!uri.contains("watch=true"), "{uri}");
    let accept = request.headers()["accept"].to_str().expect("accept");
    assert!(accept.contains("as=PartialObjectMetadataList"), "{accept}");
    assert!(!cache.is_synced(), "synced before the listing arrived");
    send.send_response(respond(StatusCode::OK, fixture("namespaces-list.json")));

    eventually("first sync", || cache.is_synced()).await;
    assert_eq!(cache.len(), 3);
    assert_eq!(
        label(&cache, "default", "enforce-version").as_deref(),
        Some("v1.29")
    );
    // Only Pod Security labels are kept.
    assert_eq!(cache.get("default").expect("default").labels().len(), 2);
    assert!(cache.get("legacy").expect("legacy").labels().is_empty());

    // Watch from the list's resourceVersion: an add, a relabel, a delete, then 410 Gone.
    let (request, send) = next(&mut handle).await;
    let uri = request.uri().to_string();
    assert!(
        uri.contains("watch=true") && uri.contains("resourceVersion=1000"),
        "{uri}"
    );
    send.send_response(respond(StatusCode::OK, fixture("namespaces-watch.jsonl")));
    eventually("watch events applied", || {
        cache.get("legacy").is_none()
            && label(&cache, "team-a", "enforce").as_deref() == Some("baseline")
    })
    .await;
    assert_eq!(
        label(&cache, "team-b", "warn").as_deref(),
        Some("restricted")
    );

    // After the 410 the watcher backs off and lists again; meanwhile the old state answers.
    assert!(cache.is_synced());
    assert!(cache.get("team-b").is_some());
    let (request, send) = next(&mut handle).await;
    let uri = request.uri().to_string();
    assert!(
        uri.contains("limit=500") && !uri.contains("watch=true"),
        "{uri}"
    );
    send.send_response(respond(StatusCode::OK, fixture("namespaces-relist.json")));
    // The re-list replaces the state as a whole: what it no longer lists is gone.
    eventually("relist applied", || cache.get("team-c").is_some()).await;
    assert!(cache.get("team-a").is_none() && cache.get("team-b").is_none());
    assert_eq!(cache.len(), 2);

    watcher.stop(Duration::from_secs(5), "watcher stops").await;
}

#[tokio::test]
async fn watcher_errors_keep_the_last_state_serving() {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let cache = Arc::new(NamespaceCache::new());
    let watcher = Watcher::start(client, &cache);
    let mut handle = pin!(handle);

    // The API server is down at start: nothing is synced, lookups say so.
    let (_, send) = next(&mut handle).await;
    send.send_error(std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "connection refused",
    ));
    let (service2, _h2) = mock::pair::<Request<Body>, Response<Body>>();
    let lookups = Cluster::new(kube::Client::new(service2, "default"), Arc::clone(&cache));
    let err = lookups
        .namespace("default", Instant::now() + Duration::from_millis(50))
        .await
        .expect_err("not synced");
    assert!(matches!(err, LookupError::NotSynced), "{err}");

    // It comes back: the retried list syncs the cache.
    let (_, send) = next(&mut handle).await;
    send.send_response(respond(StatusCode::OK, fixture("namespaces-list.json")));
    eventually("sync after outage", || cache.is_synced()).await;

    // The watch fails with a server error: the cache keeps answering from the listing.
    let (_, send) = next(&mut handle).await;
    send.send_response(respond(
        StatusCode::SERVICE_UNAVAILABLE,
        br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server is currently unable to handle the request","reason":"ServiceUnavailable","code":503}"#.to_vec(),
    ));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let namespace = lookups
        .namespace("team-a", Instant::now() + Duration::from_millis(50))
        .await
        .expect("answered from the cache");
    assert_eq!(
        namespace.labels()["pod-security.kubernetes.io/enforce"],
        "restricted"
    );

    watcher.stop(Duration::from_secs(5), "watcher stops").await;
}

#[tokio::test]
async fn unknown_namespaces_are_fetched_live() {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let cache = Arc::new(NamespaceCache::new());
    cache.replace_all(Default::default());
    let cluster = Cluster::new(kube::Client::new(service, "default"), Arc::clone(&cache));
    let server = tokio::spawn(async move {
        let mut handle = pin!(handle);
        let (request, send) = next(&mut handle).await;
        assert_eq!(request.uri().path(), "/api/v1/namespaces/fresh");
        send.send_response(respond(StatusCode::OK, fixture("namespace-get.json")));
        let (request, send) = next(&mut handle).await;
        assert_eq!(request.uri().path(), "/api/v1/namespaces/missing-ns");
        send.send_response(respond(
            StatusCode::NOT_FOUND,
            fixture("namespace-not-found.json"),
        ));
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let namespace = cluster
        .namespace("fresh", deadline)
        .await
        .expect("live get");
    let labels = namespace.labels();
    assert_eq!(
        labels["pod-security.kubernetes.io/enforce-version"],
        "v1.30"
    );
    assert_eq!(labels.len(), 2);
    let err = cluster
        .namespace("missing-ns", deadline)
        .await
        .expect_err("missing");
    assert_eq!(err.to_string(), "namespaces \"missing-ns\" not found");
    server.await.expect("mock server");
}

#[derive(Clone, serde::Deserialize)]
struct LeanPod {
    metadata: podsec_pss::pod::PodMetadata,
}

#[tokio::test]
async fn pods_are_listed_page_by_page_with_continue_tokens() {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let cluster = Cluster::new(
        kube::Client::new(service, "default"),
        Arc::new(NamespaceCache::new()),
    );
    let server = tokio::spawn(async move {
        let mut handle = pin!(handle);
        let (request, send) = next(&mut handle).await;
        let uri = request.uri().to_string();
        assert!(uri.starts_with("/api/v1/namespaces/team-a/pods?"), "{uri}");
        assert!(
            uri.contains("limit=500") && !uri.contains("continue="),
            "{uri}"
        );
        send.send_response(respond(StatusCode::OK, fixture("pods-page-1.json")));
        let (request, send) = next(&mut handle).await;
        let uri = request.uri().to_string();
        assert!(uri.contains("limit=500"), "{uri}");
        assert!(
            uri.contains("continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEi"),
            "{uri}"
        );
        send.send_response(respond(StatusCode::OK, fixture("pods-page-2.json")));
    });
    let pods: Vec<LeanPod> = cluster
        .list_pods("team-a", Instant::now() + Duration::from_secs(5))
        .await
        .expect("listed");
    assert_eq!(pods.len(), 502);
    assert_eq!(pods[0].metadata.name.as_deref(), Some("web-0000"));
    assert_eq!(pods[501].metadata.name.as_deref(), Some("web-0501"));
    assert_eq!(pods[1].metadata.owner_references[0].controller, Some(true));
    server.await.expect("mock server");
}

#[tokio::test]
async fn pod_listing_stops_at_the_deadline() {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let cluster = Cluster::new(
        kube::Client::new(service, "default"),
        Arc::new(NamespaceCache::new()),
    );
    let server = tokio::spawn(async move {
        let mut handle = pin!(handle);
        let (_, send) = next(&mut handle).await;
        send.send_response(respond(StatusCode::OK, fixture("pods-page-1.json")));
        // The second page never comes.
        let (_request, _send) = next(&mut handle).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    });
    let started = Instant::now();
    let err = cluster
        .list_pods::<LeanPod>("team-a", started + Duration::from_millis(300))
        .await
        .err()
        .expect("deadline");
    assert!(matches!(err, ListError::Timeout), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    server.abort();
}

/// Log lines written through the webhook's own subscriber (text, default level), for the
/// current thread: `#[tokio::test]` runs spawned tasks on the test's thread.
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let filter = tracing_subscriber::EnvFilter::new("info");
        let subscriber = logging::subscriber(LogFormat::Text, filter, false, self.clone());
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }

    fn count(&self, what: &str) -> usize {
        self.text()
            .lines()
            .filter(|line| line.contains(what))
            .count()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Logs {
    type Writer = Logs;

    fn make_writer(&'w self) -> Logs {
        self.clone()
    }
}

fn refused() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused")
}

/// The next request under paused time, where a backoff of up to a minute passes at once.
async fn next_paused(
    handle: &mut std::pin::Pin<&mut ApiHandle>,
) -> (Request<Body>, mock::SendResponse<Response<Body>>) {
    tokio::time::timeout(Duration::from_secs(300), handle.next_request())
        .await
        .expect("client sent no request")
        .expect("client dropped")
}

/// The defect: kube-runtime's watcher yields `Ok(Event::Init)` before every re-list, which
/// reset kube-rs's `default_backoff()` and looked like a recovery: during an outage the retries
/// came every 0.8–1.6s, each logged as a failure after a "recovered". Now the delays double
/// (client-go's reflector: 800ms up to 30s, plus up to 100% jitter), the outage is logged
/// once, and only an answer from the API server (here a complete listing) ends it.
#[tokio::test(start_paused = true)]
async fn the_watch_backoff_grows_through_an_outage_until_the_api_server_answers() {
    let logs = Logs::default();
    let _logging = logs.capture();
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let cache = Arc::new(NamespaceCache::new());
    let watcher = Watcher::start(client, &cache);
    let mut handle = pin!(handle);

    let mut asked = Vec::new();
    for _ in 0..8 {
        let (request, send) = next_paused(&mut handle).await;
        asked.push(Instant::now());
        let uri = request.uri().to_string();
        assert!(uri.starts_with("/api/v1/namespaces?"), "{uri}");
        send.send_error(refused());
    }
    let gaps: Vec<Duration> = asked.windows(2).map(|pair| pair[1] - pair[0]).collect();
    for (retry, gap) in gaps.iter().enumerate() {
        let step =
            (Duration::from_millis(800) * 2u32.pow(retry as u32)).min(Duration::from_secs(30));
        assert!(
            *gap >= step && *gap <= step * 2,
            "retry {retry} after {gap:?}, not within {step:?}..{:?}: {gaps:?}",
            step * 2
        );
    }
    assert_eq!(logs.count("namespace watch failed"), 1, "{}", logs.text());
    assert_eq!(
        logs.count("namespace watch recovered"),
        0,
        "{}",
        logs.text()
    );

    // The API server is back: the listing completes, which ends the outage (once).
    let (_, send) = next_paused(&mut handle).await;
    send.send_response(respond(StatusCode::OK, fixture("namespaces-list.json")));
    eventually("sync after the outage", || cache.is_synced()).await;
    assert_eq!(
        logs.count("namespace watch recovered"),
        1,
        "{}",
        logs.text()
    );

    // A new outage (the watch cannot start) begins again at the first step.
    let (request, send) = next_paused(&mut handle).await;
    assert!(request.uri().to_string().contains("watch=true"));
    let failed_at = Instant::now();
    send.send_error(refused());
    let (_, send) = next_paused(&mut handle).await;
    let gap = failed_at.elapsed();
    assert!(
        gap >= Duration::from_millis(800) && gap <= Duration::from_millis(1600),
        "first retry of a new outage after {gap:?}"
    );
    send.send_error(refused());
    assert_eq!(logs.count("namespace watch failed"), 2, "{}", logs.text());
    assert_eq!(
        logs.count("namespace watch recovered"),
        1,
        "{}",
        logs.text()
    );

    // Stopping does not wait for the backoff.
    watcher
        .stop(
            Duration::from_millis(10),
            "watcher stops during its backoff",
        )
        .await;
}

/// The defect: when a namespace's enforce level tightens and its pods cannot be listed, the
/// user is warned, but the cause was dropped and nothing was logged. Upstream logs
/// `failed to list pods` at error level with the error and the namespace.
#[tokio::test]
async fn a_failed_pod_listing_during_an_enforce_tightening_is_logged() {
    let logs = Logs::default();
    let _logging = logs.capture();
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let admitter = live_admitter(service);
    let server = tokio::spawn(async move {
        let mut handle = pin!(handle);
        let (request, send) = next(&mut handle).await;
        assert_eq!(request.uri().path(), "/api/v1/namespaces/team-a/pods");
        send.send_response(respond(
            StatusCode::FORBIDDEN,
            br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"system:serviceaccount:podsec:podsec\" cannot list resource \"pods\" in API group \"\" in the namespace \"team-a\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}"#.to_vec(),
        ));
    });

    let answer = tighten_team_a(&admitter).await;
    assert_eq!(
        answer["response"]["warnings"],
        serde_json::json!(["failed to list pods while checking new PodSecurity enforce level"]),
        "{answer}"
    );
    server.await.expect("mock server");

    let text = logs.text();
    let line = text
        .lines()
        .find(|line| line.contains("failed to list pods"))
        .unwrap_or_else(|| panic!("not logged: {text:?}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(
        line.contains("namespace=\"team-a\"") || line.contains("namespace=team-a"),
        "{line}"
    );
    assert!(line.contains("uid=ns-update-1"), "{line}");
    assert!(line.contains("cannot list resource"), "the cause: {line}");
}

/// An enforce tightening lists the namespace's pods from the API server, page by page (on a
/// task of its own), and warns about those the new level rejects.
#[tokio::test]
async fn an_enforce_tightening_lists_the_pods_and_warns() {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let admitter = live_admitter(service);
    let server = tokio::spawn(async move {
        let mut handle = pin!(handle);
        for page in ["pods-page-1.json", "pods-page-2.json"] {
            let (request, send) = next(&mut handle).await;
            assert_eq!(request.uri().path(), "/api/v1/namespaces/team-a/pods");
            send.send_response(respond(StatusCode::OK, fixture(page)));
        }
    });
    let answer = tighten_team_a(&admitter).await;
    let warnings = &answer["response"]["warnings"];
    assert_eq!(
        warnings[0],
        "existing pods in namespace \"team-a\" violate the new PodSecurity enforce level \"restricted:latest\"",
        "{answer}"
    );
    assert!(
        warnings[1]
            .as_str()
            .is_some_and(|w| w.starts_with("web-0000 (and 501 other pods): ")),
        "{answer}"
    );
    server.await.expect("mock server");
}

/// An admitter on the API server behind `service` (kube-rs's mock).
fn live_admitter(service: mock::Mock<Request<Body>, Response<Body>>) -> Admitter {
    let cache = Arc::new(NamespaceCache::new());
    let cluster = Cluster::new(kube::Client::new(service, "default"), Arc::clone(&cache));
    Admitter::new(
        None,
        ClusterState::Live(cluster),
        cache,
        Arc::new(Metrics::new()),
    )
    .expect("admitter")
}

/// Namespace team-a's enforce level going from baseline to restricted: the answer, allowed.
async fn tighten_team_a(admitter: &Admitter) -> serde_json::Value {
    let namespace = |enforce: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "team-a", "labels": {
                "kubernetes.io/metadata.name": "team-a",
                "pod-security.kubernetes.io/enforce": enforce}}})
    };
    let review = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "ns-update-1",
            "kind": {"group": "", "version": "v1", "kind": "Namespace"},
            "resource": {"group": "", "version": "v1", "resource": "namespaces"},
            "name": "team-a", "namespace": "team-a", "operation": "UPDATE",
            "userInfo": {"username": "admin"},
            "object": namespace("restricted"), "oldObject": namespace("baseline")}});
    let answer = admitter
        .review(review.to_string().as_bytes(), None)
        .await
        .expect("answered");
    let answer: serde_json::Value = serde_json::from_slice(&answer).expect("json");
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    answer
}
