//! Seccomp, driven by the policy's annotations. Generation writes the pod-level annotation
//! (existing annotation, else the pod field's annotation equivalent, else the policy default);
//! validation checks the pod profile and each container's profile against the allowed list.
//!
//! An absent allowed list forbids any profile; `*` allows any; `docker/default` and
//! `runtime/default` are equivalent; entries are not trimmed; the raw list is quoted in messages.

use std::collections::BTreeSet;

use crate::field_error::{FieldError, FieldPath};
use crate::pod::{Container, PodView, SeccompProfile};
use crate::types::{PodSecurityPolicy, annotations};

/// Pod annotation carrying the pod-level profile.
pub const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
/// Prefix of the per-container annotation.
pub const CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

const RUNTIME_DEFAULT: &str = "runtime/default";
const DOCKER_DEFAULT: &str = "docker/default";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeccompStrategy {
    default_profile: String,
    /// `None` when the allowed annotation is absent.
    allowed: Option<BTreeSet<String>>,
    allowed_raw: String,
    allow_any: bool,
}

/// The annotation value equivalent to a `seccompProfile` field.
pub fn annotation_for_field(profile: &SeccompProfile) -> String {
    match profile.type_.as_str() {
        "Unconfined" => "unconfined".to_string(),
        "RuntimeDefault" => RUNTIME_DEFAULT.to_string(),
        "Localhost" => profile
            .localhost_profile
            .as_ref()
            .map(|path| format!("localhost/{path}"))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

impl SeccompStrategy {
    pub fn new(policy: &PodSecurityPolicy) -> Self {
        let allowed_raw = policy.annotation(annotations::SECCOMP_ALLOWED_PROFILES);
        let mut allow_any = false;
        let allowed = allowed_raw.map(|raw| {
            let mut set = BTreeSet::new();
            for profile in raw.split(',') {
                if profile == "*" {
                    allow_any = true;
                    continue;
                }
                if profile == DOCKER_DEFAULT || profile == RUNTIME_DEFAULT {
                    set.insert(DOCKER_DEFAULT.to_string());
                    set.insert(RUNTIME_DEFAULT.to_string());
                }
                set.insert(profile.to_string());
            }
            set
        });
        SeccompStrategy {
            default_profile: policy
                .annotation(annotations::SECCOMP_DEFAULT_PROFILE)
                .unwrap_or_default()
                .to_string(),
            allowed,
            allowed_raw: allowed_raw.unwrap_or_default().to_string(),
            allow_any,
        }
    }

    fn pod_field_profile(pod: &PodView) -> Option<String> {
        pod.spec
            .security_context
            .as_ref()
            .and_then(|sc| sc.seccomp_profile.as_ref())
            .map(annotation_for_field)
    }

    /// The pod-level profile to record.
    pub fn generate(&self, pod: &PodView) -> String {
        match pod.annotation(POD_ANNOTATION) {
            Some(existing) if !existing.is_empty() => existing.to_string(),
            _ => Self::pod_field_profile(pod).unwrap_or_else(|| self.default_profile.clone()),
        }
    }

    pub fn mutate(&self, pod: &mut PodView) {
        let profile = self.generate(pod);
        if !profile.is_empty() {
            pod.metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(POD_ANNOTATION.to_string(), profile);
        }
    }

    pub fn validate_pod(&self, pod: &PodView) -> Vec<FieldError> {
        let path = FieldPath::new(["pod", "metadata", "annotations"]).key(POD_ANNOTATION);
        let profile = match pod.annotation(POD_ANNOTATION) {
            Some(annotation) if !annotation.is_empty() => annotation.to_string(),
            _ => Self::pod_field_profile(pod).unwrap_or_default(),
        };
        self.validate_profile(path, &profile).into_iter().collect()
    }

    pub fn validate_container(&self, pod: &PodView, container: &Container) -> Vec<FieldError> {
        let key = format!("{CONTAINER_ANNOTATION_PREFIX}{}", container.name);
        let path = FieldPath::new(["pod", "metadata", "annotations"]).key(&key);
        let own_field = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.seccomp_profile.as_ref());
        let profile = if let Some(field) = own_field {
            annotation_for_field(field)
        } else if let Some(annotation) = pod.annotation(&key) {
            annotation.to_string()
        } else if let Some(pod_field) = Self::pod_field_profile(pod) {
            pod_field
        } else {
            pod.annotation(POD_ANNOTATION)
                .unwrap_or_default()
                .to_string()
        };
        self.validate_profile(path, &profile).into_iter().collect()
    }

    fn validate_profile(&self, path: FieldPath, profile: &str) -> Option<FieldError> {
        let allowed_count = self.allowed.as_ref().map_or(0, BTreeSet::len);
        if !self.allow_any && allowed_count == 0 && !profile.is_empty() {
            return Some(FieldError::forbidden(path, "seccomp may not be set"));
        }
        let permitted = (allowed_count == 0 && profile.is_empty())
            || self.allow_any
            || self
                .allowed
                .as_ref()
                .is_some_and(|set| set.contains(profile));
        (!permitted).then(|| {
            FieldError::forbidden(
                path,
                format!(
                    "{profile} is not an allowed seccomp profile. Valid values are {}",
                    self.allowed_raw
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::test_support::{pod, policy_with_annotations, rendered};
    use serde_json::{Value, json};

    fn strategy(annotations: Value) -> SeccompStrategy {
        SeccompStrategy::new(&policy_with_annotations(json!({}), annotations))
    }

    #[test]
    fn generation_table() {
        let cases = [
            (
                json!({"seccomp.security.alpha.kubernetes.io/defaultProfileName": "runtime/default"}),
                json!({}),
                json!({}),
                Some("runtime/default"),
            ),
            (
                json!({"seccomp.security.alpha.kubernetes.io/defaultProfileName": "runtime/default"}),
                json!({POD_ANNOTATION: "unconfined"}),
                json!({}),
                Some("unconfined"),
            ),
            (
                json!({}),
                json!({}),
                json!({"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}}),
                Some("localhost/p.json"),
            ),
            (json!({}), json!({}), json!({}), None),
        ];
        for (policy_annotations, pod_annotations, spec, expected) in cases {
            let mut view = pod(json!({"metadata": {"annotations": pod_annotations}, "spec": spec}));
            strategy(policy_annotations).mutate(&mut view);
            assert_eq!(view.annotation(POD_ANNOTATION), expected);
        }
    }

    #[test]
    fn pod_validation_table() {
        let allowed =
            |list: &str| json!({"seccomp.security.alpha.kubernetes.io/allowedProfileNames": list});
        let path = "pod.metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]";
        let cases = [
            (json!({}), None, vec![]),
            (
                json!({}),
                Some("runtime/default"),
                vec![format!("{path}: Forbidden: seccomp may not be set")],
            ),
            (allowed("*"), Some("localhost/x"), vec![]),
            (allowed("docker/default"), Some("runtime/default"), vec![]),
            (allowed("runtime/default"), Some("docker/default"), vec![]),
            (
                allowed("runtime/default"),
                None,
                vec![format!(
                    "{path}: Forbidden:  is not an allowed seccomp profile. Valid values are runtime/default"
                )],
            ),
            (allowed("runtime/default,"), None, vec![]),
            (
                allowed("runtime/default, unconfined"),
                Some("unconfined"),
                vec![format!(
                    "{path}: Forbidden: unconfined is not an allowed seccomp profile. Valid values are runtime/default, unconfined"
                )],
            ),
            (
                allowed(""),
                Some("x"),
                vec![format!(
                    "{path}: Forbidden: x is not an allowed seccomp profile. Valid values are "
                )],
            ),
        ];
        for (policy_annotations, profile, expected) in cases {
            let annotations = profile.map_or(json!({}), |profile| json!({POD_ANNOTATION: profile}));
            let view = pod(json!({"metadata": {"annotations": annotations}, "spec": {}}));
            assert_eq!(
                rendered(&strategy(policy_annotations.clone()).validate_pod(&view)),
                expected,
                "{policy_annotations}"
            );
        }
    }

    #[test]
    fn container_profile_precedence() {
        let strategy = strategy(
            json!({"seccomp.security.alpha.kubernetes.io/allowedProfileNames": "runtime/default"}),
        );
        let view = pod(json!({
            "metadata": {"annotations": {POD_ANNOTATION: "runtime/default", "container.seccomp.security.alpha.kubernetes.io/b": "unconfined"}},
            "spec": {"containers": [
                {"name": "a"},
                {"name": "b"},
                {"name": "c", "securityContext": {"seccompProfile": {"type": "Unconfined"}}},
            ]}
        }));
        let errors: Vec<String> = view
            .spec
            .all_containers()
            .flat_map(|(_, container)| rendered(&strategy.validate_container(&view, container)))
            .collect();
        assert_eq!(
            errors,
            vec![
                "pod.metadata.annotations[container.seccomp.security.alpha.kubernetes.io/b]: Forbidden: unconfined is not an allowed seccomp profile. Valid values are runtime/default",
                "pod.metadata.annotations[container.seccomp.security.alpha.kubernetes.io/c]: Forbidden: unconfined is not an allowed seccomp profile. Valid values are runtime/default",
            ]
        );
    }
}
