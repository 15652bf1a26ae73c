//! `privileged` (per container, validation only; 1.11+ no longer writes `privileged: false`).

use crate::field_error::{BadValue, FieldError};
use crate::pod::{Container, ContainerLocation};

pub fn validate(
    policy_allows: bool,
    location: ContainerLocation,
    container: &Container,
) -> Vec<FieldError> {
    let requested = container
        .security_context
        .as_ref()
        .and_then(|sc| sc.privileged)
        .unwrap_or(false);
    if policy_allows || !requested {
        return Vec::new();
    }
    vec![FieldError::invalid(
        location.security_context_path().child("privileged"),
        BadValue::bool(true),
        "Privileged containers are not allowed",
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::ContainerKind;
    use crate::strategies::test_support::{pod_with_container_context, rendered};
    use serde_json::json;

    #[test]
    fn validation_table() {
        let location = ContainerLocation {
            kind: ContainerKind::Regular,
            index: 0,
        };
        let cases = [
            (false, json!(null), vec![]),
            (false, json!({"privileged": false}), vec![]),
            (
                false,
                json!({"privileged": true}),
                vec![
                    "spec.containers[0].securityContext.privileged: Invalid value: true: Privileged containers are not allowed",
                ],
            ),
            (true, json!({"privileged": true}), vec![]),
        ];
        for (allows, context, expected) in cases {
            let view = pod_with_container_context(context);
            let container = view.spec.container(location).expect("container");
            assert_eq!(rendered(&validate(allows, location, container)), expected);
        }
    }
}
