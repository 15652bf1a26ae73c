//! `supplementalGroups` (pod level): `MustRunAs` sets `[first range minimum]` when the list is
//! unset; validation checks every group, one error per group outside the ranges.
//!
//! Upstream distinguishes a nil list from an explicit `[]` (the latter is not generated and fails
//! validation with `[]int64{}`); a webhook never sees `[]` because the API server omits empty
//! lists, and we keep Go's distinction for documents read directly.

use super::StrategyError;
use super::group::GroupStrategy;
use crate::field_error::{FieldError, FieldPath};
use crate::pod::{PodSecurityContext, PodView};
use crate::types::GroupStrategyOptions;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplementalGroupsStrategy(pub GroupStrategy);

impl SupplementalGroupsStrategy {
    pub fn new(options: &GroupStrategyOptions) -> Result<Self, StrategyError> {
        GroupStrategy::new("SupplementalGroups", &options.rule, &options.ranges)
            .map(SupplementalGroupsStrategy)
    }

    pub fn mutate(&self, pod: &mut PodView) {
        let current = pod
            .spec
            .security_context
            .as_ref()
            .and_then(|sc| sc.supplemental_groups.as_ref());
        if current.is_none()
            && let Some(groups) = self.0.generate()
        {
            pod.spec
                .security_context
                .get_or_insert_with(PodSecurityContext::default)
                .supplemental_groups = Some(groups);
        }
    }

    pub fn validate(&self, pod: &PodView) -> Vec<FieldError> {
        let groups = pod
            .spec
            .security_context
            .as_ref()
            .and_then(|sc| sc.supplemental_groups.as_deref());
        self.0.validate(
            &FieldPath::new(["spec", "securityContext", "supplementalGroups"]),
            groups,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::test_support::{pod, rendered};
    use crate::types::IdRange;
    use serde_json::json;

    fn must_run_as() -> SupplementalGroupsStrategy {
        SupplementalGroupsStrategy(GroupStrategy::MustRunAs(vec![IdRange {
            min: 1,
            max: 65535,
        }]))
    }

    #[test]
    fn generation_table() {
        let cases = [
            (must_run_as(), json!({}), Some(vec![1])),
            (
                must_run_as(),
                json!({"securityContext": {"supplementalGroups": [3, 4]}}),
                Some(vec![3, 4]),
            ),
            (
                must_run_as(),
                json!({"securityContext": {"supplementalGroups": []}}),
                Some(vec![]),
            ),
            (
                SupplementalGroupsStrategy(GroupStrategy::RunAsAny),
                json!({}),
                None,
            ),
        ];
        for (strategy, spec, expected) in cases {
            let mut view = pod(json!({"spec": spec}));
            strategy.mutate(&mut view);
            let actual = view
                .spec
                .security_context
                .and_then(|sc| sc.supplemental_groups);
            assert_eq!(actual, expected);
        }
    }

    #[test]
    fn validation_table() {
        let cases = [
            (
                json!({}),
                vec![
                    "spec.securityContext.supplementalGroups: Invalid value: []int64(nil): unable to validate empty groups against required ranges",
                ],
            ),
            (
                json!({"securityContext": {"supplementalGroups": [1, 2]}}),
                vec![],
            ),
            (
                json!({"securityContext": {"supplementalGroups": [0, 70000]}}),
                vec![
                    "spec.securityContext.supplementalGroups: Invalid value: []int64{0, 70000}: group 0 must be in the ranges: [{1 65535}]",
                    "spec.securityContext.supplementalGroups: Invalid value: []int64{0, 70000}: group 70000 must be in the ranges: [{1 65535}]",
                ],
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(
                rendered(&must_run_as().validate(&pod(json!({"spec": spec})))),
                expected
            );
        }
    }
}
