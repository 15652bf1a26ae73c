//! Test harness: certificates made with rcgen, the real webhook started in-process on a
//! loopback port, and an HTTPS client that trusts the test CA.
#![allow(dead_code)] // each test file uses a different part of the harness

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::Full;
use podsec_server::args::LogFormat;
use podsec_server::tls::MinTlsVersion;
use podsec_server::{ServeArgs, Webhook};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The sending half of [`TestServer::http2`].
pub type Http2Sender = hyper::client::conn::http2::SendRequest<Full<Bytes>>;

/// `../shared` beside the repository, if present.
pub fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared not found");
        None
    }
}

/// A CA and a serving certificate for `localhost` / 127.0.0.1 signed by it (PEM).
pub struct Pki {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

pub fn pki(name: &str) -> Pki {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("podsec test CA {name}"));
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, format!("webhook {name}"));
    let cert = params.signed_by(&key, &ca, &ca_key).expect("leaf");
    Pki {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

pub fn client(cas: &[&str]) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .https_only(true)
        .timeout(Duration::from_secs(10));
    for ca in cas {
        builder = builder
            .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("CA"));
    }
    builder.build().expect("client")
}

/// What to start a server with.
#[derive(Default)]
pub struct Options {
    /// `--namespaces-file` content (written to a temp file), or a path to use as is.
    pub namespaces_yaml: Option<String>,
    pub namespaces_path: Option<PathBuf>,
    /// `--config` content.
    pub config_yaml: Option<String>,
    /// `--kubeconfig` content.
    pub kubeconfig: Option<String>,
    pub read_timeout: Option<Duration>,
    /// `--idle-timeout`, when not the default.
    pub idle_timeout: Option<Duration>,
    pub reload_interval: Option<Duration>,
    /// Lay the certificate out as a Kubernetes Secret volume does (`tls.crt -> ..data/tls.crt`,
    /// `..data -> ..<timestamp>`), so that [`TestServer::swap_secret`] can update it the same
    /// way the kubelet does.
    pub secret_layout: bool,
    /// The PodSecurityPolicy flags.
    pub psp: podsec_server::psp::PspArgs,
    /// An API server client to use instead of `--kubeconfig` (kube-rs's mock transport).
    pub client: Option<kube::Client>,
    /// `--shutdown-delay`, `--shutdown-drain` and `--shutdown-timeout`, when not the harness's.
    pub shutdown_delay: Option<Duration>,
    pub shutdown_drain: Option<Duration>,
    pub shutdown_timeout: Option<Duration>,
}

