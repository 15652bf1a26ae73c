//! `podsec check` over a large manifest stream: throughput (MB/s) and peak memory.
//!
//! `cargo bench -p podsec --bench check_stream` generates about 100 MB of realistic YAML
//! (Deployments with probes, resources and volumes, Services, ConfigMaps, Pods, a few
//! Namespaces), then times the release binary on it, one process per sample, and prints the
//! throughput and the child's peak RSS. Memory must stay flat whatever the input size: the
//! same run over a 10 MB stream is printed for comparison.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

const TARGET_BYTES: usize = 100 * 1024 * 1024;

fn deployment(i: usize) -> String {
    let hardened = i.is_multiple_of(3);
    let mut s = String::new();
    let _ = write!(
        s,
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: service-{i}
  namespace: team-{ns}
  labels:
    app.kubernetes.io/name: service-{i}
    app.kubernetes.io/part-of: shop
  annotations:
    deployment.kubernetes.io/revision: \"{rev}\"
spec:
  replicas: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: service-{i}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 25%, maxUnavailable: 0}}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: service-{i}
      annotations:
        prometheus.io/scrape: \"true\"
        prometheus.io/port: \"9090\"
    spec:
      serviceAccountName: service-{i}
",
        ns = i % 17,
        rev = i % 9 + 1
    );
    if hardened {
        s.push_str(
            "      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        fsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
",
        );
    }
    let _ = write!(
        s,
        "      initContainers:
      - name: migrate
        image: registry.example.com/shop/service-{i}-migrate:1.{i}.0
        command: [\"/bin/migrate\", \"--to\", \"latest\"]
      containers:
      - name: app
        image: registry.example.com/shop/service-{i}:1.{i}.0
        imagePullPolicy: IfNotPresent
        args:
        - --listen=:8080
        - --metrics=:9090
        - --log-level=info
        ports:
        - {{name: http, containerPort: 8080, protocol: TCP}}
        - {{name: metrics, containerPort: 9090, protocol: TCP}}
        env:
        - name: DATABASE_URL
          valueFrom:
            secretKeyRef: {{name: service-{i}-db, key: url}}
        - name: POD_NAME
          valueFrom:
            fieldRef: {{fieldPath: metadata.name}}
        - name: FEATURE_FLAGS
          value: \"checkout,recommendations,search-v2\"
        resources:
          requests: {{cpu: 100m, memory: 128Mi}}
          limits: {{cpu: \"1\", memory: 512Mi}}
        readinessProbe:
          httpGet: {{path: /readyz, port: http}}
          periodSeconds: 5
        livenessProbe:
          httpGet: {{path: /healthz, port: http}}
          initialDelaySeconds: 10
        volumeMounts:
        - {{name: tmp, mountPath: /tmp}}
        - {{name: config, mountPath: /etc/service, readOnly: true}}
"
    );
    if hardened {
        s.push_str(
            "        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities:
            drop: [\"ALL\"]
",
        );
    }
    let _ = write!(
        s,
        "      volumes:
      - name: tmp
        emptyDir: {{}}
      - name: config
        configMap:
          name: service-{i}-config
---
apiVersion: v1
kind: Service
metadata:
  name: service-{i}
  namespace: team-{ns}
spec:
  selector:
    app.kubernetes.io/name: service-{i}
  ports:
  - {{name: http, port: 80, targetPort: http}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: service-{i}-config
  namespace: team-{ns}
data:
  config.yaml: |
    server:
      port: 8080
      timeout: 30s
    cache:
      size: 1024
      ttl: 5m
---
",
        ns = i % 17
    );
    s
}

/// Writes a stream of about `bytes` bytes and returns its size.
fn generate(path: &Path, bytes: usize) -> usize {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create stream"));
    let mut written = 0;
    for ns in 0..17 {
        let namespace = format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-{ns}\n  labels:\n    pod-security.kubernetes.io/enforce: baseline\n    pod-security.kubernetes.io/warn: restricted\n---\n"
        );
        out.write_all(namespace.as_bytes()).expect("write");
        written += namespace.len();
    }
    let mut i = 0;
    while written < bytes {
        let doc = deployment(i);
        out.write_all(doc.as_bytes()).expect("write");
        written += doc.len();
        i += 1;
    }
    out.flush().expect("flush");
    written
}

struct Streams {
    _dir: tempfile::TempDir,
    large: (std::path::PathBuf, usize),
    small: (std::path::PathBuf, usize),
}

fn streams() -> &'static Streams {
    static STREAMS: OnceLock<Streams> = OnceLock::new();
    STREAMS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let large = dir.path().join("large.yaml");
        let small = dir.path().join("small.yaml");
        let large_size = generate(&large, TARGET_BYTES);
        let small_size = generate(&small, TARGET_BYTES / 10);
        Streams {
            _dir: dir,
            large: (large, large_size),
            small: (small, small_size),
        }
    })
}

/// Runs `podsec check` once; returns seconds of wall time and the child's peak RSS in KiB.
fn run_check(path: &Path, extra: &[&str]) -> (f64, u64) {
    let start = Instant::now();
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg(env!("CARGO_BIN_EXE_podsec"))
        .args(["check", "-o", "json"])
        .args(extra)
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("podsec runs under /usr/bin/time");
    let seconds = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let peak_kib = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    (seconds, peak_kib)
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn check_level_restricted(bencher: divan::Bencher) {
    let (path, size) = &streams().large;
    bencher
        .counter(divan::counter::BytesCount::new(*size))
        .bench(|| run_check(path, &["--level", "restricted"]));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn check_with_namespace_labels(bencher: divan::Bencher) {
    let (path, size) = &streams().large;
    bencher
        .counter(divan::counter::BytesCount::new(*size))
        .bench(|| run_check(path, &[]));
}

/// Peak memory does not show in timings: print it for both stream sizes.
fn print_peak_memory() {
    let s = streams();
    for (label, extra) in [
        ("--level restricted", &["--level", "restricted"][..]),
        ("namespace labels", &[][..]),
    ] {
        let (_, large) = run_check(&s.large.0, extra);
        let (_, small) = run_check(&s.small.0, extra);
        println!(
            "peak RSS, {label}: {} MiB for {:.0} MB, {} MiB for {:.0} MB",
            large / 1024,
            s.large.1 as f64 / 1e6,
            small / 1024,
            s.small.1 as f64 / 1e6
        );
    }
}

fn main() {
    if !Path::new("/usr/bin/time").exists() {
        eprintln!("skipping: /usr/bin/time (Debian package `time`) is needed to read peak memory");
        return;
    }
    print_peak_memory();
    divan::main();
}
