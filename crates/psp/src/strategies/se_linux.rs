//! `seLinux`: `MustRunAs` fills the pod's `seLinuxOptions` when unset, then each container's
//! when its effective options are unset (normally a no-op, the pod now carries them). Validation
//! compares all four fields (level by sensitivity and category set) at pod and container level.

use super::{StrategyError, security_context_mut};
use crate::field_error::{BadValue, FieldError, FieldPath};
use crate::pod::{Container, EffectiveContext, PodSecurityContext, PodView};
use crate::types::{SeLinuxOptions, SeLinuxStrategyOptions, rules};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeLinuxStrategy {
    MustRunAs(SeLinuxOptions),
    RunAsAny,
}

impl SeLinuxStrategy {
    pub fn new(options: &SeLinuxStrategyOptions) -> Result<Self, StrategyError> {
        match options.rule.as_str() {
            rules::MUST_RUN_AS => options
                .se_linux_options
                .clone()
                .map(SeLinuxStrategy::MustRunAs)
                .ok_or(StrategyError::SeLinuxWithoutOptions),
            rules::RUN_AS_ANY => Ok(SeLinuxStrategy::RunAsAny),
            other => Err(StrategyError::UnrecognizedRule {
                strategy: "SELinuxContext",
                rule: other.to_string(),
            }),
        }
    }

    fn generate(&self) -> Option<&SeLinuxOptions> {
        match self {
            SeLinuxStrategy::MustRunAs(options) => Some(options),
            SeLinuxStrategy::RunAsAny => None,
        }
    }

    pub fn mutate_pod(&self, pod: &mut PodView) {
        let current = pod
            .spec
            .security_context
            .as_ref()
            .and_then(|sc| sc.se_linux_options.as_ref());
        if current.is_none()
            && let Some(options) = self.generate()
        {
            pod.spec
                .security_context
                .get_or_insert_with(PodSecurityContext::default)
                .se_linux_options = Some(options.clone());
        }
    }

    pub fn mutate_container(
        &self,
        pod_context: Option<&PodSecurityContext>,
        container: &mut Container,
    ) {
        let effective = EffectiveContext::of(pod_context, container).se_linux_options;
        if effective.is_none()
            && let Some(options) = self.generate()
        {
            security_context_mut(container).se_linux_options = Some(options.clone());
        }
    }

    /// Validates options found at `path` (pod level, or a container's effective options).
    pub fn validate(&self, path: &FieldPath, actual: Option<&SeLinuxOptions>) -> Vec<FieldError> {
        let SeLinuxStrategy::MustRunAs(expected) = self else {
            return Vec::new();
        };
        let Some(actual) = actual else {
            return vec![FieldError::required(path.clone(), "")];
        };
        let mut errors = Vec::new();
        let checks = [
            (
                "level",
                equal_levels(&expected.level, &actual.level),
                &expected.level,
                &actual.level,
            ),
            (
                "role",
                expected.role == actual.role,
                &expected.role,
                &actual.role,
            ),
            (
                "type",
                expected.type_ == actual.type_,
                &expected.type_,
                &actual.type_,
            ),
            (
                "user",
                expected.user == actual.user,
                &expected.user,
                &actual.user,
            ),
        ];
        for (field, equal, expected, actual) in checks {
            if !equal {
                errors.push(FieldError::invalid(
                    path.child(field),
                    BadValue::str(actual),
                    format!("must be {expected}"),
                ));
            }
        }
        errors
    }
}

/// Levels match when equal, or when both are `sensitivity:categories` with the same sensitivity
/// and the same categories in any order.
fn equal_levels(expected: &str, actual: &str) -> bool {
    if expected == actual {
        return true;
    }
    let (
        Some((expected_sensitivity, expected_categories)),
        Some((actual_sensitivity, actual_categories)),
    ) = (expected.split_once(':'), actual.split_once(':'))
    else {
        return false;
    };
    expected_sensitivity == actual_sensitivity
        && sorted_categories(expected_categories) == sorted_categories(actual_categories)
}

