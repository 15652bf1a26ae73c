//! Capabilities (per container, container values only). Generation adds the policy's default
//! capabilities (unless the container drops them) and its required drops; when nothing new is
//! added the container's capabilities stay untouched (order, duplicates, nil), otherwise they are
//! replaced by sorted, de-duplicated sets. Comparisons are exact and case-sensitive.

use std::collections::BTreeSet;

use super::security_context_mut;
use crate::field_error::{BadValue, FieldError, FieldPath};
use crate::pod::{Capabilities, Container};
use crate::types::{ALLOW_ALL, PodSecurityPolicySpec};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CapabilitiesStrategy {
    pub default_add: Vec<String>,
    pub required_drop: Vec<String>,
    pub allowed: Vec<String>,
}

fn set_of(list: Option<&Vec<String>>) -> BTreeSet<&str> {
    list.into_iter().flatten().map(String::as_str).collect()
}

fn non_empty(set: BTreeSet<&str>) -> Option<Vec<String>> {
    (!set.is_empty()).then(|| set.into_iter().map(str::to_string).collect())
}

impl CapabilitiesStrategy {
    pub fn new(spec: &PodSecurityPolicySpec) -> Self {
        CapabilitiesStrategy {
            default_add: spec.default_add_capabilities.clone(),
            required_drop: spec.required_drop_capabilities.clone(),
            allowed: spec.allowed_capabilities.clone(),
        }
    }

    /// The capabilities the container should end up with (`None` stays `None` when nothing is
    /// required).
    pub fn generate(&self, current: Option<&Capabilities>) -> Option<Capabilities> {
        let container_add = set_of(current.and_then(|caps| caps.add.as_ref()));
        let container_drop = set_of(current.and_then(|caps| caps.drop.as_ref()));
        let default_add: BTreeSet<&str> = self
            .default_add
            .iter()
            .map(String::as_str)
            .filter(|capability| !container_drop.contains(capability))
            .collect();
        let combined_add: BTreeSet<&str> = default_add.union(&container_add).copied().collect();
        let combined_drop: BTreeSet<&str> = self
            .required_drop
            .iter()
            .map(String::as_str)
            .chain(container_drop.iter().copied())
            .collect();
        if combined_add.len() == container_add.len() && combined_drop.len() == container_drop.len()
        {
            return current.cloned();
        }
        Some(Capabilities {
            add: non_empty(combined_add),
            drop: non_empty(combined_drop),
        })
    }

