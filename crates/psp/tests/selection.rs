//! Policy selection and the admission phases: order (non-mutating before mutating, byte-wise
//! names), authorization (service account first, errors only from usable policies), the
//! `kubernetes.io/psp` hint, update rules and message wordings.

use podsec_psp::admission::{
    AdmissionRequest, MessageStyle, Operation, Outcome, access_checks, admit, evaluation_order,
    validate,
};
use podsec_psp::authorizer::{AccessRequest, UserInfo};
use podsec_psp::types::PodSecurityPolicy;
use serde_json::{Value, json};

fn policy(name: &str, spec: Value) -> PodSecurityPolicy {
    let mut base = json!({
        "seLinux": {"rule": "RunAsAny"}, "runAsUser": {"rule": "RunAsAny"},
        "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"}, "volumes": ["*"]
    });
    for (key, value) in spec.as_object().into_iter().flatten() {
        base[key] = value.clone();
    }
    PodSecurityPolicy::from_value(&json!({
        "apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": name}, "spec": base
    }))
    .expect("policy parses")
}

fn plain(name: &str) -> PodSecurityPolicy {
    policy(name, json!({}))
}

/// Sets `fsGroup` when unset: mutates every pod without one.
fn mutating(name: &str) -> PodSecurityPolicy {
    policy(
        name,
        json!({"fsGroup": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 1}]}}),
    )
}

/// Forbids privileged containers and host networking.
fn strict(name: &str) -> PodSecurityPolicy {
    policy(name, json!({"privileged": false}))
}

fn simple_pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
           "spec": {"serviceAccountName": "app", "containers": [{"name": "c", "image": "busybox"}]}})
}

fn privileged_pod() -> Value {
    json!({"metadata": {"name": "p"}, "spec": {"hostNetwork": true,
           "containers": [{"name": "c", "securityContext": {"privileged": true}}]}})
}

fn user() -> UserInfo {
    UserInfo::new("jane", ["system:authenticated"])
}

fn allow_all(_: &UserInfo, _: &AccessRequest<'_>) -> bool {
    true
}

fn run(
    pod: &Value,
    operation: Operation,
    old_pod: Option<&Value>,
    policies: &[PodSecurityPolicy],
    authorized: &[&str],
) -> Outcome {
    let authorizer = |_: &UserInfo, request: &AccessRequest<'_>| authorized.contains(&request.name);
    let user = user();
    let request = AdmissionRequest {
        pod,
        old_pod,
        namespace: "ns",
        user: &user,
        operation,
    };
    admit(&request, policies, &authorizer, MessageStyle::Current).expect("pod decodes")
}

#[test]
fn first_non_mutating_policy_wins_even_after_mutating_ones() {
    let policies = [plain("z-plain"), mutating("a-mutating"), plain("y-plain")];
    let outcome = run(
        &simple_pod(),
        Operation::Create,
        None,
        &policies,
        &["z-plain", "a-mutating", "y-plain"],
    );
    assert_eq!(outcome.policy.as_deref(), Some("y-plain"));
    assert_eq!(
        outcome.pod["spec"].get("securityContext"),
        None,
        "the pod is not defaulted"
    );
    assert_eq!(
        outcome.pod["metadata"]["annotations"]["kubernetes.io/psp"],
        json!("y-plain")
    );
}

#[test]
fn first_mutating_policy_by_name_when_none_accepts_unchanged() {
    let policies = [
        mutating("b-mutating"),
        mutating("a-mutating"),
        strict("0-strict"),
    ];
    let outcome = run(
        &simple_pod(),
        Operation::Create,
        None,
        &[mutating("b"), mutating("a")],
        &["a", "b"],
    );
    assert_eq!(outcome.policy.as_deref(), Some("a"));
    let outcome = run(
        &simple_pod(),
        Operation::Create,
        None,
        &policies,
        &["a-mutating", "b-mutating"],
    );
    assert_eq!(outcome.policy.as_deref(), Some("a-mutating"));
    assert_eq!(outcome.pod["spec"]["securityContext"]["fsGroup"], json!(1));
}

