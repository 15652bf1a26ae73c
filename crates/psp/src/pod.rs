//! The typed view of a pod's security-relevant fields.
//!
//! The pod itself stays a `serde_json::Value` (so that nothing PSP does not understand is lost and
//! a JSON patch can be computed); strategies read and mutate this view, and [`write_back`] copies
//! the fields that changed into the JSON document, creating parent objects only when a value has
//! to be written into them (an empty `securityContext: {}` is never materialised).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::field_error::FieldPath;
use crate::types::SeLinuxOptions;

/// Pod annotation recording the admitting policy.
pub const VALIDATED_PSP_ANNOTATION: &str = "kubernetes.io/psp";

/// The view of a pod that PSP strategies read and write.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct PodView {
    #[serde(default)]
    pub metadata: PodMetadata,
    #[serde(default)]
    pub spec: PodSpec,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetadata {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub generate_name: Option<String>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default)]
    pub service_account_name: Option<String>,
    /// The deprecated alias of `serviceAccountName`.
    #[serde(default)]
    pub service_account: Option<String>,
    #[serde(default)]
    pub host_network: Option<bool>,
    #[serde(default, rename = "hostPID")]
    pub host_pid: Option<bool>,
    #[serde(default, rename = "hostIPC")]
    pub host_ipc: Option<bool>,
    #[serde(default)]
    pub security_context: Option<PodSecurityContext>,
    #[serde(default)]
    pub runtime_class_name: Option<String>,
    #[serde(default)]
    pub volumes: Option<Vec<Volume>>,
    #[serde(default)]
    pub init_containers: Option<Vec<Container>>,
    #[serde(default)]
    pub containers: Option<Vec<Container>>,
    #[serde(default)]
    pub ephemeral_containers: Option<Vec<Container>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityContext {
    #[serde(default)]
    pub run_as_user: Option<i64>,
    #[serde(default)]
    pub run_as_group: Option<i64>,
    #[serde(default)]
    pub run_as_non_root: Option<bool>,
    #[serde(default, rename = "seLinuxOptions")]
    pub se_linux_options: Option<SeLinuxOptions>,
    #[serde(default)]
    pub supplemental_groups: Option<Vec<i64>>,
    #[serde(default)]
    pub fs_group: Option<i64>,
    #[serde(default)]
    pub sysctls: Option<Vec<Sysctl>>,
    #[serde(default)]
    pub seccomp_profile: Option<SeccompProfile>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sysctl {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompProfile {
    #[serde(default, rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub localhost_profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub security_context: Option<SecurityContext>,
    #[serde(default)]
    pub ports: Option<Vec<ContainerPort>>,
    #[serde(default)]
    pub volume_mounts: Option<Vec<VolumeMount>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    #[serde(default)]
    pub run_as_user: Option<i64>,
    #[serde(default)]
    pub run_as_group: Option<i64>,
    #[serde(default)]
    pub run_as_non_root: Option<bool>,
    #[serde(default, rename = "seLinuxOptions")]
    pub se_linux_options: Option<SeLinuxOptions>,
    #[serde(default)]
    pub capabilities: Option<Capabilities>,
    #[serde(default)]
    pub read_only_root_filesystem: Option<bool>,
    #[serde(default)]
    pub allow_privilege_escalation: Option<bool>,
    #[serde(default)]
    pub privileged: Option<bool>,
    #[serde(default)]
    pub proc_mount: Option<String>,
    #[serde(default)]
    pub seccomp_profile: Option<SeccompProfile>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Capabilities {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    #[serde(default)]
    pub container_port: i32,
    #[serde(default)]
    pub host_port: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub read_only: Option<bool>,
}

/// A volume: its name and its source, kept as JSON (the source key decides the FSType).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Volume {
    #[serde(default)]
    pub name: String,
    #[serde(flatten)]
    pub sources: BTreeMap<String, Value>,
}

/// The three kinds of containers, in the order upstream visits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    Init,
    Regular,
    Ephemeral,
}

impl ContainerKind {
    pub const ALL: [ContainerKind; 3] = [
        ContainerKind::Init,
        ContainerKind::Regular,
        ContainerKind::Ephemeral,
    ];

    /// The pod spec field holding this kind.
    pub fn field_name(self) -> &'static str {
        match self {
            ContainerKind::Init => "initContainers",
            ContainerKind::Regular => "containers",
            ContainerKind::Ephemeral => "ephemeralContainers",
        }
    }
}

/// Where a container sits in the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerLocation {
    pub kind: ContainerKind,
    pub index: usize,
}

impl ContainerLocation {
    /// `spec.<kind>[i]`.
    pub fn path(self) -> FieldPath {
        FieldPath::new(["spec", self.kind.field_name()]).index(self.index)
    }