fn sorted_categories(categories: &str) -> Vec<&str> {
    let mut list: Vec<&str> = categories.split(',').collect();
    list.sort_unstable();
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::{ContainerKind, ContainerLocation};
    use crate::strategies::test_support::{pod, rendered};
    use serde_json::json;

    fn options(user: &str, role: &str, type_: &str, level: &str) -> SeLinuxOptions {
        SeLinuxOptions {
            user: user.into(),
            role: role.into(),
            type_: type_.into(),
            level: level.into(),
        }
    }

    #[test]
    fn construction() {
        let strategy = |rule: &str, options: Option<SeLinuxOptions>| {
            SeLinuxStrategy::new(&SeLinuxStrategyOptions {
                rule: rule.into(),
                se_linux_options: options,
            })
            .map_err(|error| error.to_string())
        };
        assert_eq!(
            strategy("MustRunAs", None),
            Err("MustRunAs requires SELinuxOptions".into())
        );
        assert_eq!(
            strategy("x", None),
            Err("Unrecognized SELinuxContext strategy type x".into())
        );
        assert_eq!(strategy("RunAsAny", None), Ok(SeLinuxStrategy::RunAsAny));
    }

    #[test]
    fn generation_sets_the_pod_level_only() {
        let strategy = SeLinuxStrategy::MustRunAs(options("", "", "", "s0:c1,c2"));
        let mut view = pod(json!({"spec": {"containers": [{"name": "c"}]}}));
        strategy.mutate_pod(&mut view);
        let pod_context = view.spec.security_context.clone();
        let location = ContainerLocation {
            kind: ContainerKind::Regular,
            index: 0,
        };
        let container = view.spec.container_mut(location).expect("container");
        strategy.mutate_container(pod_context.as_ref(), container);
        assert_eq!(container.security_context, None);
        assert_eq!(
            pod_context.and_then(|sc| sc.se_linux_options),
            Some(options("", "", "", "s0:c1,c2"))
        );

        let mut keeps =
            pod(json!({"spec": {"securityContext": {"seLinuxOptions": {"level": "x"}}}}));
        strategy.mutate_pod(&mut keeps);
        assert_eq!(
            keeps
                .spec
                .security_context
                .and_then(|sc| sc.se_linux_options),
            Some(options("", "", "", "x"))
        );
    }

    #[test]
    fn validation_table() {
        let strategy = SeLinuxStrategy::MustRunAs(options("user", "role", "type", "s0:c0,c6"));
        let path = FieldPath::new(["spec", "securityContext", "seLinuxOptions"]);
        let cases = [
            (
                None,
                vec!["spec.securityContext.seLinuxOptions: Required value"],
            ),
            (Some(options("user", "role", "type", "s0:c6,c0")), vec![]),
            (
                Some(options("", "role", "type", "s0:c6")),
                vec![
                    "spec.securityContext.seLinuxOptions.level: Invalid value: \"s0:c6\": must be s0:c0,c6",
                    "spec.securityContext.seLinuxOptions.user: Invalid value: \"\": must be user",
                ],
            ),
            (
                Some(options("user", "r2", "t2", "s1:c0,c6")),
                vec![
                    "spec.securityContext.seLinuxOptions.level: Invalid value: \"s1:c0,c6\": must be s0:c0,c6",
                    "spec.securityContext.seLinuxOptions.role: Invalid value: \"r2\": must be role",
                    "spec.securityContext.seLinuxOptions.type: Invalid value: \"t2\": must be type",
                ],
            ),
        ];
        for (actual, expected) in cases {
            assert_eq!(
                rendered(&strategy.validate(&path, actual.as_ref())),
                expected
            );
        }
        let level_only = SeLinuxStrategy::MustRunAs(options("", "", "", "s0"));
        assert_eq!(
            rendered(&level_only.validate(&path, Some(&options("", "", "spc_t", "s0")))),
            vec!["spec.securityContext.seLinuxOptions.type: Invalid value: \"spc_t\": must be "]
        );
        assert!(SeLinuxStrategy::RunAsAny.validate(&path, None).is_empty());
    }
}