#[test]
fn names_sort_byte_wise() {
    let policies = [plain("b"), plain("B"), plain("a"), plain("_")];
    let order: Vec<&str> = evaluation_order(&policies, true, None)
        .iter()
        .map(|policy| policy.name())
        .collect();
    assert_eq!(order, vec!["B", "_", "a", "b"]);
    let order: Vec<&str> = evaluation_order(&policies, false, Some("b"))
        .iter()
        .map(|policy| policy.name())
        .collect();
    assert_eq!(order, vec!["b", "B", "_", "a"]);
    let order: Vec<&str> = evaluation_order(&policies, true, Some("b"))
        .iter()
        .map(|policy| policy.name())
        .collect();
    assert_eq!(
        order,
        vec!["B", "_", "a", "b"],
        "the hint only counts when mutation is not allowed"
    );
}

#[test]
fn unauthorized_policies_are_skipped_and_their_errors_hidden() {
    let policies = [
        plain("a-plain"),
        mutating("b-mutating"),
        strict("c-strict"),
        strict("d-strict"),
    ];
    let outcome = run(
        &simple_pod(),
        Operation::Create,
        None,
        &policies,
        &["b-mutating"],
    );
    assert_eq!(outcome.policy.as_deref(), Some("b-mutating"));

    let outcome = run(
        &privileged_pod(),
        Operation::Create,
        None,
        &policies[2..],
        &["d-strict"],
    );
    assert!(!outcome.allowed);
    assert_eq!(
        outcome.message.as_deref(),
        Some(
            "PodSecurityPolicy: unable to admit pod: [spec.securityContext.hostNetwork: Invalid value: true: Host network is not allowed to be used spec.containers[0].securityContext.privileged: Invalid value: true: Privileged containers are not allowed]"
        )
    );
    let outcome = run(
        &privileged_pod(),
        Operation::Create,
        None,
        &policies[2..],
        &[],
    );
    assert_eq!(
        outcome.message.as_deref(),
        Some("PodSecurityPolicy: unable to admit pod: []")
    );
}

#[test]
fn errors_of_several_usable_policies_are_concatenated_in_name_order() {
    let policies = [policy("b", json!({"hostNetwork": true})), strict("a")];
    let outcome = run(
        &privileged_pod(),
        Operation::Create,
        None,
        &policies,
        &["a", "b"],
    );
    assert_eq!(
        outcome.message.as_deref(),
        Some(
            "PodSecurityPolicy: unable to admit pod: [spec.securityContext.hostNetwork: Invalid value: true: Host network is not allowed to be used spec.containers[0].securityContext.privileged: Invalid value: true: Privileged containers are not allowed spec.containers[0].securityContext.privileged: Invalid value: true: Privileged containers are not allowed]"
        )
    );
    assert_eq!(outcome.errors.len(), 3);
}

#[test]
fn service_account_is_asked_before_the_user_and_lacks_authenticated() {
    let policies = [plain("p")];
    let seen = std::cell::RefCell::new(Vec::new());
    let authorizer = |identity: &UserInfo, _: &AccessRequest<'_>| {
        seen.borrow_mut()
            .push((identity.name.clone(), identity.groups.clone()));
        identity
            .groups
            .iter()
            .any(|group| group == "system:authenticated")
    };
    let pod = simple_pod();
    let user = user();
    let request = AdmissionRequest {
        pod: &pod,
        old_pod: None,
        namespace: "ns",
        user: &user,
        operation: Operation::Create,
    };
    let outcome = admit(&request, &policies, &authorizer, MessageStyle::Current).expect("decodes");
    assert_eq!(
        outcome.policy.as_deref(),
        Some("p"),
        "the user (authenticated) may use it"
    );
    let seen = seen.into_inner();
    assert_eq!(seen[0].0, "system:serviceaccount:ns:app");
    assert_eq!(
        seen[0].1,
        vec!["system:serviceaccounts", "system:serviceaccounts:ns"]
    );
    assert_eq!(seen[2].0, "jane");
}

