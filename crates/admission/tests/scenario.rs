//! The recorded namespace rollout of `shared/scenarios/pss-namespace-rollout`: the webhook's
//! answer to the API server's request must be exactly what the cluster answered.

mod common;

use podsec_admission::admit::{Admission, RequestContext, admit};
use podsec_admission::object::Object;
use podsec_admission::review::AdmissionReview;

#[test]
fn namespace_rollout_response_matches_the_recording() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let dir = shared.join("scenarios/pss-namespace-rollout");
    let read = |name: &str| std::fs::read(dir.join(name)).expect("scenario file");

    let namespace_yaml = read("namespace.yaml");
    let namespace: Object = serde_saphyr::from_slice(&namespace_yaml).expect("namespace.yaml");
    let cluster = common::StaticCluster {
        labels: namespace.metadata.labels,
        pods: Vec::new(),
    };
    let review: AdmissionReview =
        serde_json::from_slice(&read("admission-request.json")).expect("admission request");
    let request = review.request.as_ref().expect("request");

    let outcome = common::block_on(admit(
        &Admission::default(),
        &cluster,
        request,
        RequestContext::default(),
    ));
    let reply = review.reply(outcome.response);

    let got = serde_json::to_value(&reply).expect("encodes");
    let want: serde_json::Value =
        serde_json::from_slice(&read("expected-admission-response.json")).expect("expected");
    assert_eq!(got, want);
}

/// `pod.yaml` as a user writes it, under the labels of `namespace.yaml`, through the CLI's
/// building blocks: admitted, with the recorded warning and audit texts.
#[test]
fn namespace_rollout_offline_evaluation() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let dir = shared.join("scenarios/pss-namespace-rollout");
    let read = |name: &str| std::fs::read(dir.join(name)).expect("scenario file");
    let namespace: Object = serde_saphyr::from_slice(&read("namespace.yaml")).expect("namespace");
    let mut pod: Object = serde_saphyr::from_slice(&read("pod.yaml")).expect("pod");
    pod.apply_api_defaults();
    let (policy, errors) = podsec_admission::Policy::from_labels(
        &namespace.metadata.labels,
        podsec_admission::Policy::PRIVILEGED,
    );
    assert!(errors.is_empty());
    let view = pod.pod().expect("a pod");
    let results = podsec_admission::evaluate_pod(
        &podsec_pss::Evaluator::default(),
        &policy,
        view.metadata,
        view.spec,
        true,
    );
    let modes: Vec<_> = results
        .iter()
        .map(|r| {
            (
                r.mode.as_str(),
                r.policy.to_string(),
                r.evaluation.allowed(),
            )
        })
        .collect();
    assert_eq!(
        modes,
        [
            ("enforce", "baseline:v1.29".to_owned(), true),
            ("audit", "restricted:v1.29".to_owned(), false),
            ("warn", "restricted:v1.29".to_owned(), false),
        ]
    );
    let expected = "would violate PodSecurity \"restricted:v1.29\": allowPrivilegeEscalation != false (container \"test-pss\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container \"test-pss\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or container \"test-pss\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \"test-pss\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")";
    assert_eq!(results[1].message(), expected);
    assert_eq!(results[2].message(), expected);
}
