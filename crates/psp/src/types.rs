//! Our own serde types for `policy/v1beta1` PodSecurityPolicy (k8s-openapi dropped them with
//! Kubernetes 1.25), the v1beta1 object defaulting, and the Go-style renderings strategies use.
//!
//! Rule fields are plain strings on purpose: an unknown rule must survive decoding so that object
//! validation can report it as `Unsupported value` and provider construction can refuse it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The API groups that served PodSecurityPolicy.
pub const POLICY_API_VERSIONS: [&str; 2] = ["policy/v1beta1", "extensions/v1beta1"];
/// The object kind.
pub const POLICY_KIND: &str = "PodSecurityPolicy";
/// The kind of the API's typed list of them (`kubectl get --raw
/// /apis/policy/v1beta1/podsecuritypolicies`).
pub const POLICY_LIST_KIND: &str = "PodSecurityPolicyList";

/// The pseudo volume type and capability that allow everything.
pub const ALLOW_ALL: &str = "*";

/// Rule names shared by the strategies.
pub mod rules {
    pub const MUST_RUN_AS: &str = "MustRunAs";
    pub const MUST_RUN_AS_NON_ROOT: &str = "MustRunAsNonRoot";
    pub const MAY_RUN_AS: &str = "MayRunAs";
    pub const RUN_AS_ANY: &str = "RunAsAny";
}

/// Every volume source type (`FSType`) a policy may list, in upstream's declaration order.
pub const FS_TYPES: [&str; 29] = [
    "azureFile",
    "flocker",
    "flexVolume",
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "cinder",
    "cephFS",
    "downwardAPI",
    "fc",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "storageos",
    "projected",
    "portworxVolume",
    "scaleIO",
    "csi",
    "ephemeral",
];

/// Annotation keys read from the policy object.
pub mod annotations {
    pub const SECCOMP_ALLOWED_PROFILES: &str =
        "seccomp.security.alpha.kubernetes.io/allowedProfileNames";
    pub const SECCOMP_DEFAULT_PROFILE: &str =
        "seccomp.security.alpha.kubernetes.io/defaultProfileName";
    pub const APPARMOR_ALLOWED_PROFILES: &str =
        "apparmor.security.beta.kubernetes.io/allowedProfileNames";
    pub const APPARMOR_DEFAULT_PROFILE: &str =
        "apparmor.security.beta.kubernetes.io/defaultProfileName";
}

/// Why a JSON value is not a PodSecurityPolicy we can use.
#[derive(Debug, thiserror::Error)]
pub enum PolicyParseError {
    #[error("not a PodSecurityPolicy: apiVersion {api_version:?}, kind {kind:?}")]
    NotAPolicy { api_version: String, kind: String },
    /// The kind is right but the version was never served (e.g. `policy/v1`); the API server
    /// refuses such objects with this text.
    #[error("no matches for kind \"PodSecurityPolicy\" in version \"{api_version}\"")]
    UnservedVersion { api_version: String },
    #[error("PodSecurityPolicy {name:?} cannot be decoded: {source}")]
    Decode {
        name: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Object metadata: the parts PSP logic reads, plus everything else kept verbatim.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub name: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub generate_name: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub namespace: String,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "podsec_pss::nulls::values_as_default"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "podsec_pss::nulls::values_as_default"
    )]
    pub annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// A `policy/v1beta1` PodSecurityPolicy.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityPolicy {
    #[serde(default = "default_api_version")]
    pub api_version: String,
    #[serde(default = "default_kind")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodSecurityPolicySpec,
}

fn default_api_version() -> String {
    POLICY_API_VERSIONS[0].to_string()
}

fn default_kind() -> String {
    POLICY_KIND.to_string()
}

/// The policy's spec (exact v1beta1 JSON names).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityPolicySpec {
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub privileged: bool,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub default_add_capabilities: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub required_drop_capabilities: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub allowed_capabilities: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub volumes: Vec<String>,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub host_network: bool,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub host_ports: Vec<HostPortRange>,
    #[serde(
        default,
        rename = "hostPID",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub host_pid: bool,
    #[serde(
        default,
        rename = "hostIPC",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub host_ipc: bool,
    #[serde(
        default,
        rename = "seLinux",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub se_linux: SeLinuxStrategyOptions,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub run_as_user: RunAsUserStrategyOptions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<RunAsGroupStrategyOptions>,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub supplemental_groups: GroupStrategyOptions,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub fs_group: GroupStrategyOptions,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub read_only_root_filesystem: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_allow_privilege_escalation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_privilege_escalation: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub allowed_host_paths: Vec<AllowedHostPath>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub allowed_flex_volumes: Vec<AllowedFlexVolume>,
    #[serde(
        default,
        rename = "allowedCSIDrivers",
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub allowed_csi_drivers: Vec<AllowedCsiDriver>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub allowed_unsafe_sysctls: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub forbidden_sysctls: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub allowed_proc_mount_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_class: Option<RuntimeClassStrategyOptions>,
}

