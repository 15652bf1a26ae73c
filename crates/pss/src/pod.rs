//! A lean view of a pod: only the fields the checks read, decoded straight from JSON or YAML.
//!
//! Decoding into this view instead of a full `k8s-openapi` Pod is what keeps evaluation on the
//! webhook's hot path cheap: every other field is skipped by the parser without allocation.
//! Optional fields stay `Option` because the checks distinguish "absent" from "false" / "empty"
//! (`null` counts as absent, as in the API).

use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::BTreeMap;

/// Strings in the pod view: names, images and enum-like values are short, and storing them
/// inline avoids an allocation per field on the decode path.
pub type Text = compact_str::CompactString;

/// A field whose value is never read, only whether it is there (e.g. a volume source).
pub type Present = IgnoredAny;

/// The metadata the checks read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodMetadata {
    pub name: Option<Text>,
    pub generate_name: Option<Text>,
    pub namespace: Option<Text>,
    #[serde(deserialize_with = "crate::nulls::values_as_default")]
    pub annotations: BTreeMap<Text, Text>,
    #[serde(deserialize_with = "crate::nulls::as_default")]
    pub owner_references: Vec<OwnerReference>,
}

/// Used by namespace evaluation to treat the pods of one controller together.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OwnerReference {
    #[serde(deserialize_with = "crate::nulls::as_default")]
    pub uid: Text,
    pub controller: Option<bool>,
}

/// The pod spec fields the checks read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSpec {
    pub security_context: Option<PodSecurityContext>,
    #[serde(rename = "hostNetwork")]
    pub host_network: Option<bool>,
    #[serde(rename = "hostPID")]
    pub host_pid: Option<bool>,
    #[serde(rename = "hostIPC")]
    pub host_ipc: Option<bool>,
    pub host_users: Option<bool>,
    pub os: Option<PodOs>,
    pub runtime_class_name: Option<Text>,
    #[serde(deserialize_with = "crate::nulls::as_default")]
    pub volumes: Vec<Volume>,
    #[serde(deserialize_with = "crate::nulls::as_default")]
    pub init_containers: Vec<Container>,
    #[serde(deserialize_with = "crate::nulls::as_default")]
    pub containers: Vec<Container>,
    #[serde(deserialize_with = "crate::nulls::as_default")]
    pub ephemeral_containers: Vec<Container>,
}

impl PodSpec {
    /// Init containers, then containers, then ephemeral containers: the order every check
    /// visits them in (and so the order names appear in messages).
    pub fn all_containers(&self) -> impl Iterator<Item = &Container> {
        self.init_containers
            .iter()
            .chain(&self.containers)
            .chain(&self.ephemeral_containers)
    }

    /// True when `spec.os.name` is exactly `windows`.
    pub fn is_windows(&self) -> bool {
        self.os.as_ref().and_then(|os| os.name.as_deref()) == Some("windows")
    }

    /// True when `spec.hostUsers` is present and false (the pod runs in a user namespace).
    pub fn uses_user_namespace(&self) -> bool {
        self.host_users == Some(false)
    }

    /// Applies the defaulting the API server performs on a Pod before admission wherever it
    /// changes what the checks see: [`PodSpec::apply_template_defaults`], and with
    /// `hostNetwork: true` every container port's `hostPort` defaults to its `containerPort`.
    pub fn apply_api_defaults(&mut self) {
        self.apply_template_defaults();
        self.apply_host_port_defaults();
    }

    /// The defaulting the API server also performs on the pod templates of workloads: a volume
    /// without a source becomes `emptyDir: {}`. Since Kubernetes 1.28 `hostPort` is defaulted
    /// in Pods only (the `DefaultHostNetworkHostPortsInPodTemplates` feature gate, off by
    /// default, restores the old behaviour), so a template keeps the ports it declares.
    pub fn apply_template_defaults(&mut self) {
        for volume in &mut self.volumes {
            if !volume.has_any_source() {
                volume.empty_dir = Some(IgnoredAny);
            }
        }
    }

    /// With `hostNetwork: true`, every container port without a `hostPort` (or with `0`) gets
    /// its `containerPort`, as the API server defaults a Pod.
    pub fn apply_host_port_defaults(&mut self) {
        if self.host_network == Some(true) {
            // Ephemeral containers may not declare ports, so only these two lists matter.
            let containers = self.init_containers.iter_mut().chain(&mut self.containers);
            for port in containers.flat_map(|c| c.ports.iter_mut()) {
                if port.lacks_host_port() {
                    port.host_port = Some(port.container_port);
                }
            }
        }
    }

    /// True when [`PodSpec::apply_host_port_defaults`] would change something.
    pub fn lacks_host_port_defaults(&self) -> bool {
        self.host_network == Some(true)
            && self
                .init_containers
                .iter()
                .chain(&self.containers)
                .flat_map(|c| &c.ports)
                .any(ContainerPort::lacks_host_port)
    }
}