    /// `spec.<kind>[i].securityContext`.
    pub fn security_context_path(self) -> FieldPath {
        self.path().child("securityContext")
    }
}

impl PodSpec {
    fn containers_of(&self, kind: ContainerKind) -> &[Container] {
        let list = match kind {
            ContainerKind::Init => &self.init_containers,
            ContainerKind::Regular => &self.containers,
            ContainerKind::Ephemeral => &self.ephemeral_containers,
        };
        list.as_deref().unwrap_or_default()
    }

    fn containers_of_mut(&mut self, kind: ContainerKind) -> &mut [Container] {
        let list = match kind {
            ContainerKind::Init => &mut self.init_containers,
            ContainerKind::Regular => &mut self.containers,
            ContainerKind::Ephemeral => &mut self.ephemeral_containers,
        };
        list.as_deref_mut().unwrap_or_default()
    }

    /// Every container, init first, then regular, then ephemeral.
    pub fn all_containers(&self) -> impl Iterator<Item = (ContainerLocation, &Container)> {
        ContainerKind::ALL.into_iter().flat_map(move |kind| {
            self.containers_of(kind)
                .iter()
                .enumerate()
                .map(move |(index, container)| (ContainerLocation { kind, index }, container))
        })
    }

    /// The locations of every container, in visiting order.
    pub fn container_locations(&self) -> Vec<ContainerLocation> {
        self.all_containers()
            .map(|(location, _)| location)
            .collect()
    }

    pub fn container(&self, location: ContainerLocation) -> Option<&Container> {
        self.containers_of(location.kind).get(location.index)
    }

    pub fn container_mut(&mut self, location: ContainerLocation) -> Option<&mut Container> {
        self.containers_of_mut(location.kind)
            .get_mut(location.index)
    }

    /// The service account the pod runs as. The ServiceAccount admission plugin (which ran before
    /// PSP in-tree, and before any webhook) fills in `default` when the pod names none.
    pub fn effective_service_account(&self) -> &str {
        [&self.service_account_name, &self.service_account]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .find(|name| !name.is_empty())
            .unwrap_or("default")
    }
}

impl PodView {
    /// A pod annotation, if set.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(key))
            .map(String::as_str)
    }
}

/// The effective security settings of one container: container values falling back to the pod's
/// where upstream's effective accessor does so.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EffectiveContext {
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub run_as_non_root: Option<bool>,
    pub se_linux_options: Option<SeLinuxOptions>,
}

impl EffectiveContext {
    pub fn of(pod_context: Option<&PodSecurityContext>, container: &Container) -> Self {
        let own = container.security_context.as_ref();
        EffectiveContext {
            run_as_user: own
                .and_then(|sc| sc.run_as_user)
                .or_else(|| pod_context.and_then(|sc| sc.run_as_user)),
            run_as_group: own
                .and_then(|sc| sc.run_as_group)
                .or_else(|| pod_context.and_then(|sc| sc.run_as_group)),
            run_as_non_root: own
                .and_then(|sc| sc.run_as_non_root)
                .or_else(|| pod_context.and_then(|sc| sc.run_as_non_root)),
            se_linux_options: own
                .and_then(|sc| sc.se_linux_options.clone())
                .or_else(|| pod_context.and_then(|sc| sc.se_linux_options.clone())),
        }
    }
}

