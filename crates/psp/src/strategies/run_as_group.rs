//! `runAsGroup` (per container; an absent policy block behaves as `RunAsAny`). `MustRunAs` sets
//! the container's `runAsGroup` to the first range's minimum when the effective value (container,
//! else pod) is unset. Errors are reported on the bare container `securityContext` path with the
//! value rendered as a Go slice, as upstream's group strategy does.

use super::group::GroupStrategy;
use super::{StrategyError, security_context_mut};
use crate::field_error::FieldError;
use crate::pod::{Container, ContainerLocation, EffectiveContext, PodSecurityContext};
use crate::types::RunAsGroupStrategyOptions;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAsGroupStrategy(pub GroupStrategy);

impl RunAsGroupStrategy {
    pub fn new(options: Option<&RunAsGroupStrategyOptions>) -> Result<Self, StrategyError> {
        match options {
            None => Ok(RunAsGroupStrategy(GroupStrategy::RunAsAny)),
            Some(options) => GroupStrategy::new("RunAsGroup", &options.rule, &options.ranges)
                .map(RunAsGroupStrategy),
        }
    }

    pub fn mutate(&self, pod_context: Option<&PodSecurityContext>, container: &mut Container) {
        let effective = EffectiveContext::of(pod_context, container).run_as_group;
        if effective.is_none()
            && let Some(group) = self.0.generate_single()
        {
            security_context_mut(container).run_as_group = Some(group);
        }
    }

    pub fn validate(
        &self,
        location: ContainerLocation,
        effective: &EffectiveContext,
    ) -> Vec<FieldError> {
        let groups: Option<Vec<i64>> = effective.run_as_group.map(|group| vec![group]);
        self.0
            .validate(&location.security_context_path(), groups.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::ContainerKind;
    use crate::strategies::test_support::{pod, rendered};
    use crate::types::IdRange;
    use serde_json::json;

    const FIRST: ContainerLocation = ContainerLocation {
        kind: ContainerKind::Regular,
        index: 0,
    };

    fn must_run_as() -> RunAsGroupStrategy {
        RunAsGroupStrategy(GroupStrategy::MustRunAs(vec![IdRange { min: 1, max: 1 }]))
    }

    #[test]
    fn absent_block_is_run_as_any() {
        assert_eq!(
            RunAsGroupStrategy::new(None),
            Ok(RunAsGroupStrategy(GroupStrategy::RunAsAny))
        );
    }

    #[test]
    fn generation_table() {
        // (pod securityContext, container securityContext, expected container runAsGroup)
        let cases = [
            (json!(null), json!(null), Some(1)),
            (json!({"runAsGroup": 1}), json!(null), None),
            (json!({"runAsGroup": 3}), json!(null), None),
            (json!(null), json!({"runAsGroup": 2}), Some(2)),
        ];
        for (pod_context, container_context, expected) in cases {
            let mut container = json!({"name": "c"});
            if !container_context.is_null() {
                container["securityContext"] = container_context;
            }
            let mut view =
                pod(json!({"spec": {"securityContext": pod_context, "containers": [container]}}));
            let pod_sc = view.spec.security_context.clone();
            let container = view.spec.container_mut(FIRST).expect("container");
            must_run_as().mutate(pod_sc.as_ref(), container);
            let actual = container
                .security_context
                .as_ref()
                .and_then(|sc| sc.run_as_group);
            assert_eq!(actual, expected);
        }
    }

    #[test]
    fn validation_table() {
        let cases = [
            (
                None,
                vec![
                    "spec.containers[0].securityContext: Invalid value: []int64(nil): unable to validate empty groups against required ranges",
                ],
            ),
            (Some(1), vec![]),
            (
                Some(5),
                vec![
                    "spec.containers[0].securityContext: Invalid value: []int64{5}: group 5 must be in the ranges: [{1 1}]",
                ],
            ),
        ];
        for (group, expected) in cases {
            let effective = EffectiveContext {
                run_as_group: group,
                ..Default::default()
            };
            assert_eq!(
                rendered(&must_run_as().validate(FIRST, &effective)),
                expected
            );
        }
    }
}
