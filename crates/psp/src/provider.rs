//! The provider: one compiled policy that mutates a private copy of a pod and validates it, in
//! upstream's order (which fixes the order of errors within one policy).

use crate::field_error::{FieldError, FieldPath};
use crate::pod::{EffectiveContext, PodView};
use crate::strategies::{
    Strategies, StrategyErrors, allow_privilege_escalation, host_namespaces, host_ports,
    privileged, proc_mount, read_only_root_filesystem, runtime_class, volumes,
};
use crate::types::PodSecurityPolicy;

/// A policy compiled for use.
#[derive(Debug, Clone)]
pub struct Provider {
    policy: PodSecurityPolicy,
    strategies: Strategies,
}

impl Provider {
    /// Compiles a policy; construction errors make it unusable (it is skipped for requests).
    pub fn new(policy: &PodSecurityPolicy) -> Result<Self, StrategyErrors> {
        Ok(Provider {
            strategies: Strategies::new(policy)?,
            policy: policy.clone(),
        })
    }

    pub fn policy_name(&self) -> &str {
        self.policy.name()
    }

    /// Applies the policy's defaults to `pod` (a private copy).
    pub fn mutate(&self, pod: &mut PodView) {
        let spec = &self.policy.spec;
        let strategies = &self.strategies;
        strategies.supplemental_groups.mutate(pod);
        strategies.fs_group.mutate(pod);
        strategies.se_linux.mutate_pod(pod);
        strategies.seccomp.mutate(pod);
        runtime_class::mutate(spec.runtime_class.as_ref(), pod);

        for location in pod.spec.container_locations() {
            // Container strategies read the pod-level context (effective values) while writing
            // the container; they never change the pod level, so a snapshot is exact.
            let pod_context = pod.spec.security_context.clone();
            let pod_context = pod_context.as_ref();
            let Some(container) = pod.spec.container_mut(location) else {
                continue;
            };
            strategies.run_as_user.mutate(pod_context, container);
            strategies.run_as_group.mutate(pod_context, container);
            strategies.se_linux.mutate_container(pod_context, container);
            // AppArmor writes a pod annotation, so the container borrow ends here.
            let name = container.name.clone();
            strategies.apparmor.mutate(pod, &name);
            let Some(container) = pod.spec.container_mut(location) else {
                continue;
            };
            strategies.run_as_user.mark_non_root(pod_context, container);
            strategies.capabilities.mutate(container);
            read_only_root_filesystem::mutate(spec.read_only_root_filesystem, container);
            allow_privilege_escalation::mutate(
                spec.default_allow_privilege_escalation,
                spec.allow_privilege_escalation,
                container,
            );
        }
    }