/// An inclusive range of host ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HostPortRange {
    #[serde(default)]
    pub min: i32,
    #[serde(default)]
    pub max: i32,
}

/// An inclusive range of user or group IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IdRange {
    #[serde(default)]
    pub min: i64,
    #[serde(default)]
    pub max: i64,
}

impl IdRange {
    pub fn contains(&self, id: i64) -> bool {
        self.min <= id && id <= self.max
    }
}

/// Go's `%v` of a `[]policy.IDRange`: `[{1 1} {10 20}]`.
pub struct GoRanges<'a>(pub &'a [IdRange]);

impl fmt::Display for GoRanges<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rendered: Vec<String> = self
            .0
            .iter()
            .map(|range| format!("{{{} {}}}", range.min, range.max))
            .collect();
        write!(f, "[{}]", rendered.join(" "))
    }
}

/// SELinux options (pod and policy share the shape).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeLinuxOptions {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role: String,
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub level: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeLinuxStrategyOptions {
    #[serde(default)]
    pub rule: String,
    #[serde(
        default,
        rename = "seLinuxOptions",
        skip_serializing_if = "Option::is_none"
    )]
    pub se_linux_options: Option<SeLinuxOptions>,
}

/// A rule and the ID ranges it allows: the shape the API gives the `runAsUser`, `runAsGroup`,
/// `supplementalGroups` and `fsGroup` strategies alike (four Go types, one shape).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IdRangeStrategyOptions {
    #[serde(default)]
    pub rule: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "podsec_pss::nulls::as_default"
    )]
    pub ranges: Vec<IdRange>,
}

