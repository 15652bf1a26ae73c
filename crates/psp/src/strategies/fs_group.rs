//! `fsGroup` (pod level): `MustRunAs` sets `spec.securityContext.fsGroup` to the first range's
//! minimum when unset; validation checks the (single) group against the ranges.

use super::StrategyError;
use super::group::GroupStrategy;
use crate::field_error::{FieldError, FieldPath};
use crate::pod::{PodSecurityContext, PodView};
use crate::types::GroupStrategyOptions;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsGroupStrategy(pub GroupStrategy);

impl FsGroupStrategy {
    pub fn new(options: &GroupStrategyOptions) -> Result<Self, StrategyError> {
        GroupStrategy::new("FSGroup", &options.rule, &options.ranges).map(FsGroupStrategy)
    }

    pub fn mutate(&self, pod: &mut PodView) {
        let current = pod
            .spec
            .security_context
            .as_ref()
            .and_then(|sc| sc.fs_group);
        if current.is_none()
            && let Some(group) = self.0.generate_single()
        {
            pod.spec
                .security_context
                .get_or_insert_with(PodSecurityContext::default)
                .fs_group = Some(group);
        }
    }

    pub fn validate(&self, pod: &PodView) -> Vec<FieldError> {
        let groups: Option<Vec<i64>> = pod
            .spec
            .security_context
            .as_ref()
            .and_then(|sc| sc.fs_group)
            .map(|group| vec![group]);
        self.0.validate(
            &FieldPath::new(["spec", "securityContext", "fsGroup"]),
            groups.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::test_support::{pod, rendered};
    use crate::types::IdRange;
    use serde_json::json;

    fn must_run_as() -> FsGroupStrategy {
        FsGroupStrategy(GroupStrategy::MustRunAs(vec![IdRange { min: 5, max: 10 }]))
    }

    #[test]
    fn generation_table() {
        let cases = [
            (must_run_as(), json!({}), Some(5)),
            (
                must_run_as(),
                json!({"securityContext": {"fsGroup": 7}}),
                Some(7),
            ),
            (FsGroupStrategy(GroupStrategy::RunAsAny), json!({}), None),
            (
                FsGroupStrategy(GroupStrategy::MayRunAs(vec![IdRange { min: 5, max: 10 }])),
                json!({}),
                None,
            ),
        ];
        for (strategy, spec, expected) in cases {
            let mut view = pod(json!({"spec": spec}));
            strategy.mutate(&mut view);
            let actual = view.spec.security_context.and_then(|sc| sc.fs_group);
            assert_eq!(actual, expected);
        }
    }

    #[test]
    fn run_as_any_creates_no_context() {
        let mut view = pod(json!({"spec": {}}));
        FsGroupStrategy(GroupStrategy::RunAsAny).mutate(&mut view);
        assert_eq!(view.spec.security_context, None);
    }

    #[test]
    fn validation_table() {
        let cases = [
            (
                json!({}),
                vec![
                    "spec.securityContext.fsGroup: Invalid value: []int64(nil): unable to validate empty groups against required ranges",
                ],
            ),
            (json!({"securityContext": {"fsGroup": 5}}), vec![]),
            (
                json!({"securityContext": {"fsGroup": 11}}),
                vec![
                    "spec.securityContext.fsGroup: Invalid value: []int64{11}: group 11 must be in the ranges: [{5 10}]",
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
