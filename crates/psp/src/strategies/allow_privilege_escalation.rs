//! `allowPrivilegeEscalation` and `defaultAllowPrivilegeEscalation` (per container). A missing
//! policy `allowPrivilegeEscalation` means `true` (the API default). Generation applies the
//! policy default first, then `false` when the policy forbids escalation and the container still
//! leaves it unset.

use super::security_context_mut;
use crate::field_error::{BadValue, FieldError};
use crate::pod::{Container, ContainerLocation};

fn current(container: &Container) -> Option<bool> {
    container
        .security_context
        .as_ref()
        .and_then(|sc| sc.allow_privilege_escalation)
}

pub fn mutate(
    policy_default: Option<bool>,
    policy_allows: Option<bool>,
    container: &mut Container,
) {
    if let Some(default) = policy_default
        && current(container).is_none()
    {
        security_context_mut(container).allow_privilege_escalation = Some(default);
    }
    if !policy_allows.unwrap_or(true) && current(container).is_none() {
        security_context_mut(container).allow_privilege_escalation = Some(false);
    }
}

pub fn validate(
    policy_allows: Option<bool>,
    location: ContainerLocation,
    container: &Container,
) -> Vec<FieldError> {
    if policy_allows.unwrap_or(true) {
        return Vec::new();
    }
    let requested = current(container);
    if requested == Some(false) {
        return Vec::new();
    }
    vec![FieldError::invalid(
        location
            .security_context_path()
            .child("allowPrivilegeEscalation"),
        BadValue::optional_bool(requested),
        "Allowing privilege escalation for containers is not allowed",
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::ContainerKind;
    use crate::strategies::test_support::{pod_with_container_context, rendered};
    use serde_json::json;

    const FIRST: ContainerLocation = ContainerLocation {
        kind: ContainerKind::Regular,
        index: 0,
    };

    /// Upstream's truth table: (policy APE, policy DAPE, container value) →
    /// (value after generation, whether validation fails).
    #[test]
    fn truth_table() {
        let cases = [
            (Some(true), None, None, None, false),
            (Some(true), None, Some(false), Some(false), false),
            (Some(true), None, Some(true), Some(true), false),
            (Some(true), Some(false), None, Some(false), false),
            (Some(true), Some(false), Some(true), Some(true), false),
            (Some(true), Some(true), None, Some(true), false),
            (Some(true), Some(true), Some(false), Some(false), false),
            (Some(false), None, None, Some(false), false),
            (Some(false), None, Some(false), Some(false), false),
            (Some(false), None, Some(true), Some(true), true),
            (Some(false), Some(false), None, Some(false), false),
            (Some(false), Some(false), Some(true), Some(true), true),
            (Some(false), Some(true), None, Some(true), true),
            (Some(false), Some(true), Some(false), Some(false), false),
            (None, None, None, None, false),
        ];
        for (allows, default, requested, expected, fails) in cases {
            let context = requested.map_or(
                json!(null),
                |value| json!({"allowPrivilegeEscalation": value}),
            );
            let mut view = pod_with_container_context(context);
            let container = view.spec.container_mut(FIRST).expect("container");
            mutate(default, allows, container);
            assert_eq!(
                current(container),
                expected,
                "{allows:?} {default:?} {requested:?}"
            );
            assert_eq!(
                !validate(allows, FIRST, container).is_empty(),
                fails,
                "{allows:?} {default:?} {requested:?}"
            );
        }
    }

    #[test]
    fn messages() {
        let view = pod_with_container_context(json!(null));
        let container = view.spec.container(FIRST).expect("container");
        assert_eq!(
            rendered(&validate(Some(false), FIRST, container)),
            vec![
                "spec.containers[0].securityContext.allowPrivilegeEscalation: Invalid value: \"null\": Allowing privilege escalation for containers is not allowed",
            ]
        );
        let view = pod_with_container_context(json!({"allowPrivilegeEscalation": true}));
        let container = view.spec.container(FIRST).expect("container");
        assert_eq!(
            rendered(&validate(Some(false), FIRST, container)),
            vec![
                "spec.containers[0].securityContext.allowPrivilegeEscalation: Invalid value: true: Allowing privilege escalation for containers is not allowed",
            ]
        );
    }
}
