//! `readOnlyRootFilesystem` (per container). A policy requiring it sets
//! `readOnlyRootFilesystem: true` on containers that leave it unset and refuses `false`.

use super::security_context_mut;
use crate::field_error::{BadValue, FieldError};
use crate::pod::{Container, ContainerLocation};

fn current(container: &Container) -> Option<bool> {
    container
        .security_context
        .as_ref()
        .and_then(|sc| sc.read_only_root_filesystem)
}

pub fn mutate(required: bool, container: &mut Container) {
    if required && current(container).is_none() {
        security_context_mut(container).read_only_root_filesystem = Some(true);
    }
}

pub fn validate(
    required: bool,
    location: ContainerLocation,
    container: &Container,
) -> Vec<FieldError> {
    if !required {
        return Vec::new();
    }
    let path = location
        .security_context_path()
        .child("readOnlyRootFilesystem");
    match current(container) {
        None => vec![FieldError::invalid(
            path,
            BadValue::Null,
            "ReadOnlyRootFilesystem may not be nil and must be set to true",
        )],
        Some(false) => vec![FieldError::invalid(
            path,
            BadValue::bool(false),
            "ReadOnlyRootFilesystem must be set to true",
        )],
        Some(true) => Vec::new(),
    }
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

    #[test]
    fn generation_table() {
        let cases = [
            (true, json!(null), Some(true)),
            (true, json!({"readOnlyRootFilesystem": false}), Some(false)),
            (false, json!(null), None),
        ];
        for (required, context, expected) in cases {
            let mut view = pod_with_container_context(context);
            let container = view.spec.container_mut(FIRST).expect("container");
            mutate(required, container);
            assert_eq!(current(container), expected);
        }
    }

    #[test]
    fn validation_table() {
        let cases = [
            (
                true,
                json!(null),
                vec![
                    "spec.containers[0].securityContext.readOnlyRootFilesystem: Invalid value: \"null\": ReadOnlyRootFilesystem may not be nil and must be set to true",
                ],
            ),
            (
                true,
                json!({"readOnlyRootFilesystem": false}),
                vec![
                    "spec.containers[0].securityContext.readOnlyRootFilesystem: Invalid value: false: ReadOnlyRootFilesystem must be set to true",
                ],
            ),
            (true, json!({"readOnlyRootFilesystem": true}), vec![]),
            (false, json!({"readOnlyRootFilesystem": false}), vec![]),
        ];
        for (required, context, expected) in cases {
            let view = pod_with_container_context(context);
            let container = view.spec.container(FIRST).expect("container");
            assert_eq!(rendered(&validate(required, FIRST, container)), expected);
        }
    }
}