pub struct TestServer {
    pub port: u16,
    pub pki: Pki,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

pub fn args(dir: &Path, port: u16) -> ServeArgs {
    ServeArgs {
        tls_cert_file: dir.join("tls.crt"),
        tls_private_key_file: dir.join("tls.key"),
        bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        secure_port: port,
        tls_min_version: MinTlsVersion::Tls12,
        tls_reload_interval: Duration::from_secs(10),
        request_read_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(90),
        shutdown_delay: Duration::ZERO,
        // Shorter than the default: a test's own clients keep idle connections, and every
        // stop would wait the whole drain for them.
        shutdown_drain: Duration::from_secs(1),
        shutdown_timeout: Duration::from_secs(10),
        config: None,
        kubeconfig: None,
        namespaces_file: None,
        log_format: LogFormat::Text,
        log_level: "warn".to_owned(),
        psp: Default::default(),
    }
}

pub async fn start(options: Options) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki("a");
    if options.secret_layout {
        write_secret_version(dir.path(), "..2026_01_01_00_00_00.1", &pki);
        std::os::unix::fs::symlink("..2026_01_01_00_00_00.1", dir.path().join("..data"))
            .expect("..data");
        std::os::unix::fs::symlink("..data/tls.crt", dir.path().join("tls.crt")).expect("tls.crt");
        std::os::unix::fs::symlink("..data/tls.key", dir.path().join("tls.key")).expect("tls.key");
    } else {
        std::fs::write(dir.path().join("tls.crt"), &pki.cert_pem).expect("write cert");
        std::fs::write(dir.path().join("tls.key"), &pki.key_pem).expect("write key");
    }
    let mut last_error = None;
    // The port is picked free, then bound by the server: retry if another test took it.
    for _ in 0..5 {
        let port = free_port();
        let mut args = args(dir.path(), port);
        if let Some(yaml) = &options.namespaces_yaml {
            let path = dir.path().join("namespaces.yaml");
            std::fs::write(&path, yaml).expect("write namespaces");
            args.namespaces_file = Some(path);
        }
        if let Some(path) = &options.namespaces_path {
            args.namespaces_file = Some(path.clone());
        }
        if let Some(yaml) = &options.config_yaml {
            let path = dir.path().join("config.yaml");
            std::fs::write(&path, yaml).expect("write config");
            args.config = Some(path);
        }
        if let Some(yaml) = &options.kubeconfig {
            let path = dir.path().join("kubeconfig");
            std::fs::write(&path, yaml).expect("write kubeconfig");
            args.kubeconfig = Some(path);
        }
        if let Some(t) = options.read_timeout {
            args.request_read_timeout = t;
        }
        if let Some(t) = options.idle_timeout {
            args.idle_timeout = t;
        }
        if let Some(t) = options.reload_interval {
            args.tls_reload_interval = t;
        }
        if let Some(t) = options.shutdown_delay {
            args.shutdown_delay = t;
        }
        if let Some(t) = options.shutdown_timeout {
            args.shutdown_timeout = t;
        }
        if let Some(t) = options.shutdown_drain {
            args.shutdown_drain = t;
        }
        args.psp = options.psp.clone();
        let bound = match &options.client {
            Some(client) => Webhook::bind_with_client(&args, client.clone()).await,
            None => Webhook::bind(&args).await,
        };
        match bound {
            Ok(webhook) => {
                let (tx, rx) = oneshot::channel::<()>();
                let task = tokio::spawn(webhook.serve(async move {
                    let _ = rx.await;
                }));
                let client = client(&[&pki.ca_pem]);
                return TestServer {
                    port,
                    pki,
                    dir,
                    client,
                    shutdown: Some(tx),
                    task: Some(task),
                };
            }
            Err(e) => last_error = Some(e),
        }
    }
    panic!("server did not start: {:#}", last_error.expect("an error"));
}

fn write_secret_version(dir: &Path, version: &str, pki: &Pki) {
    let path = dir.join(version);
    std::fs::create_dir(&path).expect("version dir");
    std::fs::write(path.join("tls.crt"), &pki.cert_pem).expect("cert");
    std::fs::write(path.join("tls.key"), &pki.key_pem).expect("key");
}

impl TestServer {
    /// Updates the Secret volume as the kubelet does: write a new timestamped directory, point
    /// a temporary symlink at it, and rename that over `..data` in one step.
    pub fn swap_secret(&self, version: &str, pki: &Pki) {
        write_secret_version(self.dir.path(), version, pki);
        let tmp = self.dir.path().join("..data_tmp");
        std::os::unix::fs::symlink(version, &tmp).expect("tmp link");
        std::fs::rename(&tmp, self.dir.path().join("..data")).expect("swap ..data");
    }

