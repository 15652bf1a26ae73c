//! Defaulting converges: admitting an admitted (patched) pod again changes nothing but, at most,
//! the `kubernetes.io/psp` annotation (the chosen policy accepts the pod unchanged), and the
//! validating phase accepts the patched pod.

use podsec_psp::admission::{AdmissionRequest, MessageStyle, Operation, admit, validate};
use podsec_psp::authorizer::{AccessRequest, UserInfo};
use podsec_psp::types::PodSecurityPolicy;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn policy(name: &str, annotations: Value, spec: Value) -> PodSecurityPolicy {
    let mut base = json!({
        "seLinux": {"rule": "RunAsAny"}, "runAsUser": {"rule": "RunAsAny"},
        "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"}, "volumes": ["*"]
    });
    for (key, value) in spec.as_object().into_iter().flatten() {
        base[key] = value.clone();
    }
    PodSecurityPolicy::from_value(&json!({
        "apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
        "metadata": {"name": name, "annotations": annotations}, "spec": base
    }))
    .expect("pool policy parses")
}

/// A pool of policies covering every kind of defaulting.
fn pool() -> Vec<PodSecurityPolicy> {
    let ranges = |min: i64, max: i64| json!([{"min": min, "max": max}]);
    vec![
        policy("plain", json!({}), json!({})),
        policy(
            "groups",
            json!({}),
            json!({
            "fsGroup": {"rule": "MustRunAs", "ranges": ranges(1, 65535)},
            "supplementalGroups": {"rule": "MustRunAs", "ranges": ranges(1, 65535)}}),
        ),
        policy(
            "users",
            json!({}),
            json!({
            "runAsUser": {"rule": "MustRunAs", "ranges": ranges(1000, 2000)},
            "runAsGroup": {"rule": "MustRunAs", "ranges": ranges(3000, 3000)}}),
        ),
        policy(
            "nonroot",
            json!({}),
            json!({"runAsUser": {"rule": "MustRunAsNonRoot"}}),
        ),
        policy(
            "caps",
            json!({}),
            json!({
            "defaultAddCapabilities": ["NET_BIND_SERVICE"], "requiredDropCapabilities": ["ALL", "NET_RAW"],
            "allowedCapabilities": ["CHOWN"]}),
        ),
        policy(
            "readonly",
            json!({}),
            json!({"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
            "defaultAllowPrivilegeEscalation": false}),
        ),
        policy(
            "selinux",
            json!({}),
            json!({"seLinux": {"rule": "MustRunAs",
            "seLinuxOptions": {"level": "s0:c1,c2", "type": "container_t"}}}),
        ),
        policy(
            "profiles",
            json!({
            "seccomp.security.alpha.kubernetes.io/defaultProfileName": "runtime/default",
            "seccomp.security.alpha.kubernetes.io/allowedProfileNames": "runtime/default,unconfined",
            "apparmor.security.beta.kubernetes.io/defaultProfileName": "runtime/default",
            "apparmor.security.beta.kubernetes.io/allowedProfileNames": "runtime/default"}),
            json!({}),
        ),
        policy(
            "runtime",
            json!({}),
            json!({"runtimeClass": {"allowedRuntimeClassNames": ["gvisor"],
            "defaultRuntimeClassName": "gvisor"}}),
        ),
        policy(
            "restricted",
            json!({
            "apparmor.security.beta.kubernetes.io/defaultProfileName": "runtime/default",
            "apparmor.security.beta.kubernetes.io/allowedProfileNames": "runtime/default"}),
            json!({
            "allowPrivilegeEscalation": false, "requiredDropCapabilities": ["ALL"],
            "runAsUser": {"rule": "MustRunAsNonRoot"},
            "supplementalGroups": {"rule": "MustRunAs", "ranges": ranges(1, 65535)},
            "fsGroup": {"rule": "MustRunAs", "ranges": ranges(1, 65535)},
            "volumes": ["configMap", "emptyDir", "projected", "secret"]}),
        ),
        policy(
            "hostnet",
            json!({"seccomp.security.alpha.kubernetes.io/allowedProfileNames": "*"}),
            json!({
            "privileged": true, "allowedCapabilities": ["CHOWN", "NET_RAW", "NET_BIND_SERVICE"],
            "requiredDropCapabilities": ["ALL"], "hostNetwork": true, "hostPorts": [{"min": 0, "max": 65535}]}),
        ),
    ]
}

fn optional(value: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(value)
}

/// Mostly unset, sometimes true, sometimes false.
fn rare_bool() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![6 => Just(None), 1 => Just(Some(json!(true))), 1 => Just(Some(json!(false)))]
}