impl ContainerPort {
    /// No `hostPort`, or `0`: what defaulting under `hostNetwork` fills in.
    fn lacks_host_port(&self) -> bool {
        self.host_port.is_none_or(|p| p == 0)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodOs {
    pub name: Option<Text>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSecurityContext {
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub se_linux_options: Option<Box<SeLinuxOptions>>,
    pub seccomp_profile: Option<SeccompProfile>,
    pub app_armor_profile: Option<Box<AppArmorProfile>>,
    #[serde(deserialize_with = "crate::nulls::as_default")]
    pub sysctls: Vec<Sysctl>,
    pub windows_options: Option<WindowsOptions>,
}

/// Rarely present parts are boxed: a container is moved several times while it is decoded, and
/// keeping it small keeps decoding fast.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Container {
    #[serde(deserialize_with = "crate::nulls::as_default")]
    pub name: Text,
    pub image: Option<Text>,
    pub security_context: Option<SecurityContext>,
    #[serde(deserialize_with = "crate::nulls::as_default")]
    pub ports: Vec<ContainerPort>,
    pub liveness_probe: Option<Box<Handler>>,
    pub readiness_probe: Option<Box<Handler>>,
    pub startup_probe: Option<Box<Handler>>,
    pub lifecycle: Option<Box<Lifecycle>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityContext {
    pub privileged: Option<bool>,
    pub allow_privilege_escalation: Option<bool>,
    pub capabilities: Option<Capabilities>,
    pub proc_mount: Option<Text>,
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub se_linux_options: Option<Box<SeLinuxOptions>>,
    pub seccomp_profile: Option<SeccompProfile>,
    pub app_armor_profile: Option<Box<AppArmorProfile>>,
    pub windows_options: Option<WindowsOptions>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    #[serde(deserialize_with = "crate::nulls::items_as_default")]
    pub add: Vec<Text>,
    #[serde(deserialize_with = "crate::nulls::items_as_default")]
    pub drop: Vec<Text>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SeLinuxOptions {
    pub user: Option<Text>,
    pub role: Option<Text>,
    #[serde(rename = "type")]
    pub type_: Option<Text>,
    pub level: Option<Text>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SeccompProfile {
    #[serde(rename = "type")]
    pub type_: Option<Text>,
    pub localhost_profile: Option<Text>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AppArmorProfile {
    #[serde(rename = "type")]
    pub type_: Option<Text>,
    pub localhost_profile: Option<Text>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WindowsOptions {
    pub host_process: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Sysctl {
    #[serde(deserialize_with = "crate::nulls::as_default")]
    pub name: Text,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerPort {
    #[serde(deserialize_with = "crate::nulls::as_default")]
    pub container_port: i32,
    pub host_port: Option<i32>,
}

/// A probe or a lifecycle handler: only the hosts of its network actions matter.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Handler {
    pub http_get: Option<HostAction>,
    pub tcp_socket: Option<HostAction>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct HostAction {
    pub host: Option<Text>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Lifecycle {
    pub post_start: Option<Handler>,
    pub pre_stop: Option<Handler>,
}

// The fast JSON path (see `crate::json`): the same keys as the serde derives above; the
// differential tests below and the conformance suite keep the two in step.
crate::json_struct!(PodMetadata {
    "name" => name,
    "generateName" => generate_name,
    "namespace" => namespace,
    "annotations" => annotations,
    "ownerReferences" => owner_references,
});
crate::json_struct!(OwnerReference { "uid" => uid, "controller" => controller });
crate::json_struct!(PodSpec {
    "securityContext" => security_context,
    "hostNetwork" => host_network,
    "hostPID" => host_pid,
    "hostIPC" => host_ipc,
    "hostUsers" => host_users,
    "os" => os,
    "runtimeClassName" => runtime_class_name,
    "volumes" => volumes,
    "initContainers" => init_containers,
    "containers" => containers,
    "ephemeralContainers" => ephemeral_containers,
});
crate::json_struct!(PodOs { "name" => name });
crate::json_struct!(PodSecurityContext {
    "runAsNonRoot" => run_as_non_root,
    "runAsUser" => run_as_user,
    "seLinuxOptions" => se_linux_options,
    "seccompProfile" => seccomp_profile,
    "appArmorProfile" => app_armor_profile,
    "sysctls" => sysctls,
    "windowsOptions" => windows_options,
});
crate::json_struct!(Container {
    "name" => name,
    "image" => image,
    "securityContext" => security_context,
    "ports" => ports,
    "livenessProbe" => liveness_probe,
    "readinessProbe" => readiness_probe,
    "startupProbe" => startup_probe,
    "lifecycle" => lifecycle,
});
crate::json_struct!(SecurityContext {
    "privileged" => privileged,
    "allowPrivilegeEscalation" => allow_privilege_escalation,
    "capabilities" => capabilities,
    "procMount" => proc_mount,
    "runAsNonRoot" => run_as_non_root,
    "runAsUser" => run_as_user,
    "seLinuxOptions" => se_linux_options,
    "seccompProfile" => seccomp_profile,
    "appArmorProfile" => app_armor_profile,
    "windowsOptions" => windows_options,
});
crate::json_struct!(Capabilities { "add" => add, "drop" => drop });
crate::json_struct!(SeLinuxOptions {
    "user" => user,
    "role" => role,
    "type" => type_,
    "level" => level,
});
crate::json_struct!(SeccompProfile { "type" => type_, "localhostProfile" => localhost_profile });
crate::json_struct!(AppArmorProfile { "type" => type_, "localhostProfile" => localhost_profile });
crate::json_struct!(WindowsOptions { "hostProcess" => host_process });
crate::json_struct!(Sysctl { "name" => name });
crate::json_struct!(ContainerPort { "containerPort" => container_port, "hostPort" => host_port });
crate::json_struct!(Handler { "httpGet" => http_get, "tcpSocket" => tcp_socket });
crate::json_struct!(HostAction { "host" => host });
crate::json_struct!(Lifecycle { "postStart" => post_start, "preStop" => pre_stop });

/// Declares the volume struct from one list of sources, so that "which sources exist" and
/// "what their JSON names are" cannot drift apart.
macro_rules! volume_sources {
    ($($field:ident => $json:literal),* $(,)?) => {
        /// A volume: its name and which sources are present.
        #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
        #[serde(default)]
        pub struct Volume {
            #[serde(deserialize_with = "crate::nulls::as_default")]
            pub name: Text,
            $( #[serde(rename = $json)] pub $field: Option<Present>, )*
        }

        crate::json_struct!(Volume { "name" => name, $( $json => $field, )* });

        impl Volume {
            /// True when at least one volume source is set.
            pub fn has_any_source(&self) -> bool {
                false $( || self.$field.is_some() )*
            }
        }
    };
}

volume_sources! {
    host_path => "hostPath",
    empty_dir => "emptyDir",
    gce_persistent_disk => "gcePersistentDisk",
    aws_elastic_block_store => "awsElasticBlockStore",
    git_repo => "gitRepo",
    secret => "secret",
    nfs => "nfs",
    iscsi => "iscsi",
    glusterfs => "glusterfs",
    persistent_volume_claim => "persistentVolumeClaim",
    rbd => "rbd",
    flex_volume => "flexVolume",
    cinder => "cinder",
    cephfs => "cephfs",
    flocker => "flocker",
    downward_api => "downwardAPI",
    fc => "fc",
    azure_file => "azureFile",
    config_map => "configMap",
    vsphere_volume => "vsphereVolume",
    quobyte => "quobyte",
    azure_disk => "azureDisk",
    photon_persistent_disk => "photonPersistentDisk",
    projected => "projected",
    portworx_volume => "portworxVolume",
    scale_io => "scaleIO",
    storageos => "storageos",
    csi => "csi",
    ephemeral => "ephemeral",
    image => "image",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_only_what_checks_read_and_keeps_presence() {
        let spec: PodSpec = serde_json::from_str(
            r#"{"containers":[{"name":"c","image":"nginx","ports":[{"containerPort":80}],
                "securityContext":{"capabilities":{"drop":null}}}],
                "volumes":[{"name":"v","hostPath":{}},{"name":"w","emptyDir":null}],
                "initContainers":null,"dnsPolicy":"ClusterFirst"}"#,
        )
        .unwrap();
        assert_eq!(spec.containers.len(), 1);
        assert!(spec.volumes[0].host_path.is_some());
        assert!(!spec.volumes[1].has_any_source(), "null is absent");
        let caps = spec.containers[0].security_context.as_ref().unwrap();
        assert_eq!(caps.capabilities.as_ref().unwrap().drop, Vec::<Text>::new());
    }

    #[test]
    fn api_defaults_fill_empty_volumes_and_host_network_ports() {
        let mut spec: PodSpec = serde_json::from_str(
            r#"{"hostNetwork":true,"volumes":[{"name":"v"}],
                "containers":[{"name":"c","ports":[{"containerPort":80},{"containerPort":81,"hostPort":9}]}]}"#,
        )
        .unwrap();
        spec.apply_api_defaults();
        assert!(spec.volumes[0].empty_dir.is_some());
        let ports: Vec<_> = spec.containers[0]
            .ports
            .iter()
            .map(|p| p.host_port)
            .collect();
        assert_eq!(ports, vec![Some(80), Some(9)]);
    }
}