#[test]
fn no_providers_when_there_are_no_usable_policies() {
    let outcome = run(&simple_pod(), Operation::Create, None, &[], &[]);
    assert_eq!(
        outcome.message.as_deref(),
        Some("PodSecurityPolicy: no providers available to validate pod request")
    );
    assert_eq!(
        outcome.status_message().as_deref(),
        Some(
            "pods \"p\" is forbidden: PodSecurityPolicy: no providers available to validate pod request"
        )
    );
    let broken = policy("broken", json!({"runAsUser": {"rule": "MustRunAs"}}));
    let outcome = run(
        &simple_pod(),
        Operation::Create,
        None,
        &[broken],
        &["broken"],
    );
    assert_eq!(
        outcome.message.as_deref(),
        Some("PodSecurityPolicy: no providers available to validate pod request")
    );
    assert_eq!(
        outcome.unusable_policies[0].reason,
        "MustRunAs requires at least one range"
    );
}

#[test]
fn unusable_policies_are_skipped_silently() {
    let policies = [
        policy("a-broken", json!({"seLinux": {"rule": "MustRunAs"}})),
        strict("b-strict"),
    ];
    let outcome = run(
        &privileged_pod(),
        Operation::Create,
        None,
        &policies,
        &["a-broken", "b-strict"],
    );
    assert_eq!(outcome.errors.len(), 2, "only b-strict's errors");
    assert_eq!(outcome.unusable_policies.len(), 1);
}

#[test]
fn updates_never_mutate_and_skip_mutating_policies_silently() {
    let old = simple_pod();
    let mut updated = simple_pod();
    updated["metadata"]["labels"] = json!({"changed": "yes"});
    let outcome = run(
        &updated,
        Operation::Update,
        Some(&old),
        &[mutating("m")],
        &["m"],
    );
    assert!(!outcome.allowed);
    assert_eq!(
        outcome.message.as_deref(),
        Some("PodSecurityPolicy: unable to validate pod: []")
    );

    let outcome = run(
        &updated,
        Operation::Update,
        Some(&old),
        &[mutating("m"), plain("p")],
        &["m", "p"],
    );
    assert_eq!(outcome.policy.as_deref(), Some("p"));
    assert!(outcome.patch.0.is_empty(), "updates are never patched");
}

#[test]
fn garbage_collector_updates_are_ignored() {
    let old = simple_pod();
    let mut updated = simple_pod();
    updated["metadata"]["finalizers"] = json!(["foregroundDeletion"]);
    updated["metadata"]["ownerReferences"] =
        json!([{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "1"}]);
    let outcome = run(&updated, Operation::Update, Some(&old), &[], &[]);
    assert!(outcome.allowed && outcome.ignored);
    let outcome = run(&old, Operation::Update, Some(&old), &[], &[]);
    assert!(outcome.ignored, "no-op updates too");
}

#[test]
fn the_hint_is_tried_first_when_validating_and_overwritten_on_create() {
    let mut pod = simple_pod();
    pod["metadata"]["annotations"] = json!({"kubernetes.io/psp": "b"});
    let policies = [plain("a"), plain("b")];
    let user = user();
    let request = AdmissionRequest {
        pod: &pod,
        old_pod: None,
        namespace: "ns",
        user: &user,
        operation: Operation::Create,
    };
    let validated =
        validate(&request, &policies, &allow_all, MessageStyle::Current).expect("decodes");
    assert_eq!(validated.policy.as_deref(), Some("b"));
    assert!(
        validated.patch.0.is_empty(),
        "the validating phase does not rewrite the annotation"
    );

    let admitted = admit(&request, &policies, &allow_all, MessageStyle::Current).expect("decodes");
    assert_eq!(admitted.policy.as_deref(), Some("a"));
    assert_eq!(
        admitted.pod["metadata"]["annotations"]["kubernetes.io/psp"],
        json!("a")
    );
    assert_eq!(
        serde_json::to_value(&admitted.patch).expect("serialises"),
        json!([{"op": "replace", "path": "/metadata/annotations/kubernetes.io~1psp", "value": "a"}])
    );
}