pub type RunAsUserStrategyOptions = IdRangeStrategyOptions;
pub type RunAsGroupStrategyOptions = IdRangeStrategyOptions;
/// Options of the `supplementalGroups` and `fsGroup` strategies.
pub type GroupStrategyOptions = IdRangeStrategyOptions;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedHostPath {
    #[serde(default)]
    pub path_prefix: String,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AllowedFlexVolume {
    #[serde(default)]
    pub driver: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AllowedCsiDriver {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeClassStrategyOptions {
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub allowed_runtime_class_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_runtime_class_name: Option<String>,
}

impl PodSecurityPolicy {
    /// Whether a decoded document is a PodSecurityPolicy (either served group).
    pub fn is_policy_object(value: &Value) -> bool {
        let api_version = value.get("apiVersion").and_then(Value::as_str);
        let kind = value.get("kind").and_then(Value::as_str);
        kind == Some(POLICY_KIND)
            && api_version.is_some_and(|version| POLICY_API_VERSIONS.contains(&version))
    }

    /// Whether a document claims to be a PodSecurityPolicy, whatever its version: such documents
    /// should be handed to [`PodSecurityPolicy::from_value`] so that an unserved version is
    /// reported rather than silently ignored.
    pub fn has_policy_kind(value: &Value) -> bool {
        value.get("kind").and_then(Value::as_str) == Some(POLICY_KIND)
    }

    /// Whether a decoded document is a typed list of PodSecurityPolicies, whatever its version.
    pub fn is_policy_list(value: &Value) -> bool {
        value.get("kind").and_then(Value::as_str) == Some(POLICY_LIST_KIND)
    }

    /// Decodes a policy document and applies what the API server does on create before
    /// validation: the namespace of this cluster-scoped object is cleared and the v1beta1
    /// defaulting applied. Object validation is separate: see [`crate::validation::validate_policy`].
    pub fn from_value(value: &Value) -> Result<Self, PolicyParseError> {
        if !Self::is_policy_object(value) {
            let text = |key: &str| {
                value
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            if Self::has_policy_kind(value) {
                return Err(PolicyParseError::UnservedVersion {
                    api_version: text("apiVersion"),
                });
            }
            return Err(PolicyParseError::NotAPolicy {
                api_version: text("apiVersion"),
                kind: text("kind"),
            });
        }
        let mut policy: PodSecurityPolicy =
            serde_json::from_value(value.clone()).map_err(|source| PolicyParseError::Decode {
                name: value
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                source,
            })?;
        // PodSecurityPolicy is cluster-scoped: the API server clears a namespace given in the
        // object (kubectl sends one when a manifest carries it) before validating.
        policy.metadata.namespace.clear();
        policy.set_defaults();
        Ok(policy)
    }

    /// The only v1beta1 defaulter for PSP: a missing `allowPrivilegeEscalation` becomes `true`.
    pub fn set_defaults(&mut self) {
        if self.spec.allow_privilege_escalation.is_none() {
            self.spec.allow_privilege_escalation = Some(true);
        }
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// An annotation of the policy object, if present (present-but-empty is `Some("")`).
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata.annotations.get(key).map(String::as_str)
    }
}

/// Every PodSecurityPolicy among decoded documents (other kinds are skipped): the usable
/// policies, and the documents of kind PodSecurityPolicy that could not be used, with why.
pub fn policies_from_objects<'a>(
    objects: impl IntoIterator<Item = &'a Value>,
) -> (Vec<PodSecurityPolicy>, Vec<PolicyParseError>) {
    let mut policies = Vec::new();
    let mut errors = Vec::new();
    for object in objects {
        if !PodSecurityPolicy::has_policy_kind(object) {
            continue;
        }
        match PodSecurityPolicy::from_value(object) {
            Ok(policy) => policies.push(policy),
            Err(error) => errors.push(error),
        }
    }
    (policies, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_both_served_groups_and_defaults_privilege_escalation() {
        for api_version in POLICY_API_VERSIONS {
            let policy = PodSecurityPolicy::from_value(&json!({
                "apiVersion": api_version, "kind": "PodSecurityPolicy",
                "metadata": {"name": "p"},
                "spec": {"seLinux": {"rule": "RunAsAny"}, "runAsUser": {"rule": "RunAsAny"},
                         "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"},
                         "hostPID": true, "allowedCSIDrivers": [{"name": "x"}]}
            }))
            .expect("policy parses");
            assert_eq!(policy.spec.allow_privilege_escalation, Some(true));
            assert!(policy.spec.host_pid);
            assert_eq!(policy.spec.allowed_csi_drivers[0].name, "x");
        }
    }

    /// As Go decodes them: a `null` name is empty, and a label or annotation whose value is
    /// `null` is there, empty (the seccomp and AppArmor annotations are read from these).
    #[test]
    fn reads_null_metadata_values_as_empty() {
        let policy = PodSecurityPolicy::from_value(&json!({
            "apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
            "metadata": {"name": "p", "namespace": null, "generateName": null,
                         "labels": {"team": null}, "annotations": {"note": null, "a": "b"}},
            "spec": {}
        }))
        .expect("policy parses");
        assert_eq!(policy.metadata.namespace, "");
        assert_eq!(policy.metadata.generate_name, "");
        assert_eq!(
            policy.metadata.labels.get("team").map(String::as_str),
            Some("")
        );
        assert_eq!(
            policy.metadata.annotations.get("note").map(String::as_str),
            Some("")
        );
        assert_eq!(
            policy.metadata.annotations.get("a").map(String::as_str),
            Some("b")
        );
    }

    #[test]
    fn keeps_an_explicit_false() {
        let policy = PodSecurityPolicy::from_value(&json!({
            "apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
            "metadata": {"name": "p"}, "spec": {"allowPrivilegeEscalation": false}
        }))
        .expect("policy parses");
        assert_eq!(policy.spec.allow_privilege_escalation, Some(false));
    }

    #[test]
    fn refuses_versions_never_served() {
        let error = PodSecurityPolicy::from_value(
            &json!({"apiVersion": "policy/v1", "kind": "PodSecurityPolicy"}),
        )
        .expect_err("policy/v1 never served PodSecurityPolicy");
        assert_eq!(
            error.to_string(),
            "no matches for kind \"PodSecurityPolicy\" in version \"policy/v1\""
        );
    }

    #[test]
    fn picks_policies_out_of_mixed_documents() {
        let objects = [
            json!({"apiVersion": "v1", "kind": "Pod"}),
            json!({"apiVersion": "extensions/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "a"}}),
            json!({"apiVersion": "policy/v1", "kind": "PodSecurityPolicy", "metadata": {"name": "b"}}),
        ];
        let (policies, errors) = policies_from_objects(&objects);
        assert_eq!(policies.len(), 1);
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn rejects_other_kinds() {
        let error = PodSecurityPolicy::from_value(&json!({"apiVersion": "v1", "kind": "Pod"}));
        assert!(matches!(error, Err(PolicyParseError::NotAPolicy { .. })));
    }

    #[test]
    fn ranges_print_like_go() {
        let ranges = [IdRange { min: 1, max: 1 }, IdRange { min: 10, max: 20 }];
        assert_eq!(GoRanges(&ranges).to_string(), "[{1 1} {10 20}]");
    }
}