fn container_context() -> impl Strategy<Value = Option<Value>> {
    let capability = prop_oneof![
        Just("CHOWN"),
        Just("NET_RAW"),
        Just("ALL"),
        Just("NET_BIND_SERVICE")
    ];
    (
        prop_oneof![
            4 => Just(None),
            1 => Just(Some(json!(0))),
            1 => Just(Some(json!(1000))),
            1 => Just(Some(json!(1500))),
            1 => Just(Some(json!(5000)))
        ],
        rare_bool(),
        rare_bool(),
        rare_bool(),
        rare_bool(),
        proptest::option::weighted(
            0.3,
            (
                proptest::collection::vec(capability.clone(), 0..3),
                proptest::collection::vec(capability, 0..3),
            ),
        ),
    )
        .prop_map(
            |(run_as_user, non_root, escalation, read_only, privileged, capabilities)| {
                let mut context = Map::new();
                let mut put = |key: &str, value: Option<Value>| {
                    if let Some(value) = value {
                        context.insert(key.to_string(), value);
                    }
                };
                put("runAsUser", run_as_user);
                put("runAsNonRoot", non_root);
                put("allowPrivilegeEscalation", escalation);
                put("readOnlyRootFilesystem", read_only);
                put("privileged", privileged);
                put(
                    "capabilities",
                    capabilities.map(|(add, drop)| json!({"add": add, "drop": drop})),
                );
                (!context.is_empty()).then_some(Value::Object(context))
            },
        )
}

fn pod() -> impl Strategy<Value = Value> {
    (
        proptest::collection::vec(container_context(), 1..4),
        proptest::collection::vec(container_context(), 0..2),
        optional(prop_oneof![Just(json!(0)), Just(json!(2))]),
        optional(prop_oneof![Just(json!([5])), Just(json!([0, 7]))]),
        optional(Just(json!({"level": "s0:c2,c1", "type": "container_t"}))),
        prop::bool::weighted(0.1),
        any::<bool>(),
    )
        .prop_map(|(containers, init_containers, fs_group, groups, se_linux, host_network, with_volume)| {
            let named = |prefix: &str, contexts: Vec<Option<Value>>| -> Vec<Value> {
                contexts
                    .into_iter()
                    .enumerate()
                    .map(|(index, context)| {
                        let mut container = json!({"name": format!("{prefix}{index}"), "image": "busybox"});
                        if let Some(context) = context {
                            container["securityContext"] = context;
                        }
                        container
                    })
                    .collect()
            };
            let mut pod_context = Map::new();
            if let Some(fs_group) = fs_group {
                pod_context.insert("fsGroup".into(), fs_group);
            }
            if let Some(groups) = groups {
                pod_context.insert("supplementalGroups".into(), groups);
            }
            if let Some(options) = se_linux {
                pod_context.insert("seLinuxOptions".into(), options);
            }
            let mut spec = json!({"containers": named("c", containers)});
            if !init_containers.is_empty() {
                spec["initContainers"] = Value::Array(named("i", init_containers));
            }
            if !pod_context.is_empty() {
                spec["securityContext"] = Value::Object(pod_context);
            }
            if host_network {
                spec["hostNetwork"] = json!(true);
            }
            if with_volume {
                spec["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
            }
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": spec})
        })
}

fn policies() -> impl Strategy<Value = Vec<PodSecurityPolicy>> {
    proptest::sample::subsequence(pool(), 1..=pool().len())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn admitting_an_admitted_pod_changes_nothing(pod in pod(), policies in policies()) {
        let allow_all = |_: &UserInfo, _: &AccessRequest<'_>| true;
        let user = UserInfo::new("jane", ["system:authenticated"]);
        let request = AdmissionRequest { pod: &pod, old_pod: None, namespace: "ns", user: &user, operation: Operation::Create };
        let first = admit(&request, &policies, &allow_all, MessageStyle::Current).expect("decodes");
        prop_assume!(first.allowed);

        let mut patched = pod.clone();
        json_patch::patch(&mut patched, &first.patch).expect("patch applies cleanly");
        prop_assert_eq!(&patched, &first.pod);

        let again = AdmissionRequest { pod: &patched, ..request };
        let second = admit(&again, &policies, &allow_all, MessageStyle::Current).expect("decodes");
        prop_assert!(second.allowed, "{:?}", second.message);
        let mut without_annotation = second.pod.clone();
        without_annotation["metadata"]["annotations"]["kubernetes.io/psp"] = patched["metadata"]["annotations"]["kubernetes.io/psp"].clone();
        prop_assert_eq!(&without_annotation, &patched, "only the annotation may change: {:?}", second.patch);

        let validated = validate(&again, &policies, &allow_all, MessageStyle::Current).expect("decodes");
        prop_assert!(validated.allowed, "{:?}", validated.message);
        prop_assert_eq!(validated.policy, first.policy, "the hinted policy accepts the pod unchanged");
    }
}