    /// Validates `pod` against the policy; errors come in upstream's order.
    pub fn validate(&self, pod: &PodView) -> Vec<FieldError> {
        let spec = &self.policy.spec;
        let strategies = &self.strategies;
        let mut errors = Vec::new();
        errors.extend(strategies.fs_group.validate(pod));
        errors.extend(strategies.supplemental_groups.validate(pod));
        errors.extend(strategies.seccomp.validate_pod(pod));
        let pod_context = pod.spec.security_context.as_ref();
        errors.extend(strategies.se_linux.validate(
            &FieldPath::new(["spec", "securityContext", "seLinuxOptions"]),
            pod_context.and_then(|sc| sc.se_linux_options.as_ref()),
        ));
        errors.extend(host_namespaces::validate(spec, pod));
        errors.extend(strategies.sysctls.validate(pod));
        errors.extend(volumes::validate(spec, pod));
        errors.extend(runtime_class::validate(spec.runtime_class.as_ref(), pod));

        let host_network = pod.spec.host_network.unwrap_or(false);
        for (location, container) in pod.spec.all_containers() {
            let effective = EffectiveContext::of(pod_context, container);
            let sc_path = location.security_context_path();
            errors.extend(strategies.run_as_user.validate(location, &effective));
            errors.extend(strategies.run_as_group.validate(location, &effective));
            errors.extend(strategies.se_linux.validate(
                &sc_path.child("seLinuxOptions"),
                effective.se_linux_options.as_ref(),
            ));
            errors.extend(strategies.apparmor.validate(pod, &container.name));
            errors.extend(strategies.seccomp.validate_container(pod, container));
            errors.extend(privileged::validate(spec.privileged, location, container));
            errors.extend(proc_mount::validate(
                &spec.allowed_proc_mount_types,
                location,
                container,
            ));
            errors.extend(
                strategies.capabilities.validate(
                    &sc_path.child("capabilities"),
                    container
                        .security_context
                        .as_ref()
                        .and_then(|sc| sc.capabilities.as_ref()),
                ),
            );
            errors.extend(host_ports::validate(
                &spec.host_ports,
                location,
                container,
                host_network,
            ));
            errors.extend(read_only_root_filesystem::validate(
                spec.read_only_root_filesystem,
                location,
                container,
            ));
            errors.extend(allow_privilege_escalation::validate(
                spec.allow_privilege_escalation,
                location,
                container,
            ));
        }
        errors
    }

    /// Mutates a copy of `pod` and validates the copy: the copy and its errors.
    pub fn admit_copy(&self, pod: &PodView) -> (PodView, Vec<FieldError>) {
        let mut copy = pod.clone();
        self.mutate(&mut copy);
        let errors = self.validate(&copy);
        (copy, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::test_support::{pod, policy, rendered};
    use serde_json::json;

    #[test]
    fn errors_follow_upstream_order() {
        let provider = Provider::new(&policy(json!({
            "volumes": ["configMap"], "allowPrivilegeEscalation": false,
            "fsGroup": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 2}]},
        })))
        .expect("compiles");
        let view = pod(json!({"spec": {
            "hostNetwork": true, "hostIPC": true,
            "securityContext": {"fsGroup": 5, "sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
            "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
            "initContainers": [{"name": "i", "securityContext": {"privileged": true}}],
            "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": true}}]
        }}));
        let (_, errors) = provider.admit_copy(&view);
        assert_eq!(
            rendered(&errors),
            vec![
                "spec.securityContext.fsGroup: Invalid value: []int64{5}: group 5 must be in the ranges: [{1 2}]",
                "spec.securityContext.hostNetwork: Invalid value: true: Host network is not allowed to be used",
                "spec.securityContext.hostIPC: Invalid value: true: Host IPC is not allowed to be used",
                "pod.spec.securityContext.sysctls[0]: Forbidden: unsafe sysctl \"kernel.msgmax\" is not allowed",
                "spec.volumes[0]: Invalid value: \"hostPath\": hostPath volumes are not allowed to be used",
                "spec.initContainers[0].securityContext.privileged: Invalid value: true: Privileged containers are not allowed",
                "spec.containers[0].securityContext.allowPrivilegeEscalation: Invalid value: true: Allowing privilege escalation for containers is not allowed",
            ]
        );
    }

    #[test]
    fn construction_errors_are_aggregated() {
        let error = Provider::new(&policy(json!({
            "runAsUser": {"rule": "MustRunAs"}, "fsGroup": {"rule": "Bogus"}
        })))
        .expect_err("does not compile");
        assert_eq!(
            error.to_string(),
            "[MustRunAs requires at least one range, Unrecognized FSGroup strategy type Bogus]"
        );
    }

    #[test]
    fn non_mutating_policy_leaves_pod_unchanged() {
        let provider = Provider::new(&policy(json!({}))).expect("compiles");
        let view = pod(json!({"spec": {"containers": [{"name": "c"}]}}));
        let (copy, errors) = provider.admit_copy(&view);
        assert!(errors.is_empty());
        assert_eq!(copy, view);
    }
}
