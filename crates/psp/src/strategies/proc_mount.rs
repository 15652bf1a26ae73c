//! `allowedProcMountTypes` (per container, validation only): the container's `procMount` (unset
//! means `Default`) must be listed; an empty list allows only `Default`.

use crate::field_error::{BadValue, FieldError};
use crate::pod::{Container, ContainerLocation};

const DEFAULT_PROC_MOUNT: &str = "Default";

pub fn validate(
    allowed: &[String],
    location: ContainerLocation,
    container: &Container,
) -> Vec<FieldError> {
    let proc_mount = container
        .security_context
        .as_ref()
        .and_then(|sc| sc.proc_mount.as_deref())
        .unwrap_or(DEFAULT_PROC_MOUNT);
    let permitted = if allowed.is_empty() {
        proc_mount == DEFAULT_PROC_MOUNT
    } else {
        allowed.iter().any(|entry| entry == proc_mount)
    };
    if permitted {
        return Vec::new();
    }
    vec![FieldError::invalid(
        location.security_context_path().child("procMount"),
        BadValue::named_string(proc_mount),
        "ProcMountType is not allowed",
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
        let unmasked = vec!["Unmasked".to_string()];
        let cases = [
            (vec![], json!(null), vec![]),
            (vec![], json!({"procMount": "Default"}), vec![]),
            (
                vec![],
                json!({"procMount": "Unmasked"}),
                vec![
                    "spec.containers[0].securityContext.procMount: Invalid value: \"Unmasked\": ProcMountType is not allowed",
                ],
            ),
            (unmasked.clone(), json!({"procMount": "Unmasked"}), vec![]),
            (
                unmasked,
                json!(null),
                vec![
                    "spec.containers[0].securityContext.procMount: Invalid value: \"Default\": ProcMountType is not allowed",
                ],
            ),
        ];
        for (allowed, context, expected) in cases {
            let view = pod_with_container_context(context);
            let container = view.spec.container(location).expect("container");
            assert_eq!(rendered(&validate(&allowed, location, container)), expected);
        }
    }
}
