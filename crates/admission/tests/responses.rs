//! Whole AdmissionReview replies, as the API server receives them, for the spec's worked
//! examples (§4.2 enforce denial, §4.6 invalid namespace labels).

mod common;

use std::collections::BTreeMap;

use podsec_admission::admit::{Admission, RequestContext, admit};
use podsec_admission::review::AdmissionReview;
use serde_json::json;

fn reply(review: serde_json::Value, labels: &[(&str, &str)]) -> serde_json::Value {
    let review: AdmissionReview = serde_json::from_str(&review.to_string()).expect("review");
    let cluster = common::StaticCluster {
        labels: labels
            .iter()
            .map(|(k, v)| (format!("pod-security.kubernetes.io/{k}"), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        pods: Vec::new(),
    };
    let request = review.request.as_ref().expect("request");
    let outcome = common::block_on(admit(
        &Admission::default(),
        &cluster,
        request,
        RequestContext::default(),
    ));
    serde_json::to_value(review.reply(outcome.response)).expect("encodes")
}

#[test]
fn restricted_denial_of_a_privileged_pod() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "test-pod"},
        "spec": {
            "initContainers": [{"name": "initcontainer1", "image": "registry.k8s.io/pause"}],
            "containers": [{"name": "container1", "image": "registry.k8s.io/pause",
                "securityContext": {"privileged": true}}]}});
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "e911857d-c318-11e8-bbad-025000000001",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "test-pod", "namespace": "test", "operation": "CREATE",
            "userInfo": {"username": "someone"}, "object": pod}});
    let reply = reply(review, &[("enforce", "restricted")]);
    let message = reply["response"]["status"]["message"]
        .as_str()
        .expect("message");
    assert_eq!(
        message,
        "pods \"test-pod\" is forbidden: violates PodSecurity \"restricted:latest\": privileged (container \"container1\" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (containers \"initcontainer1\", \"container1\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (containers \"initcontainer1\", \"container1\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or containers \"initcontainer1\", \"container1\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or containers \"initcontainer1\", \"container1\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
    );
    insta::assert_json_snapshot!(reply);
}

#[test]
fn invalid_namespace_labels() {
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test",
        "labels": {"pod-security.kubernetes.io/enforce": "unknown"}}});
    let review = json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
        "request": {"uid": "ns-1",
            "kind": {"group": "", "version": "v1", "kind": "Namespace"},
            "resource": {"group": "", "version": "v1", "resource": "namespaces"},
            "name": "test", "namespace": "test", "operation": "CREATE", "object": namespace}});
    insta::assert_json_snapshot!(reply(review, &[]));
}
