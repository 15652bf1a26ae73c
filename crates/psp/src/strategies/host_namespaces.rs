//! `hostNetwork`, `hostPID`, `hostIPC` (pod level, validation only). Upstream validated the
//! internal pod, where these live in the pod security context: hence the
//! `spec.securityContext.*` paths for fields that are `spec.*` in v1.

use crate::field_error::{BadValue, FieldError, FieldPath};
use crate::pod::PodView;
use crate::types::PodSecurityPolicySpec;

pub fn validate(spec: &PodSecurityPolicySpec, pod: &PodView) -> Vec<FieldError> {
    let path = FieldPath::new(["spec", "securityContext"]);
    let checks = [
        (
            "hostNetwork",
            spec.host_network,
            pod.spec.host_network,
            "Host network is not allowed to be used",
        ),
        (
            "hostPID",
            spec.host_pid,
            pod.spec.host_pid,
            "Host PID is not allowed to be used",
        ),
        (
            "hostIPC",
            spec.host_ipc,
            pod.spec.host_ipc,
            "Host IPC is not allowed to be used",
        ),
    ];
    checks
        .into_iter()
        .filter(|(_, allowed, requested, _)| !allowed && requested.unwrap_or(false))
        .map(|(field, _, _, detail)| {
            FieldError::invalid(path.child(field), BadValue::bool(true), detail)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::test_support::{pod, policy, rendered};
    use serde_json::json;

    #[test]
    fn validation_table() {
        let all = json!({"hostNetwork": true, "hostPID": true, "hostIPC": true});
        let cases = [
            (json!({}), json!({}), vec![]),
            (
                json!({}),
                all.clone(),
                vec![
                    "spec.securityContext.hostNetwork: Invalid value: true: Host network is not allowed to be used",
                    "spec.securityContext.hostPID: Invalid value: true: Host PID is not allowed to be used",
                    "spec.securityContext.hostIPC: Invalid value: true: Host IPC is not allowed to be used",
                ],
            ),
            (all.clone(), all, vec![]),
            (
                json!({"hostPID": true}),
                json!({"hostPID": true, "hostIPC": true}),
                vec![
                    "spec.securityContext.hostIPC: Invalid value: true: Host IPC is not allowed to be used",
                ],
            ),
            (json!({}), json!({"hostNetwork": false}), vec![]),
        ];
        for (policy_spec, pod_spec, expected) in cases {
            let errors = validate(&policy(policy_spec).spec, &pod(json!({"spec": pod_spec})));
            assert_eq!(rendered(&errors), expected);
        }
    }
}
