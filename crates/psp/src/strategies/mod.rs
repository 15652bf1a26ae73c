//! One module per PSP strategy. Each offers generation (the defaulting a policy applies to a
//! private copy of the pod) and validation (field errors with upstream's exact paths and texts),
//! and carries a table test beside it. [`Strategies::new`] compiles a policy into its strategies;
//! the order of calls lives in [`crate::provider`].

pub mod allow_privilege_escalation;
pub mod apparmor;
pub mod capabilities;
pub mod fs_group;
pub mod group;
pub mod host_namespaces;
pub mod host_ports;
pub mod privileged;
pub mod proc_mount;
pub mod read_only_root_filesystem;
pub mod run_as_group;
pub mod run_as_user;
pub mod runtime_class;
pub mod se_linux;
pub mod seccomp;
pub mod supplemental_groups;
pub mod sysctls;
pub mod volumes;

use crate::pod::{Container, SecurityContext};
use crate::types::PodSecurityPolicy;

/// Why a policy cannot be compiled into a provider (it is then skipped for the request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategyError {
    #[error("MustRunAs requires at least one range")]
    RunAsUserWithoutRanges,
    #[error("ranges must be supplied for {rule}")]
    GroupWithoutRanges { rule: &'static str },
    #[error("MustRunAs requires SELinuxOptions")]
    SeLinuxWithoutOptions,
    #[error("Unrecognized {strategy} strategy type {rule}")]
    UnrecognizedRule {
        strategy: &'static str,
        rule: String,
    },
}

/// Several construction errors, rendered like apimachinery's aggregate (`[a, b]` when several).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_aggregate(.0))]
pub struct StrategyErrors(pub Vec<StrategyError>);

fn render_aggregate(errors: &[StrategyError]) -> String {
    match errors {
        [single] => single.to_string(),
        _ => {
            let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
            format!("[{}]", rendered.join(", "))
        }
    }
}

/// Every strategy of one policy, compiled.
#[derive(Debug, Clone)]
pub struct Strategies {
    pub run_as_user: run_as_user::RunAsUserStrategy,
    pub run_as_group: run_as_group::RunAsGroupStrategy,
    pub se_linux: se_linux::SeLinuxStrategy,
    pub apparmor: apparmor::AppArmorStrategy,
    pub seccomp: seccomp::SeccompStrategy,
    pub fs_group: fs_group::FsGroupStrategy,
    pub supplemental_groups: supplemental_groups::SupplementalGroupsStrategy,
    pub capabilities: capabilities::CapabilitiesStrategy,
    pub sysctls: sysctls::SysctlsStrategy,
}

impl Strategies {
    /// Compiles a policy, collecting every construction error in upstream's factory order.
    pub fn new(policy: &PodSecurityPolicy) -> Result<Self, StrategyErrors> {
        let spec = &policy.spec;
        let run_as_user = run_as_user::RunAsUserStrategy::new(&spec.run_as_user);
        let run_as_group = run_as_group::RunAsGroupStrategy::new(spec.run_as_group.as_ref());
        let se_linux = se_linux::SeLinuxStrategy::new(&spec.se_linux);
        let fs_group = fs_group::FsGroupStrategy::new(&spec.fs_group);
        let supplemental_groups =
            supplemental_groups::SupplementalGroupsStrategy::new(&spec.supplemental_groups);
        match (
            run_as_user,
            run_as_group,
            se_linux,
            fs_group,
            supplemental_groups,
        ) {
            (
                Ok(run_as_user),
                Ok(run_as_group),
                Ok(se_linux),
                Ok(fs_group),
                Ok(supplemental_groups),
            ) => Ok(Strategies {
                run_as_user,
                run_as_group,
                se_linux,
                apparmor: apparmor::AppArmorStrategy::new(policy),
                seccomp: seccomp::SeccompStrategy::new(policy),
                fs_group,
                supplemental_groups,
                capabilities: capabilities::CapabilitiesStrategy::new(spec),
                sysctls: sysctls::SysctlsStrategy::new(spec),
            }),
            (run_as_user, run_as_group, se_linux, fs_group, supplemental_groups) => {
                let errors = [
                    run_as_user.err(),
                    run_as_group.err(),
                    se_linux.err(),
                    fs_group.err(),
                    supplemental_groups.err(),
                ];
                Err(StrategyErrors(errors.into_iter().flatten().collect()))
            }
        }
    }
}

/// The container's security context, created if absent. Only call it to write a value: an empty
/// context must never be materialised.
pub(crate) fn security_context_mut(container: &mut Container) -> &mut SecurityContext {
    container
        .security_context
        .get_or_insert_with(SecurityContext::default)
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Small builders shared by the strategy table tests.

    use serde_json::{Value, json};

    use crate::pod::{PodView, decode_pod};
    use crate::types::PodSecurityPolicy;

    /// A policy with every required rule `RunAsAny`, patched by `spec`.
    pub fn policy(spec: Value) -> PodSecurityPolicy {
        policy_with_annotations(spec, json!({}))
    }

    pub fn policy_with_annotations(spec: Value, annotations: Value) -> PodSecurityPolicy {
        let mut base = json!({
            "seLinux": {"rule": "RunAsAny"}, "runAsUser": {"rule": "RunAsAny"},
            "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"},
            "volumes": ["*"]
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), spec.as_object()) {
            for (key, value) in extra {
                base.insert(key.clone(), value.clone());
            }
        }
        PodSecurityPolicy::from_value(&json!({
            "apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
            "metadata": {"name": "test", "annotations": annotations}, "spec": base
        }))
        .expect("test policy parses")
    }

    pub fn pod(document: Value) -> PodView {
        decode_pod(&document).expect("test pod decodes")
    }

    /// A pod with one container whose securityContext is `context` (omitted when null).
    pub fn pod_with_container_context(context: Value) -> PodView {
        let mut container = json!({"name": "c"});
        if !context.is_null() {
            container["securityContext"] = context;
        }
        pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [container]}}))
    }

    pub fn rendered(errors: &[crate::field_error::FieldError]) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }
}
