//! Every PodSecurityPolicy of the real-world corpus (`shared/corpus/psps`) and of the spec's
//! Appendix B parses, validates, compiles (or reports why not), prints and judges a pod without a
//! panic.

mod common;

use podsec_psp::admission::{AdmissionRequest, MessageStyle, Operation, admit};
use podsec_psp::authorizer::{AccessRequest, UserInfo};
use podsec_psp::provider::Provider;
use podsec_psp::table::render_policy_table;
use podsec_psp::types::PodSecurityPolicy;
use podsec_psp::validation::validate_policy;
use serde_json::{Value, json};

/// Exercises one set of policies through everything the library offers.
fn exercise(policies: &[PodSecurityPolicy]) {
    for policy in policies {
        let _ = validate_policy(policy);
        let _ = Provider::new(policy);
    }
    let table = render_policy_table(policies);
    assert_eq!(table.lines().count(), policies.len() + 1);
    let allow_all = |_: &UserInfo, _: &AccessRequest<'_>| true;
    let user = UserInfo::new("someone", ["system:authenticated"]);
    for pod in sample_pods() {
        let request = AdmissionRequest {
            pod: &pod,
            old_pod: None,
            namespace: "ns",
            user: &user,
            operation: Operation::Create,
        };
        let outcome = admit(&request, policies, &allow_all, MessageStyle::Current)
            .expect("sample pod decodes");
        if outcome.allowed {
            let mut patched = pod.clone();
            json_patch::patch(&mut patched, &outcome.patch).expect("patch applies");
            assert_eq!(patched, outcome.pod);
        }
    }
}

fn sample_pods() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain"},
               "spec": {"containers": [{"name": "app", "image": "nginx"}]}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "wild"},
               "spec": {"hostNetwork": true, "hostPID": true,
                        "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
                        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
                        "initContainers": [{"name": "init", "securityContext": {"runAsUser": 0}}],
                        "containers": [{"name": "app", "ports": [{"containerPort": 80}],
                                        "volumeMounts": [{"name": "root", "mountPath": "/host"}],
                                        "securityContext": {"privileged": true, "capabilities": {"add": ["SYS_ADMIN"]}}}]}}),
    ]
}

#[test]
fn corpus_policies_parse_validate_and_print() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let directory = shared.join("corpus/psps");
    let mut files: Vec<_> = std::fs::read_dir(&directory)
        .expect("corpus folder readable")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 58);
    let mut policies = Vec::new();
    let mut refused = Vec::new();
    for file in &files {
        for document in common::read_documents(file) {
            if !PodSecurityPolicy::has_policy_kind(&document) {
                continue;
            }
            match PodSecurityPolicy::from_value(&document) {
                Ok(policy) => policies.push(policy),
                Err(error) => refused.push(format!("{}: {error}", file.display())),
            }
        }
    }
    assert_eq!(policies.len() + refused.len(), 65);
    // istio's sample declares `policy/v1`, a version that never served PodSecurityPolicy: the API
    // server refuses it, and so do we, with the API server's words.
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("istio__istio__samples__security__psp__sidecar-psp.yaml"));
    assert!(
        refused[0].ends_with("no matches for kind \"PodSecurityPolicy\" in version \"policy/v1\"")
    );
    // Real-world policies were accepted by real API servers: none may fail our validation.
    let invalid: Vec<String> = policies
        .iter()
        .flat_map(|policy| {
            validate_policy(policy)
                .into_iter()
                .map(move |error| format!("{}: {error}", policy.name()))
        })
        .collect();
    assert_eq!(invalid, Vec::<String>::new());
    exercise(&policies);
}

