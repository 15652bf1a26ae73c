//! Every admission payload of the real-world corpus (AdmissionReview v1 and v1beta1, bare
//! AdmissionRequests, JSON and YAML) decodes and goes through decoding and the decision flow without a panic, under
//! several namespace policies and as each kind of request.

mod common;

use std::collections::BTreeMap;

use podsec_admission::admit::{Admission, RequestContext, admit};
use podsec_admission::object::{Object, Pod};
use podsec_admission::review::{AdmissionReview, GroupVersionResource, request_from_slice};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (format!("pod-security.kubernetes.io/{k}"), (*v).to_owned()))
        .collect()
}

#[test]
fn every_corpus_request_is_decided_without_panic() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let dir = shared.join("corpus/admissionreview");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|entry| entry.expect("entry").path())
        .collect();
    paths.sort();
    assert!(paths.len() >= 100, "{} files", paths.len());

    let privileged_pod: Pod = serde_json::from_str(
        r#"{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","securityContext":{"privileged":true}}]}}"#,
    )
    .expect("pod");
    let clusters = [
        common::StaticCluster::default(),
        common::StaticCluster {
            labels: labels(&[
                ("enforce", "restricted"),
                ("audit", "restricted"),
                ("warn", "restricted"),
            ]),
            pods: vec![privileged_pod],
        },
        common::StaticCluster {
            labels: labels(&[("enforce", "bogus"), ("warn-version", "v1.999")]),
            pods: Vec::new(),
        },
    ];
    let admission = Admission::default();
    let (mut decoded, mut decided) = (0, 0);
    for path in &paths {
        let bytes = std::fs::read(path).expect("readable");
        let request =
            request_from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        decoded += 1;
        // The review wrapper decodes too when there is one.
        let _ = serde_json::from_slice::<AdmissionReview>(&bytes);
        for raw in [&request.object, &request.old_object].into_iter().flatten() {
            let _ = Object::from_request_json(raw.get(), &request.kind);
            let _ = serde_json::from_str::<Object>(raw.get());
        }
        // As sent, then as if routed to each of the three flows.
        let mut variants = vec![request];
        for resource in ["pods", "namespaces", "deployments"] {
            let mut routed = request_from_slice(&bytes).expect("decoded before");
            routed.resource = GroupVersionResource::new("", "v1", resource);
            routed.operation = "UPDATE".into();
            variants.push(routed);
        }
        for request in &variants {
            for cluster in &clusters {
                let outcome = common::block_on(admit(
                    &admission,
                    cluster,
                    request,
                    RequestContext::default(),
                ));
                assert_eq!(outcome.response.uid, request.uid, "{}", path.display());
                decided += 1;
            }
        }
    }
    assert_eq!(decoded, paths.len(), "every payload decodes");
    eprintln!("{decoded} requests decoded, {decided} decisions");
}
