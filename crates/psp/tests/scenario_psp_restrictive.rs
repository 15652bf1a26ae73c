//! Runs every step of `shared/scenarios/psp-restrictive/expected.json` through the library:
//! verdicts, exact messages (current and legacy wording), the defaulted fields after applying the
//! patch with a plain RFC 6902 applier, and the `kubectl get psp` table.

mod common;

use std::path::Path;

use podsec_psp::admission::{AdmissionRequest, MessageStyle, Operation, admit};
use podsec_psp::authorizer::UserInfo;
use podsec_psp::rbac::RbacAuthorizer;
use podsec_psp::table::render_policy_table;
use podsec_psp::types::PodSecurityPolicy;
use podsec_psp::validation::validate_policy;
use serde_json::Value;

struct ClusterState {
    policies: Vec<PodSecurityPolicy>,
    rbac: RbacAuthorizer,
}

fn load_state(scenario: &Path, files: &[Value]) -> ClusterState {
    let objects: Vec<Value> = files
        .iter()
        .filter_map(Value::as_str)
        .flat_map(|file| common::read_documents(&scenario.join(file)))
        .collect();
    let policies: Vec<PodSecurityPolicy> = objects
        .iter()
        .filter(|object| PodSecurityPolicy::is_policy_object(object))
        .map(|object| PodSecurityPolicy::from_value(object).expect("scenario policy parses"))
        .collect();
    for policy in &policies {
        assert_eq!(
            validate_policy(policy),
            vec![],
            "scenario policy {} is valid",
            policy.name()
        );
    }
    let rbac = RbacAuthorizer::from_objects(&objects).expect("scenario RBAC decodes");
    ClusterState { policies, rbac }
}

#[test]
fn every_step_matches_expected_json() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let scenario = shared.join("scenarios/psp-restrictive");
    let expected_text =
        std::fs::read_to_string(scenario.join("expected.json")).expect("expected.json readable");
    let expected: Value = serde_json::from_str(&expected_text).expect("expected.json parses");
    let steps = expected["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 5);

    for step in steps {
        let number = &step["step"];
        let state = load_state(
            &scenario,
            step["state"].as_array().map_or(&[][..], Vec::as_slice),
        );
        let request_file = step["request"].as_str().expect("request file");
        let pod = common::read_documents(&scenario.join(request_file)).remove(0);
        let namespace = pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        let user: UserInfo = serde_json::from_value(step["user"].clone()).expect("user");
        let request = AdmissionRequest {
            pod: &pod,
            old_pod: None,
            namespace: &namespace,
            user: &user,
            operation: Operation::Create,
        };
        let outcome = admit(
            &request,
            &state.policies,
            &state.rbac,
            MessageStyle::Current,
        )
        .expect("pod decodes");
        let expect = &step["expect"];

        assert_eq!(
            Value::Bool(outcome.allowed),
            expect["allowed"],
            "step {number}: allowed"
        );
        assert_eq!(
            outcome.policy.clone().map_or(Value::Null, Value::String),
            expect["policy"],
            "step {number}: policy"
        );
        if let Some(message) = expect["message"].as_str() {
            assert_eq!(
                outcome.message.as_deref(),
                Some(message),
                "step {number}: message"
            );
        }
        if let Some(status) = expect["status_message"].as_str() {
            assert_eq!(
                outcome.status_message().as_deref(),
                Some(status),
                "step {number}: status message"
            );
        }
        if let Some(legacy) = expect["legacy_message"].as_str() {
            let legacy_outcome =
                admit(&request, &state.policies, &state.rbac, MessageStyle::Legacy)
                    .expect("pod decodes");
            assert_eq!(
                legacy_outcome.message.as_deref(),
                Some(legacy),
                "step {number}: legacy message"
            );
        }
        if outcome.allowed {
            let mut patched = pod.clone();
            json_patch::patch(&mut patched, &outcome.patch).expect("patch applies cleanly");
            assert_eq!(
                patched, outcome.pod,
                "step {number}: patch yields the mutated pod"
            );
            for (path, value) in expect["mutated_fields"].as_object().into_iter().flatten() {
                assert_eq!(
                    common::value_at(&patched, path),
                    Some(value),
                    "step {number}: {path}"
                );
            }
        } else {
            assert!(
                outcome.patch.0.is_empty(),
                "step {number}: a rejection carries no patch"
            );
        }
    }
}

#[test]
fn kubectl_get_psp_table_matches() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let scenario = shared.join("scenarios/psp-restrictive");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(scenario.join("expected.json")).expect("readable"),
    )
    .expect("parses");
    let state = load_state(&scenario, &[Value::from("restrictive-psp.yaml")]);
    let table = render_policy_table(&state.policies);
    let lines: Vec<&str> = table.lines().collect();
    let expected_lines: Vec<&str> = expected["kubectl_get_psp"]
        .as_array()
        .expect("table lines")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(lines, expected_lines);
}

#[test]
fn step_three_patch_adds_parents_first() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let scenario = shared.join("scenarios/psp-restrictive");
    let state = load_state(&scenario, &[Value::from("restrictive-psp.yaml")]);
    let pod = common::read_documents(&scenario.join("replicaset-pod.yaml")).remove(0);
    let user = UserInfo::new(
        "system:serviceaccount:kube-system:replicaset-controller",
        ["system:serviceaccounts"],
    );
    let request = AdmissionRequest {
        pod: &pod,
        old_pod: None,
        namespace: "test-ns",
        user: &user,
        operation: Operation::Create,
    };
    let outcome = admit(
        &request,
        &state.policies,
        &state.rbac,
        MessageStyle::Current,
    )
    .expect("pod decodes");
    let patch = serde_json::to_value(&outcome.patch).expect("patch serialises");
    assert_eq!(
        patch,
        serde_json::json!([
            {"op": "add", "path": "/metadata/annotations", "value": {"kubernetes.io/psp": "super-restricted-psp"}},
            {"op": "add", "path": "/spec/containers/0/securityContext",
             "value": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}},
            {"op": "add", "path": "/spec/securityContext", "value": {"fsGroup": 1, "supplementalGroups": [1]}},
        ])
    );
}