/// The reference policies of the spec's Appendix B (Kubernetes website examples).
fn appendix_b() -> Vec<PodSecurityPolicy> {
    let policy = |name: &str, annotations: Value, spec: Value| {
        PodSecurityPolicy::from_value(&json!({
            "apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
            "metadata": {"name": name, "annotations": annotations}, "spec": spec
        }))
        .expect("appendix policy parses")
    };
    let any = json!({"rule": "RunAsAny"});
    vec![
        policy(
            "privileged",
            json!({"seccomp.security.alpha.kubernetes.io/allowedProfileNames": "*"}),
            json!({"privileged": true, "allowPrivilegeEscalation": true, "allowedCapabilities": ["*"],
                   "volumes": ["*"], "hostNetwork": true, "hostIPC": true, "hostPID": true,
                   "hostPorts": [{"min": 0, "max": 65535}], "runAsUser": any, "seLinux": any,
                   "supplementalGroups": any, "fsGroup": any}),
        ),
        policy(
            "baseline",
            json!({"apparmor.security.beta.kubernetes.io/allowedProfileNames": "runtime/default",
                   "apparmor.security.beta.kubernetes.io/defaultProfileName": "runtime/default",
                   "seccomp.security.alpha.kubernetes.io/allowedProfileNames": "docker/default,runtime/default,unconfined",
                   "seccomp.security.alpha.kubernetes.io/defaultProfileName": "unconfined"}),
            json!({"privileged": false,
                   "allowedCapabilities": ["CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID",
                                           "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"],
                   "volumes": ["configMap", "emptyDir", "projected", "secret", "downwardAPI", "persistentVolumeClaim",
                               "awsElasticBlockStore", "azureDisk", "azureFile", "cephFS", "cinder", "csi", "fc",
                               "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs", "iscsi", "nfs",
                               "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume"],
                   "hostNetwork": false, "hostIPC": false, "hostPID": false, "readOnlyRootFilesystem": false,
                   "runAsUser": any, "seLinux": any, "supplementalGroups": any, "fsGroup": any}),
        ),
        policy(
            "restricted",
            json!({"seccomp.security.alpha.kubernetes.io/allowedProfileNames": "docker/default,runtime/default",
                   "apparmor.security.beta.kubernetes.io/allowedProfileNames": "runtime/default",
                   "apparmor.security.beta.kubernetes.io/defaultProfileName": "runtime/default"}),
            json!({"privileged": false, "allowPrivilegeEscalation": false, "requiredDropCapabilities": ["ALL"],
                   "volumes": ["configMap", "emptyDir", "projected", "secret", "downwardAPI", "csi", "persistentVolumeClaim", "ephemeral"],
                   "hostNetwork": false, "hostIPC": false, "hostPID": false,
                   "runAsUser": {"rule": "MustRunAsNonRoot"}, "seLinux": any,
                   "supplementalGroups": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 65535}]},
                   "fsGroup": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 65535}]},
                   "readOnlyRootFilesystem": false}),
        ),
        policy(
            "example",
            json!({}),
            json!({"privileged": false, "seLinux": any, "supplementalGroups": any, "runAsUser": any,
                   "fsGroup": any, "volumes": ["*"]}),
        ),
    ]
}

#[test]
fn appendix_b_policies_are_valid_and_behave() {
    let policies = appendix_b();
    for policy in &policies {
        assert_eq!(
            validate_policy(policy),
            vec![],
            "{} is valid",
            policy.name()
        );
        assert!(Provider::new(policy).is_ok(), "{} compiles", policy.name());
    }
    exercise(&policies);

    // The restricted example mutates a plain pod and then accepts it.
    let restricted = &policies[2..3];
    let allow_all = |_: &UserInfo, _: &AccessRequest<'_>| true;
    let user = UserInfo::new("someone", Vec::<String>::new());
    let pod = json!({"metadata": {"name": "p", "annotations": {"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let request = AdmissionRequest {
        pod: &pod,
        old_pod: None,
        namespace: "ns",
        user: &user,
        operation: Operation::Create,
    };
    let outcome = admit(&request, restricted, &allow_all, MessageStyle::Current).expect("decodes");
    assert!(outcome.allowed, "{:?}", outcome.message);
    let context = &outcome.pod["spec"]["containers"][0]["securityContext"];
    assert_eq!(context["runAsNonRoot"], json!(true));
    assert_eq!(context["allowPrivilegeEscalation"], json!(false));
    assert_eq!(context["capabilities"], json!({"drop": ["ALL"]}));
    assert_eq!(
        outcome.pod["metadata"]["annotations"]["container.apparmor.security.beta.kubernetes.io/app"],
        json!("runtime/default")
    );
}