    /// A raw TLS connection (HTTP/1.1 by ALPN) for hand-written, possibly malicious requests.
    pub async fn raw_tls(&self) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        tls_connect(self.port, &self.pki.ca_pem, b"http/1.1")
            .await
            .expect("TLS connection")
    }

    /// One HTTP/2 connection (h2 by ALPN) of hyper's own client, as the API server multiplexes
    /// its reviews, and the task that drives it.
    pub async fn http2(&self) -> (Http2Sender, JoinHandle<hyper::Result<()>>) {
        let stream = tls_connect(self.port, &self.pki.ca_pem, b"h2")
            .await
            .expect("TLS");
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(b"h2".as_slice()));
        let (sender, connection) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(stream),
        )
        .await
        .expect("HTTP/2");
        (sender, tokio::spawn(connection))
    }

    /// A review POSTed to `/validate`, for [`TestServer::http2`]'s sender.
    pub fn validate_request(&self, body: Vec<u8>) -> http::Request<Full<Bytes>> {
        http::Request::post(format!("https://localhost:{}/validate", self.port))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("request")
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    /// POSTs a review as the API server does; returns the status and the body as JSON (or as a
    /// JSON string when it is not JSON).
    pub async fn post(&self, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .client
            .post(self.url("/validate"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// The `response` of the answer to `review`, asserting HTTP 200.
    pub async fn decide(&self, review: &Value) -> Value {
        let (status, body) = self.post(serde_json::to_vec(review).expect("json")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["response"]["uid"], review["request"]["uid"], "{body}");
        body["response"].clone()
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        (
            response.status().as_u16(),
            response.text().await.expect("body"),
        )
    }

    /// Starts the graceful shutdown without waiting for it.
    pub fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Shuts down and returns what `serve` returned.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.trigger_shutdown();
        let task = self.task.take().expect("running");
        tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .expect("server stops")
            .expect("server task")
    }
}

/// An AdmissionReview as the API server sends it.
pub struct Review {
    pub api_version: &'static str,
    pub uid: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub resource: &'static str,
    pub sub_resource: &'static str,
    pub namespace: &'static str,
    pub name: &'static str,
    pub operation: &'static str,
    pub username: &'static str,
    pub object: Value,
    pub old_object: Value,
}

impl Default for Review {
    fn default() -> Self {
        Review {
            api_version: "admission.k8s.io/v1",
            uid: "11111111-2222-4333-8444-555555555555",
            group: "",
            version: "v1",
            kind: "Pod",
            resource: "pods",
            sub_resource: "",
            namespace: "default",
            name: "",
            operation: "CREATE",
            username: "jane",
            object: Value::Null,
            old_object: Value::Null,
        }
    }
}

impl Review {
    pub fn json(&self) -> Value {
        let mut request = json!({
            "uid": self.uid,
            "kind": {"group": self.group, "version": self.version, "kind": self.kind},
            "resource": {"group": self.group, "version": self.version, "resource": self.resource},
            "requestKind": {"group": self.group, "version": self.version, "kind": self.kind},
            "requestResource": {"group": self.group, "version": self.version, "resource": self.resource},
            "name": self.name,
            "namespace": self.namespace,
            "operation": self.operation,
            "userInfo": {"username": self.username, "groups": ["system:authenticated"]},
            "object": self.object,
            "oldObject": self.old_object,
            "dryRun": false,
        });
        if !self.sub_resource.is_empty() {
            request["subResource"] = json!(self.sub_resource);
            request["requestSubResource"] = json!(self.sub_resource);
        }
        json!({"apiVersion": self.api_version, "kind": "AdmissionReview", "request": request})
    }
}

/// A pod with one container; `privileged` sets securityContext.privileged.
pub fn pod(name: &str, namespace: &str, privileged: bool) -> Value {
    let mut container = json!({"name": "app", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent",
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "resources": {}});
    if privileged {
        container["securityContext"] = json!({"privileged": true});
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": "aaaaaaaa-0000-4000-8000-000000000001",
                      "labels": {"app": name}},
        "spec": {"containers": [container], "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
                 "serviceAccountName": "default", "securityContext": {}, "schedulerName": "default-scheduler",
                 "enableServiceLinks": true, "preemptionPolicy": "PreemptLowerPriority", "priority": 0}
    })
}

/// A pod that passes `restricted`.
pub fn restricted_pod(name: &str, namespace: &str) -> Value {
    let mut pod = pod(name, namespace, false);
    pod["spec"]["securityContext"] =
        json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}});
    pod["spec"]["containers"][0]["securityContext"] =
        json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
    pod
}

pub fn namespace_object(name: &str, labels: Value) -> Value {
    let mut all = json!({"kubernetes.io/metadata.name": name});
    if let Value::Object(extra) = labels {
        for (k, v) in extra {
            all[k] = v;
        }
    }
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "uid": "bbbbbbbb-0000-4000-8000-000000000001", "labels": all},
           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
}

