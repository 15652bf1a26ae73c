//! What the benchmarks of this crate share: the conformance pods as JSON bytes, the pod type
//! they decode into, and the two loops the decode target compares.

use std::hint::black_box;
use std::path::Path;

use podsec_pss::pod::{PodMetadata, PodSpec};
use podsec_pss::{Level, LevelVersion, Version, evaluate};

pub const RESTRICTED_LATEST: LevelVersion = LevelVersion::new(Level::Restricted, Version::Latest);

#[derive(Default, serde::Deserialize)]
pub struct Pod {
    #[serde(default)]
    pub metadata: PodMetadata,
    #[serde(default)]
    pub spec: PodSpec,
}

podsec_pss::json_struct!(Pod { "metadata" => metadata, "spec" => spec });

/// Every conformance pod as JSON bytes (falls back to two built-in pods without ../shared).
pub fn pods_as_json() -> &'static [Vec<u8>] {
    static PODS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    PODS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/pss");
        let mut out = Vec::new();
        for level in ["baseline", "restricted"] {
            for minor in 0..=37 {
                for outcome in ["pass", "fail"] {
                    let dir = root.join(level).join(format!("v1.{minor}")).join(outcome);
                    let Ok(entries) = std::fs::read_dir(&dir) else { continue };
                    for entry in entries.flatten() {
                        let text = std::fs::read_to_string(entry.path()).expect("readable fixture");
                        let value: serde_json::Value = serde_saphyr::from_str(&text).expect("fixture YAML");
                        out.push(serde_json::to_vec(&value).expect("JSON"));
                    }
                }
            }
        }
        if out.is_empty() {
            eprintln!("../shared/conformance/pss not found: benchmarking two built-in pods");
            out.push(br#"{"metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}"#.to_vec());
            out.push(br#"{"metadata":{"name":"b"},"spec":{"securityContext":{"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"c","image":"nginx","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}]}}"#.to_vec());
        }
        out
    })
}

/// Decodes each pod on the fast JSON path and evaluates it at `restricted:latest`.
pub fn decode_and_evaluate(pods: &[Vec<u8>]) {
    for bytes in pods {
        let pod: Pod = podsec_pss::json::from_slice(black_box(bytes)).expect("fast decode");
        black_box(evaluate(RESTRICTED_LATEST, &pod.metadata, &pod.spec));
    }
}

/// serde_json merely skipping each pod's bytes (`IgnoredAny`): the yardstick.
pub fn skip_json(pods: &[Vec<u8>]) {
    for bytes in pods {
        let skipped: serde::de::IgnoredAny =
            serde_json::from_slice(black_box(bytes)).expect("valid JSON");
        black_box(skipped);
    }
}
