//! Tests over the whole input layer: the shared corpus of real manifests and
//! a throughput measurement.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;

use super::{decode, read_documents};

fn shared() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if path.is_dir() {
        Some(path)
    } else {
        println!("skipping: ../shared not found");
        None
    }
}

/// Every file of the corpus is read and decoded without a panic; errors are
/// fine, and a sample of them is printed to judge their clarity.
#[test]
fn reads_the_whole_corpus() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus");
    let mut paths = vec![corpus.to_string_lossy().into_owned()];
    // Files the folder walk skips (logs, notes, templates) are read too when
    // named, and must not panic either.
    for entry in walk_all(&corpus) {
        let is_manifest = matches!(
            entry.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        );
        if !is_manifest {
            paths.push(entry.to_string_lossy().into_owned());
        }
    }

    let (mut documents, mut input_errors, mut decode_errors) = (0, Vec::new(), Vec::new());
    let mut sources = std::collections::BTreeSet::new();
    for item in read_documents(&paths) {
        match item {
            Ok(document) => {
                sources.insert(document.source.clone());
                documents += 1;
                if let Err(error) = decode::<serde_json::Value>(&document) {
                    decode_errors.push(error.to_string());
                }
            }
            Err(error) => input_errors.push(error.to_string()),
        }
    }
    println!(
        "corpus: {} inputs, {documents} documents, {} input errors, {} decode errors",
        sources.len(),
        input_errors.len(),
        decode_errors.len()
    );
    for error in input_errors.iter().chain(&decode_errors) {
        println!("  {}", error.replace(&*corpus.to_string_lossy(), "corpus"));
    }
    assert!(
        documents > 1000,
        "the corpus has more than a thousand documents"
    );
}