/// A TLS connection to 127.0.0.1:`port` that trusts `ca_pem` and offers one ALPN protocol.
pub async fn tls_connect(
    port: u16,
    ca_pem: &str,
    alpn: &[u8],
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("ca"))
        .expect("root");
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    connector
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").expect("name"),
            tcp,
        )
        .await
}

/// The `serve` example binary, built (once per test process) by cargo so that it is never
/// older than the code under test: `cargo test --test NAME` builds no examples.
pub fn serve_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test exe");
            let profile_dir = exe
                .parent()
                .and_then(|deps| deps.parent())
                .expect("target dir");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = std::process::Command::new(cargo);
            build.args(["build", "-p", "podsec-server", "--example", "serve"]);
            // What cargo sets for this test process describes this package; build scripts
            // that watch those names (ring's does) would otherwise see them change and rebuild
            // here, and again at the next `cargo test`.
            for (name, _) in std::env::vars_os() {
                let name = name.to_string_lossy();
                if name.starts_with("CARGO_PKG_")
                    || name.starts_with("CARGO_MANIFEST_")
                    || [
                        "CARGO_CRATE_NAME",
                        "CARGO_PRIMARY_PACKAGE",
                        "CARGO_TARGET_TMPDIR",
                        "CARGO_RUSTC_CURRENT_DIR",
                        "OUT_DIR",
                    ]
                    .contains(&name.as_ref())
                {
                    build.env_remove(name.as_ref());
                }
            }
            if profile_dir.ends_with("release") {
                build.arg("--release");
            }
            let status = build.status().expect("cargo build");
            assert!(status.success(), "building the serve example");
            profile_dir.join("examples/serve")
        })
        .clone()
}

/// The serve example running as its own process on a loopback port, its standard error piped
/// (so not a terminal, as under a log collector).
pub struct Process {
    pub child: tokio::process::Child,
    pub port: u16,
    pub pki: Pki,
    pub dir: tempfile::TempDir,
    signalled: bool,
}

impl Process {
    /// Starts it with a certificate, `--namespaces-file` holding `namespaces`, the files in
    /// `files` (name, content) written beside them, and `args`; waits until /readyz answers.
    pub async fn start(namespaces: &str, files: &[(&str, &str)], args: &[&str]) -> Process {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = pki("process");
        std::fs::write(dir.path().join("tls.crt"), &pki.cert_pem).expect("cert");
        std::fs::write(dir.path().join("tls.key"), &pki.key_pem).expect("key");
        std::fs::write(dir.path().join("ns.yaml"), namespaces).expect("ns");
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).expect("file");
        }
        let port = free_port();
        let child = tokio::process::Command::new(serve_binary())
            .args([
                "--tls-cert-file",
                "tls.crt",
                "--tls-private-key-file",
                "tls.key",
            ])
            .args([
                "--bind-address",
                "127.0.0.1",
                "--secure-port",
                &port.to_string(),
            ])
            .args(["--namespaces-file", "ns.yaml"])
            .args(args)
            // What the test is about must not depend on the caller's environment.
            .env_remove("NO_COLOR")
            .env_remove("RUST_LOG")
            .current_dir(dir.path())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn");
        let process = Process {
            child,
            port,
            pki,
            dir,
            signalled: false,
        };
        let client = client(&[&process.pki.ca_pem]);
        let until = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(r) = client.get(process.url("/readyz")).send().await
                && r.status() == 200
            {
                break;
            }
            assert!(tokio::time::Instant::now() < until, "never ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        process
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    pub fn sigterm(&mut self) {
        self.signalled = true;
        let pid = self.child.id().expect("pid").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(killed.success());
    }

    /// Sends SIGTERM (unless sent already), waits for the exit, and returns the exit code and
    /// everything written to standard error.
    pub async fn stop(mut self) -> (Option<i32>, String) {
        use tokio::io::AsyncReadExt as _;
        if !self.signalled {
            self.sigterm();
        }
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("exits after SIGTERM")
            .expect("wait");
        let mut logs = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut logs).await;
        }
        (status.code(), logs)
    }
}
