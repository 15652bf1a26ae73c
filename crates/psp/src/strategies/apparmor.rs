//! AppArmor, driven by the policy's annotations. Generation writes each container's profile
//! annotation from the policy default when the container has none; validation (only when the
//! policy lists allowed profiles) requires every container to carry an allowed profile.

use std::collections::BTreeSet;

use crate::field_error::go_quote;
use crate::field_error::{FieldError, FieldPath};
use crate::pod::PodView;
use crate::types::{PodSecurityPolicy, annotations};

/// Prefix of the per-container AppArmor annotation.
pub const CONTAINER_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppArmorStrategy {
    default_profile: String,
    /// `None` when the allowed annotation is absent (unrestricted).
    allowed: Option<BTreeSet<String>>,
    allowed_raw: String,
}

impl AppArmorStrategy {
    pub fn new(policy: &PodSecurityPolicy) -> Self {
        let allowed_raw = policy.annotation(annotations::APPARMOR_ALLOWED_PROFILES);
        AppArmorStrategy {
            default_profile: policy
                .annotation(annotations::APPARMOR_DEFAULT_PROFILE)
                .unwrap_or_default()
                .to_string(),
            allowed: allowed_raw.map(|raw| raw.split(',').map(str::to_string).collect()),
            allowed_raw: allowed_raw.unwrap_or_default().to_string(),
        }
    }

    fn key(container_name: &str) -> String {
        format!("{CONTAINER_ANNOTATION_PREFIX}{container_name}")
    }

    pub fn mutate(&self, pod: &mut PodView, container_name: &str) {
        let key = Self::key(container_name);
        let current = pod.annotation(&key).unwrap_or_default();
        if current.is_empty() && !self.default_profile.is_empty() {
            pod.metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(key, self.default_profile.clone());
        }
    }

    pub fn validate(&self, pod: &PodView, container_name: &str) -> Vec<FieldError> {
        let Some(allowed) = &self.allowed else {
            return Vec::new();
        };
        let key = Self::key(container_name);
        let path = FieldPath::new(["pod", "metadata", "annotations"]).key(&key);
        let profile = pod.annotation(&key).unwrap_or_default();
        if profile.is_empty() {
            // A present list always has at least one entry, so an unset profile is refused.
            return vec![FieldError::forbidden(path, "AppArmor profile must be set")];
        }
        if allowed.contains(profile) {
            return Vec::new();
        }
        vec![FieldError::forbidden(
            path,
            format!(
                "{profile} is not an allowed profile. Allowed values: {}",
                go_quote(&self.allowed_raw)
            ),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::test_support::{pod, policy_with_annotations, rendered};
    use serde_json::{Value, json};

    fn strategy(annotations: Value) -> AppArmorStrategy {
        AppArmorStrategy::new(&policy_with_annotations(json!({}), annotations))
    }

    #[test]
    fn generation_table() {
        let default =
            json!({"apparmor.security.beta.kubernetes.io/defaultProfileName": "runtime/default"});
        let cases = [
            (default.clone(), json!({}), Some("runtime/default")),
            (
                default,
                json!({"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}),
                Some("unconfined"),
            ),
            (json!({}), json!({}), None),
        ];
        for (policy_annotations, pod_annotations, expected) in cases {
            let mut view = pod(json!({"metadata": {"annotations": pod_annotations}}));
            strategy(policy_annotations).mutate(&mut view, "c");
            assert_eq!(
                view.annotation("container.apparmor.security.beta.kubernetes.io/c"),
                expected
            );
        }
    }

    #[test]
    fn validation_table() {
        let allowed =
            |list: &str| json!({"apparmor.security.beta.kubernetes.io/allowedProfileNames": list});
        let path = "pod.metadata.annotations[container.apparmor.security.beta.kubernetes.io/c]";
        let cases = [
            (json!({}), Some("anything"), vec![]),
            (
                allowed("runtime/default"),
                None,
                vec![format!("{path}: Forbidden: AppArmor profile must be set")],
            ),
            (
                allowed("runtime/default,"),
                None,
                vec![format!("{path}: Forbidden: AppArmor profile must be set")],
            ),
            (allowed("runtime/default"), Some("runtime/default"), vec![]),
            (
                allowed("runtime/default,localhost/foo"),
                Some("localhost/bar"),
                vec![format!(
                    "{path}: Forbidden: localhost/bar is not an allowed profile. Allowed values: \"runtime/default,localhost/foo\""
                )],
            ),
        ];
        for (policy_annotations, profile, expected) in cases {
            let annotations = profile.map_or(
                json!({}),
                |profile| json!({"container.apparmor.security.beta.kubernetes.io/c": profile}),
            );
            let view = pod(json!({"metadata": {"annotations": annotations}}));
            assert_eq!(
                rendered(&strategy(policy_annotations).validate(&view, "c")),
                expected
            );
        }
    }
}
