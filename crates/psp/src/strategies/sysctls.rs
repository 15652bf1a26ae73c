//! Sysctls (pod level, validation only). Forbidden entries win over the safe list, which wins
//! over the allowed unsafe entries; `X*` entries match by prefix and `*` matches everything.
//!
//! Whether 1.23+ normalised slash-separated names before matching could not be verified; names
//! are compared as written.

use crate::field_error::{FieldError, FieldPath};
use crate::pod::PodView;
use crate::types::PodSecurityPolicySpec;

/// The kubelet's safe sysctls as of Kubernetes 1.22–1.24.
pub const SAFE_SYSCTLS: [&str; 5] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SysctlsStrategy {
    allowed_unsafe: Vec<String>,
    forbidden: Vec<String>,
}

/// Whether `name` matches an entry: exactly, or by prefix when the entry ends in `*`.
fn matches_any(patterns: &[String], name: &str) -> bool {
    patterns
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == pattern,
        })
}

impl SysctlsStrategy {
    pub fn new(spec: &PodSecurityPolicySpec) -> Self {
        SysctlsStrategy {
            allowed_unsafe: spec.allowed_unsafe_sysctls.clone(),
            forbidden: spec.forbidden_sysctls.clone(),
        }
    }

    pub fn validate(&self, pod: &PodView) -> Vec<FieldError> {
        let path = FieldPath::new(["pod", "spec", "securityContext", "sysctls"]);
        let sysctls = pod
            .spec
            .security_context
            .as_ref()
            .and_then(|sc| sc.sysctls.as_deref())
            .unwrap_or_default();
        let mut errors = Vec::new();
        for (index, sysctl) in sysctls.iter().enumerate() {
            let name = sysctl.name.as_str();
            if matches_any(&self.forbidden, name) {
                errors.push(FieldError::forbidden(
                    path.index(index),
                    format!(
                        "sysctl {} is not allowed",
                        crate::field_error::go_quote(name)
                    ),
                ));
            } else if SAFE_SYSCTLS.contains(&name) || matches_any(&self.allowed_unsafe, name) {
                continue;
            } else {
                errors.push(FieldError::forbidden(
                    path.index(index),
                    format!(
                        "unsafe sysctl {} is not allowed",
                        crate::field_error::go_quote(name)
                    ),
                ));
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::test_support::{pod, rendered};
    use serde_json::json;

    fn strategy(allowed: &[&str], forbidden: &[&str]) -> SysctlsStrategy {
        SysctlsStrategy {
            allowed_unsafe: allowed.iter().map(|s| s.to_string()).collect(),
            forbidden: forbidden.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn validation_table() {
        let cases = [
            (strategy(&[], &[]), "kernel.shm_rmid_forced", None),
            (
                strategy(&[], &[]),
                "net.ipv4.ip_unprivileged_port_start",
                None,
            ),
            (
                strategy(&[], &[]),
                "kernel.msgmax",
                Some(
                    "pod.spec.securityContext.sysctls[0]: Forbidden: unsafe sysctl \"kernel.msgmax\" is not allowed",
                ),
            ),
            (strategy(&["kernel.msg*"], &[]), "kernel.msgmax", None),
            (strategy(&["*"], &[]), "anything", None),
            (
                strategy(&[], &["kernel.shm_rmid_forced"]),
                "kernel.shm_rmid_forced",
                Some(
                    "pod.spec.securityContext.sysctls[0]: Forbidden: sysctl \"kernel.shm_rmid_forced\" is not allowed",
                ),
            ),
            (
                strategy(&["*"], &["net.*"]),
                "net.ipv4.tcp_syncookies",
                Some(
                    "pod.spec.securityContext.sysctls[0]: Forbidden: sysctl \"net.ipv4.tcp_syncookies\" is not allowed",
                ),
            ),
            (
                strategy(&["kernel.msgmax"], &[]),
                "kernel.msgmaxx",
                Some(
                    "pod.spec.securityContext.sysctls[0]: Forbidden: unsafe sysctl \"kernel.msgmaxx\" is not allowed",
                ),
            ),
        ];
        for (strategy, name, expected) in cases {
            let view = pod(
                json!({"spec": {"securityContext": {"sysctls": [{"name": name, "value": "1"}]}}}),
            );
            let expected: Vec<String> = expected.into_iter().map(str::to_string).collect();
            assert_eq!(rendered(&strategy.validate(&view)), expected, "{name}");
        }
    }
}
