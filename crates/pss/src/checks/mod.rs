//! One module per check, each with its table test beside it. [`ALL`] lists them for the
//! [registry](crate::registry), which orders them as upstream does.

use crate::check::Check;

pub mod allow_privilege_escalation;
pub mod app_armor_profile;
pub mod capabilities_baseline;
pub mod capabilities_restricted;
pub mod host_namespaces;
pub mod host_path_volumes;
pub mod host_ports;
pub mod host_probes_and_host_lifecycle;
pub mod privileged;
pub mod proc_mount;
pub mod proc_mount_restricted;
pub mod restricted_volumes;
pub mod run_as_non_root;
pub mod run_as_user;
pub mod se_linux_options;
pub mod seccomp_profile_baseline;
pub mod seccomp_profile_restricted;
pub mod sysctls;
pub mod windows_host_process;

/// Every built-in check.
pub static ALL: &[Check] = &[
    allow_privilege_escalation::CHECK,
    app_armor_profile::CHECK,
    capabilities_baseline::CHECK,
    capabilities_restricted::CHECK,
    host_namespaces::CHECK,
    host_path_volumes::CHECK,
    host_ports::CHECK,
    host_probes_and_host_lifecycle::CHECK,
    privileged::CHECK,
    proc_mount::CHECK,
    proc_mount_restricted::CHECK,
    restricted_volumes::CHECK,
    run_as_non_root::CHECK,
    run_as_user::CHECK,
    se_linux_options::CHECK,
    seccomp_profile_baseline::CHECK,
    seccomp_profile_restricted::CHECK,
    sysctls::CHECK,
    windows_host_process::CHECK,
];

#[cfg(test)]
pub(crate) mod test_support {
    use crate::check::Forbidden;
    use crate::pod::{PodMetadata, PodSpec};

    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct TestPod {
        metadata: PodMetadata,
        spec: PodSpec,
    }

    /// Decodes `{"metadata": …, "spec": …}` (either may be omitted).
    pub fn pod(json: &str) -> (PodMetadata, PodSpec) {
        let pod: TestPod = serde_json::from_str(json).expect("test pod JSON");
        (pod.metadata, pod.spec)
    }

    /// The detail of a result, after checking its reason.
    pub fn detail(result: Option<Forbidden>, reason: &str) -> Option<String> {
        result.map(|f| {
            assert_eq!(f.reason, reason);
            f.detail
        })
    }
}