/// Why a pod document cannot be judged.
#[derive(Debug, thiserror::Error)]
#[error("pod cannot be decoded: {0}")]
pub struct PodDecodeError(#[from] serde_json::Error);

/// Decodes the view from a pod document.
pub fn decode_pod(pod: &Value) -> Result<PodView, PodDecodeError> {
    Ok(PodView::deserialize(pod)?)
}

/// Copies every field a strategy may have changed from `mutated` into `document`.
///
/// Only fields that differ from `original` are written, so an unchanged view leaves the document
/// byte-for-byte identical.
pub fn write_back(original: &PodView, mutated: &PodView, document: &mut Value) {
    if original.metadata.annotations != mutated.metadata.annotations {
        let before = original.metadata.annotations.clone().unwrap_or_default();
        for (key, value) in mutated.metadata.annotations.iter().flatten() {
            if before.get(key) != Some(value) {
                let annotations = object_at(document, &["metadata", "annotations"]);
                annotations.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }

    let pod_before = original.spec.security_context.clone().unwrap_or_default();
    let pod_after = mutated.spec.security_context.clone().unwrap_or_default();
    let pod_fields = [
        (
            "supplementalGroups",
            to_json(&pod_before.supplemental_groups),
            to_json(&pod_after.supplemental_groups),
        ),
        (
            "fsGroup",
            to_json(&pod_before.fs_group),
            to_json(&pod_after.fs_group),
        ),
        (
            "seLinuxOptions",
            to_json(&pod_before.se_linux_options),
            to_json(&pod_after.se_linux_options),
        ),
    ];
    write_changed_fields(document, &["spec", "securityContext"], pod_fields);

    if original.spec.runtime_class_name != mutated.spec.runtime_class_name
        && let Some(name) = &mutated.spec.runtime_class_name
    {
        object_at(document, &["spec"])
            .insert("runtimeClassName".into(), Value::String(name.clone()));
    }

    for (location, after) in mutated.spec.all_containers() {
        let Some(before) = original.spec.container(location) else {
            continue;
        };
        let before = before.security_context.clone().unwrap_or_default();
        let after = after.security_context.clone().unwrap_or_default();
        let fields = [
            (
                "runAsUser",
                to_json(&before.run_as_user),
                to_json(&after.run_as_user),
            ),
            (
                "runAsGroup",
                to_json(&before.run_as_group),
                to_json(&after.run_as_group),
            ),
            (
                "runAsNonRoot",
                to_json(&before.run_as_non_root),
                to_json(&after.run_as_non_root),
            ),
            (
                "seLinuxOptions",
                to_json(&before.se_linux_options),
                to_json(&after.se_linux_options),
            ),
            (
                "capabilities",
                to_json(&before.capabilities),
                to_json(&after.capabilities),
            ),
            (
                "readOnlyRootFilesystem",
                to_json(&before.read_only_root_filesystem),
                to_json(&after.read_only_root_filesystem),
            ),
            (
                "allowPrivilegeEscalation",
                to_json(&before.allow_privilege_escalation),
                to_json(&after.allow_privilege_escalation),
            ),
        ];
        let pointer = format!("/spec/{}/{}", location.kind.field_name(), location.index);
        if let Some(container_document) = document.pointer_mut(&pointer) {
            write_changed_fields(container_document, &["securityContext"], fields);
        }
    }
}

fn to_json<T: Serialize>(value: &Option<T>) -> Option<Value> {
    value
        .as_ref()
        .and_then(|value| serde_json::to_value(value).ok())
}

fn write_changed_fields<const N: usize>(
    document: &mut Value,
    parent: &[&str],
    fields: [(&str, Option<Value>, Option<Value>); N],
) {
    for (key, before, after) in fields {
        if before == after {
            continue;
        }
        // Strategies only ever fill in unset fields or replace them; they never unset one.
        if let Some(after) = after {
            object_at(document, parent).insert(key.to_string(), after);
        }
    }
}

/// The object at `path`, creating (or replacing `null` with) empty objects on the way.
fn object_at<'a>(document: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut current = document;
    for segment in path {
        current = ensure_object(current)
            .entry(segment.to_string())
            .or_insert(Value::Null);
    }
    ensure_object(current)
}

fn ensure_object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("replaced by an object just above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn write_back_creates_parents_only_for_values() {
        let mut document =
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}});
        let original = decode_pod(&document).expect("decodes");
        let mut mutated = original.clone();
        mutated.spec.security_context = Some(PodSecurityContext {
            fs_group: Some(1),
            ..Default::default()
        });
        if let Some(container) = mutated.spec.container_mut(ContainerLocation {
            kind: ContainerKind::Regular,
            index: 0,
        }) {
            container.security_context = Some(SecurityContext {
                allow_privilege_escalation: Some(false),
                ..Default::default()
            });
        }
        write_back(&original, &mutated, &mut document);
        assert_eq!(
            document,
            json!({"metadata": {"name": "p"}, "spec": {
                "securityContext": {"fsGroup": 1},
                "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": false}}]}})
        );
    }

    #[test]
    fn unchanged_view_leaves_document_alone() {
        let mut document = json!({"spec": {"securityContext": {}, "containers": [{"name": "c", "securityContext": {}}]}});
        let before = document.clone();
        let view = decode_pod(&document).expect("decodes");
        write_back(&view, &view, &mut document);
        assert_eq!(document, before);
    }

    #[test]
    fn effective_context_falls_back_to_pod() {
        let pod = decode_pod(
            &json!({"spec": {"securityContext": {"runAsUser": 5, "runAsNonRoot": true},
            "containers": [{"name": "c", "securityContext": {"runAsUser": 7}}]}}),
        )
        .expect("decodes");
        let (_, container) = pod.spec.all_containers().next().expect("one container");
        let effective = EffectiveContext::of(pod.spec.security_context.as_ref(), container);
        assert_eq!(effective.run_as_user, Some(7));
        assert_eq!(effective.run_as_non_root, Some(true));
    }

    #[test]
    fn service_account_defaults_like_the_service_account_plugin() {
        let pod = decode_pod(&json!({"spec": {}})).expect("decodes");
        assert_eq!(pod.spec.effective_service_account(), "default");
        let pod = decode_pod(&json!({"spec": {"serviceAccount": "old"}})).expect("decodes");
        assert_eq!(pod.spec.effective_service_account(), "old");
    }
}