    pub fn mutate(&self, container: &mut Container) {
        let current = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.capabilities.as_ref());
        let generated = self.generate(current);
        // Writing nil into a missing context must not create the context.
        if generated.is_some() || container.security_context.is_some() {
            security_context_mut(container).capabilities = generated;
        }
    }

    pub fn validate(
        &self,
        path: &FieldPath,
        capabilities: Option<&Capabilities>,
    ) -> Vec<FieldError> {
        let Some(capabilities) = capabilities else {
            if self.default_add.is_empty() && self.required_drop.is_empty() {
                return Vec::new();
            }
            return vec![FieldError::invalid(
                path.clone(),
                BadValue::Null,
                "required capabilities are not set on the securityContext",
            )];
        };
        if self
            .allowed
            .iter()
            .any(|capability| capability == ALLOW_ALL)
        {
            // A wildcard skips every other check, required drops included.
            return Vec::new();
        }
        let mut errors = Vec::new();
        for added in capabilities.add.iter().flatten() {
            if !self.default_add.contains(added) && !self.allowed.contains(added) {
                errors.push(FieldError::invalid(
                    path.child("add"),
                    BadValue::str(added),
                    "capability may not be added",
                ));
            }
        }
        let dropped = set_of(capabilities.drop.as_ref());
        for required in &self.required_drop {
            if !dropped.contains(required.as_str()) {
                errors.push(FieldError::invalid(
                    path.child("drop"),
                    BadValue::string_slice("core.Capability", capabilities.drop.as_deref()),
                    format!("{required} is required to be dropped but was not found"),
                ));
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::test_support::rendered;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|item| item.to_string()).collect()
    }

    fn caps(add: Option<&[&str]>, drop: Option<&[&str]>) -> Capabilities {
        Capabilities {
            add: add.map(strings),
            drop: drop.map(strings),
        }
    }

    fn strategy(
        default_add: &[&str],
        required_drop: &[&str],
        allowed: &[&str],
    ) -> CapabilitiesStrategy {
        CapabilitiesStrategy {
            default_add: strings(default_add),
            required_drop: strings(required_drop),
            allowed: strings(allowed),
        }
    }

    #[test]
    fn generation_table() {
        let cases = [
            // nothing required: nil stays nil
            (strategy(&[], &[], &["*"]), None, None),
            // unchanged: original order and duplicates kept
            (
                strategy(&["A"], &["B"], &[]),
                Some(caps(Some(&["Z", "A", "A"]), Some(&["B"]))),
                Some(caps(Some(&["Z", "A", "A"]), Some(&["B"]))),
            ),
            // defaults added, sorted and de-duplicated
            (
                strategy(&["B", "A"], &[], &[]),
                Some(caps(Some(&["C", "C"]), None)),
                Some(caps(Some(&["A", "B", "C"]), None)),
            ),
            // a default the container drops is not added
            (
                strategy(&["A"], &[], &[]),
                Some(caps(None, Some(&["A"]))),
                Some(caps(None, Some(&["A"]))),
            ),
            // required drops added to nil capabilities
            (
                strategy(&[], &["ALL"], &[]),
                None,
                Some(caps(None, Some(&["ALL"]))),
            ),
            // a capability both added and required-dropped stays in add
            (
                strategy(&[], &["X"], &[]),
                Some(caps(Some(&["X"]), None)),
                Some(caps(Some(&["X"]), Some(&["X"]))),
            ),
            // case-sensitive
            (
                strategy(&[], &["foo"], &[]),
                Some(caps(None, Some(&["FOO"]))),
                Some(caps(None, Some(&["FOO", "foo"]))),
            ),
        ];
        for (strategy, current, expected) in cases {
            assert_eq!(
                strategy.generate(current.as_ref()),
                expected,
                "{strategy:?} {current:?}"
            );
        }
    }

    #[test]
    fn mutation_never_creates_an_empty_context() {
        let mut container = Container {
            name: "c".into(),
            ..Default::default()
        };
        strategy(&[], &[], &[]).mutate(&mut container);
        assert_eq!(container.security_context, None);
    }

    #[test]
    fn validation_table() {
        let path = FieldPath::new(["spec", "containers"])
            .index(0)
            .child("securityContext")
            .child("capabilities");
        let cases = [
            (strategy(&[], &[], &[]), None, vec![]),
            (
                strategy(&["A"], &[], &[]),
                None,
                vec![
                    "spec.containers[0].securityContext.capabilities: Invalid value: \"null\": required capabilities are not set on the securityContext",
                ],
            ),
            (
                strategy(&[], &["bar"], &["*"]),
                Some(caps(Some(&["ANY"]), None)),
                vec![],
            ),
            (
                strategy(&["A"], &[], &["B"]),
                Some(caps(Some(&["A", "B", "C", "b"]), None)),
                vec![
                    "spec.containers[0].securityContext.capabilities.add: Invalid value: \"C\": capability may not be added",
                    "spec.containers[0].securityContext.capabilities.add: Invalid value: \"b\": capability may not be added",
                ],
            ),
            (
                strategy(&[], &["bar", "foo"], &[]),
                Some(caps(None, Some(&["bar"]))),
                vec![
                    "spec.containers[0].securityContext.capabilities.drop: Invalid value: []core.Capability{\"bar\"}: foo is required to be dropped but was not found",
                ],
            ),
            (
                strategy(&[], &["bar"], &[]),
                Some(caps(None, None)),
                vec![
                    "spec.containers[0].securityContext.capabilities.drop: Invalid value: []core.Capability(nil): bar is required to be dropped but was not found",
                ],
            ),
        ];
        for (strategy, capabilities, expected) in cases {
            assert_eq!(
                rendered(&strategy.validate(&path, capabilities.as_ref())),
                expected,
                "{strategy:?}"
            );
        }
    }
}