#[test]
fn the_hint_grants_nothing() {
    let mut pod = simple_pod();
    pod["metadata"]["annotations"] = json!({"kubernetes.io/psp": "b"});
    let old = simple_pod();
    let outcome = run(&pod, Operation::Update, Some(&old), &[plain("b")], &[]);
    assert!(!outcome.allowed);
}

#[test]
fn ephemeral_containers_must_validate_on_update() {
    let old = simple_pod();
    let mut updated = simple_pod();
    updated["spec"]["ephemeralContainers"] =
        json!([{"name": "debug", "securityContext": {"privileged": true}}]);
    updated["metadata"]["labels"] = json!({"x": "y"});
    let outcome = run(
        &updated,
        Operation::Update,
        Some(&old),
        &[strict("s")],
        &["s"],
    );
    assert_eq!(
        outcome.message.as_deref(),
        Some(
            "PodSecurityPolicy: unable to validate pod: [spec.ephemeralContainers[0].securityContext.privileged: Invalid value: true: Privileged containers are not allowed]"
        )
    );
}

#[test]
fn legacy_wording_applies_to_both_phases() {
    let user = user();
    let pod = privileged_pod();
    let request = AdmissionRequest {
        pod: &pod,
        old_pod: None,
        namespace: "ns",
        user: &user,
        operation: Operation::Create,
    };
    for outcome in [
        admit(&request, &[strict("s")], &allow_all, MessageStyle::Legacy).expect("decodes"),
        validate(&request, &[strict("s")], &allow_all, MessageStyle::Legacy).expect("decodes"),
    ] {
        let message = outcome.message.unwrap_or_default();
        assert!(message.starts_with("PodSecurityPolicy: unable to validate against any pod security policy: [spec.securityContext.hostNetwork"), "{message}");
    }
}

#[test]
fn controller_pods_are_named_by_generate_name() {
    let pod = json!({"metadata": {"generateName": "web-7d8b49557c-"}, "spec": {"containers": [{"name": "c"}]}});
    let outcome = run(&pod, Operation::Create, None, &[], &[]);
    assert_eq!(
        outcome.status_message().as_deref(),
        Some(
            "pods \"web-7d8b49557c-\" is forbidden: PodSecurityPolicy: no providers available to validate pod request"
        )
    );
}

#[test]
fn seccomp_default_annotation_makes_a_policy_mutating() {
    let seccomp = PodSecurityPolicy::from_value(&json!({
        "apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
        "metadata": {"name": "a-seccomp", "annotations": {
            "seccomp.security.alpha.kubernetes.io/defaultProfileName": "runtime/default",
            "seccomp.security.alpha.kubernetes.io/allowedProfileNames": "runtime/default"}},
        "spec": {"seLinux": {"rule": "RunAsAny"}, "runAsUser": {"rule": "RunAsAny"},
                 "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"}, "volumes": ["*"]}
    }))
    .expect("parses");
    let outcome = run(
        &simple_pod(),
        Operation::Create,
        None,
        &[seccomp.clone(), plain("z")],
        &["a-seccomp", "z"],
    );
    assert_eq!(
        outcome.policy.as_deref(),
        Some("z"),
        "a-seccomp mutates (writes the annotation)"
    );
    let outcome = run(
        &simple_pod(),
        Operation::Create,
        None,
        &[seccomp],
        &["a-seccomp"],
    );
    assert_eq!(
        outcome.pod["metadata"]["annotations"]["seccomp.security.alpha.kubernetes.io/pod"],
        json!("runtime/default")
    );
}

#[test]
fn audit_annotations_name_the_phase() {
    let pod = simple_pod();
    let user = user();
    let request = AdmissionRequest {
        pod: &pod,
        old_pod: None,
        namespace: "ns",
        user: &user,
        operation: Operation::Create,
    };
    let admitted =
        admit(&request, &[plain("p")], &allow_all, MessageStyle::Current).expect("decodes");
    assert_eq!(
        admitted.audit_annotation(),
        Some(("podsecuritypolicy.policy.k8s.io/admit-policy", "p"))
    );
    let validated =
        validate(&request, &[plain("p")], &allow_all, MessageStyle::Current).expect("decodes");
    assert_eq!(
        validated.audit_annotation(),
        Some(("podsecuritypolicy.policy.k8s.io/validate-policy", "p"))
    );
}