fn walk_all(folder: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk_all(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// What the object layer reads first from every document.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Fields are read by serde only; decoding them is the point.
struct Probe {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: serde::de::IgnoredAny,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Metadata {
    name: String,
}

/// Measures the splitter and decoding over about 100 MB of Deployments.
/// Run with:
/// `cargo test --release -p podsec input::tests::throughput -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, not a check; takes a few seconds in release mode"]
fn throughput() -> std::io::Result<()> {
    let directory = std::env::temp_dir().join(format!("podsec-input-{}", std::process::id()));
    std::fs::create_dir_all(&directory)?;
    let yaml = directory.join("stream.yaml");
    let json = directory.join("stream.json");
    let documents = write_streams(&yaml, &json, 100 * 1000 * 1000)?;
    println!(
        "{documents} documents; VmHWM before reading: {}",
        peak_memory()
    );

    for path in [&yaml, &json] {
        let bytes = std::fs::metadata(path)?.len() as f64 / 1e6;
        let paths = [path.to_string_lossy().into_owned()];

        let (started, cpu) = (Instant::now(), thread_cpu_seconds());
        let split = read_documents(&paths).filter(Result::is_ok).count();
        let split_times = (started.elapsed().as_secs_f64(), thread_cpu_seconds() - cpu);

        let (started, cpu) = (Instant::now(), thread_cpu_seconds());
        let mut decoded = 0;
        for document in read_documents(&paths).flatten() {
            if decode::<Probe>(&document).is_ok() {
                decoded += 1;
            }
        }
        let decode_times = (started.elapsed().as_secs_f64(), thread_cpu_seconds() - cpu);
        assert_eq!((split, decoded), (documents, documents));
        // CPU time tells the speed of one core even when others compete
        // for it; wall time is what a user waits.
        println!(
            "{}: {bytes:.0} MB; split {:.0} MB/s ({:.0} MB/s of CPU time); split + decode {:.1} MB/s ({:.1} MB/s of CPU time); VmHWM {}",
            path.display(),
            bytes / split_times.0,
            bytes / split_times.1,
            bytes / decode_times.0,
            bytes / decode_times.1,
            peak_memory()
        );
    }
    std::fs::remove_dir_all(&directory)
}

/// Writes the same Deployments as a YAML stream and as a JSON stream (one
/// pretty-printed value after the other, as `kubectl get -o json` prints
/// items); returns how many.
fn write_streams(yaml: &Path, json: &Path, target_bytes: usize) -> std::io::Result<usize> {
    let mut yaml_out = BufWriter::new(File::create(yaml)?);
    let mut json_out = BufWriter::new(File::create(json)?);
    let (mut written, mut count) = (0, 0);
    while written < target_bytes {
        let text = deployment(count);
        yaml_out.write_all(b"---\n")?;
        yaml_out.write_all(text.as_bytes())?;
        let value: serde_json::Value =
            serde_saphyr::from_str(&text).map_err(std::io::Error::other)?;
        serde_json::to_writer_pretty(&mut json_out, &value)?;
        json_out.write_all(b"\n")?;
        written += text.len() + 4;
        count += 1;
    }
    yaml_out.flush()?;
    json_out.flush()?;
    Ok(count)
}

fn deployment(n: usize) -> String {
    format!(
        r#"# Deployment number {n}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-{n}
  namespace: team-{team}
  labels:
    app.kubernetes.io/name: web-{n}
    app.kubernetes.io/part-of: shop
  annotations:
    description: "The web front end, replica set {n}, serving the shop"
spec:
  replicas: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: web-{n}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: web-{n}
    spec:
      serviceAccountName: web
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: web
          image: registry.example.com/shop/web:1.{n}
          args: ["--port=8080", "--log-level=info"]
          ports:
            - containerPort: 8080
              protocol: TCP
          env:
            - name: SHOP_MODE
              value: production
            - name: SHOP_REPLICA
              value: "{n}"
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{cpu: 500m, memory: 256Mi}}
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: [ALL]
          readinessProbe:
            httpGet:
              path: /healthz
              port: 8080
            periodSeconds: 10
          volumeMounts:
            - name: config
              mountPath: /etc/web
              readOnly: true
      volumes:
        - name: config
          configMap:
            name: web-config
            defaultMode: 0644
"#,
        team = n % 17
    )
}

fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM"))
                .map(|line| {
                    line.split_whitespace()
                        .skip(1)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The CPU time of this thread, from `/proc` (Linux); 0 elsewhere.
fn thread_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses: utime and
    // stime are the 12th and 13th, in ticks of (almost always) 1/100 s.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|field| field.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

/// Measures YAML decoding alone (documents already split and in memory),
/// serde-saphyr against the fast path, into `serde_json::Value` and into the
/// `Object` that `podsec check` decodes. Run with:
/// `cargo test --release -p podsec input::tests::fast_yaml_throughput -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, not a check; takes about a minute in release mode"]
fn fast_yaml_throughput() -> std::io::Result<()> {
    use podsec_admission::Object;
    let directory = std::env::temp_dir().join(format!("podsec-fast-yaml-{}", std::process::id()));
    std::fs::create_dir_all(&directory)?;
    let (yaml, json) = (directory.join("stream.yaml"), directory.join("stream.json"));
    let count = write_streams(&yaml, &json, 100 * 1000 * 1000)?;
    let paths = [yaml.to_string_lossy().into_owned()];
    let documents: Vec<_> = read_documents(&paths).flatten().collect();
    std::fs::remove_dir_all(&directory)?;
    assert_eq!(documents.len(), count);
    let bytes: usize = documents.iter().map(|d| d.text.len()).sum();
    let megabytes = bytes as f64 / 1e6;

    fn measure(name: &str, megabytes: f64, decode_all: impl Fn() -> usize, expected: usize) {
        let (started, cpu) = (Instant::now(), thread_cpu_seconds());
        let decoded = decode_all();
        let (wall, cpu) = (started.elapsed().as_secs_f64(), thread_cpu_seconds() - cpu);
        assert_eq!(decoded, expected, "{name}");
        println!(
            "{name}: {:.1} MB/s ({:.1} MB/s of CPU time)",
            megabytes / wall,
            megabytes / cpu
        );
    }
    let saphyr = |text: &str| super::saphyr_options::yaml_options(text.len());
    println!("{count} documents, {megabytes:.0} MB of YAML");
    measure(
        "serde-saphyr -> Value",
        megabytes,
        || {
            documents
                .iter()
                .filter(|d| {
                    serde_saphyr::from_str_with_options::<serde_json::Value>(
                        &d.text,
                        saphyr(&d.text),
                    )
                    .is_ok()
                })
                .count()
        },
        count,
    );
    measure(
        "fast path -> Value",
        megabytes,
        || {
            documents
                .iter()
                .filter(|d| super::fast_yaml::from_str::<serde_json::Value>(&d.text).is_ok())
                .count()
        },
        count,
    );
    measure(
        "serde-saphyr -> Object",
        megabytes,
        || {
            documents
                .iter()
                .filter(|d| {
                    serde_saphyr::from_str_with_options::<Object>(&d.text, saphyr(&d.text)).is_ok()
                })
                .count()
        },
        count,
    );
    measure(
        "fast path -> Object",
        megabytes,
        || {
            documents
                .iter()
                .filter(|d| super::fast_yaml::from_str::<Object>(&d.text).is_ok())
                .count()
        },
        count,
    );
    measure(
        "decode -> Object (fast path, else serde-saphyr)",
        megabytes,
        || {
            documents
                .iter()
                .filter(|d| decode::<Object>(d).is_ok())
                .count()
        },
        count,
    );
    Ok(())
}
