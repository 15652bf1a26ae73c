//! `runtimeClass` (pod level, only when the policy has the block): generation fills an unset
//! `runtimeClassName` with the policy default; validation requires a set name to be allowed
//! (explicitly or by `*`).

use crate::field_error::{BadValue, FieldError, FieldPath};
use crate::pod::PodView;
use crate::types::{ALLOW_ALL, RuntimeClassStrategyOptions};

pub fn mutate(options: Option<&RuntimeClassStrategyOptions>, pod: &mut PodView) {
    if let Some(options) = options
        && pod.spec.runtime_class_name.is_none()
    {
        pod.spec.runtime_class_name = options.default_runtime_class_name.clone();
    }
}

pub fn validate(options: Option<&RuntimeClassStrategyOptions>, pod: &PodView) -> Vec<FieldError> {
    let (Some(options), Some(name)) = (options, pod.spec.runtime_class_name.as_ref()) else {
        return Vec::new();
    };
    let allowed = options
        .allowed_runtime_class_names
        .iter()
        .any(|allowed| allowed == ALLOW_ALL || allowed == name);
    if allowed {
        return Vec::new();
    }
    vec![FieldError::invalid(
        FieldPath::new(["spec", "runtimeClassName"]),
        BadValue::str(name),
        "",
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::test_support::{pod, rendered};
    use serde_json::json;

    fn options(allowed: &[&str], default: Option<&str>) -> RuntimeClassStrategyOptions {
        RuntimeClassStrategyOptions {
            allowed_runtime_class_names: allowed.iter().map(|s| s.to_string()).collect(),
            default_runtime_class_name: default.map(str::to_string),
        }
    }

    #[test]
    fn generation_table() {
        let cases = [
            (None, json!({}), None),
            (Some(options(&["a"], Some("a"))), json!({}), Some("a")),
            (
                Some(options(&["a"], Some("a"))),
                json!({"runtimeClassName": "b"}),
                Some("b"),
            ),
            (Some(options(&["a"], None)), json!({}), None),
        ];
        for (options, spec, expected) in cases {
            let mut view = pod(json!({"spec": spec}));
            mutate(options.as_ref(), &mut view);
            assert_eq!(view.spec.runtime_class_name.as_deref(), expected);
        }
    }

    #[test]
    fn validation_table() {
        let cases = [
            (None, json!({"runtimeClassName": "x"}), vec![]),
            (Some(options(&[], None)), json!({}), vec![]),
            (
                Some(options(&[], None)),
                json!({"runtimeClassName": "x"}),
                vec!["spec.runtimeClassName: Invalid value: \"x\""],
            ),
            (
                Some(options(&["*"], None)),
                json!({"runtimeClassName": "x"}),
                vec![],
            ),
            (
                Some(options(&["a", "x"], None)),
                json!({"runtimeClassName": "x"}),
                vec![],
            ),
        ];
        for (options, spec, expected) in cases {
            assert_eq!(
                rendered(&validate(options.as_ref(), &pod(json!({"spec": spec})))),
                expected
            );
        }
    }
}