#[test]
fn objects_that_are_not_pods_fail_closed() {
    let deployment =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}});
    let user = user();
    let request = AdmissionRequest {
        pod: &deployment,
        old_pod: None,
        namespace: "ns",
        user: &user,
        operation: Operation::Create,
    };
    let error =
        admit(&request, &[plain("p")], &allow_all, MessageStyle::Current).expect_err("not a pod");
    assert_eq!(error.to_string(), "unexpected type Deployment");
}

#[test]
fn access_checks_can_be_resolved_up_front() {
    // An async caller resolves every question first (here: only the SA may use "b"), then answers
    // from the table.
    let pod = simple_pod();
    let user = user();
    let policies = [plain("a"), plain("b")];
    let request = AdmissionRequest {
        pod: &pod,
        old_pod: None,
        namespace: "ns",
        user: &user,
        operation: Operation::Create,
    };
    let checks = access_checks(&request, &policies);
    assert_eq!(checks.len(), 2 * 2 * 2, "policies x identities x groups");
    let granted: Vec<(String, String, String)> = checks
        .iter()
        .filter(|(identity, check)| {
            identity.name == "system:serviceaccount:ns:app" && check.policy == "b"
        })
        .map(|(identity, check)| {
            let asked = check.as_request();
            (
                identity.name.clone(),
                asked.api_group.to_string(),
                asked.name.to_string(),
            )
        })
        .collect();
    let table = |identity: &UserInfo, asked: &AccessRequest<'_>| {
        granted.contains(&(
            identity.name.clone(),
            asked.api_group.to_string(),
            asked.name.to_string(),
        ))
    };
    let outcome = admit(&request, &policies, &table, MessageStyle::Current).expect("decodes");
    assert_eq!(outcome.policy.as_deref(), Some("b"));
}

#[test]
fn patches_apply_over_null_parents() {
    let pod = json!({"metadata": {"name": "p", "annotations": null},
                     "spec": {"securityContext": null, "containers": [{"name": "c", "securityContext": null}]}});
    let outcome = run(&pod, Operation::Create, None, &[mutating("m")], &["m"]);
    assert!(outcome.allowed);
    let mut patched = pod.clone();
    json_patch::patch(&mut patched, &outcome.patch).expect("patch applies");
    assert_eq!(
        patched["metadata"]["annotations"],
        json!({"kubernetes.io/psp": "m"})
    );
    assert_eq!(patched["spec"]["securityContext"], json!({"fsGroup": 1}));
    assert_eq!(
        patched["spec"]["containers"][0]["securityContext"],
        json!(null),
        "nothing to write there"
    );
}

#[test]
fn explicit_empty_supplemental_groups_are_not_generated() {
    // Go keeps `[]` apart from nil: the list is not generated and fails validation.
    let groups = policy(
        "g",
        json!({"supplementalGroups": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 9}]}}),
    );
    let pod = json!({"metadata": {"name": "p"}, "spec": {"securityContext": {"supplementalGroups": []}, "containers": [{"name": "c"}]}});
    let outcome = run(&pod, Operation::Create, None, &[groups], &["g"]);
    assert_eq!(
        outcome.message.as_deref(),
        Some(
            "PodSecurityPolicy: unable to admit pod: [spec.securityContext.supplementalGroups: Invalid value: []int64{}: unable to validate empty groups against required ranges]"
        )
    );
}

#[test]
fn operations_and_styles_read_their_wire_names() {
    let operation: Operation = serde_json::from_value(json!("UPDATE")).expect("operation");
    assert_eq!(operation, Operation::Update);
    let style: MessageStyle = serde_json::from_value(json!("legacy")).expect("style");
    assert_eq!(style, MessageStyle::Legacy);
}
