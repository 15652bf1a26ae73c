//! `runAsUser` (per container, on effective values). `MustRunAs` sets the container's
//! `runAsUser` to the first range's minimum when the effective value is unset;
//! `MustRunAsNonRoot` generates nothing itself (the provider writes the `runAsNonRoot: true`
//! marker, see [`RunAsUserStrategy::mutate`]); `RunAsAny` does nothing.

use super::{StrategyError, security_context_mut};
use crate::field_error::{BadValue, FieldError};
use crate::pod::{Container, ContainerLocation, EffectiveContext, PodSecurityContext};
use crate::types::{GoRanges, IdRange, RunAsUserStrategyOptions, rules};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAsUserStrategy {
    MustRunAs(Vec<IdRange>),
    MustRunAsNonRoot,
    RunAsAny,
}

impl RunAsUserStrategy {
    pub fn new(options: &RunAsUserStrategyOptions) -> Result<Self, StrategyError> {
        match options.rule.as_str() {
            rules::MUST_RUN_AS if options.ranges.is_empty() => {
                Err(StrategyError::RunAsUserWithoutRanges)
            }
            rules::MUST_RUN_AS => Ok(RunAsUserStrategy::MustRunAs(options.ranges.clone())),
            rules::MUST_RUN_AS_NON_ROOT => Ok(RunAsUserStrategy::MustRunAsNonRoot),
            rules::RUN_AS_ANY => Ok(RunAsUserStrategy::RunAsAny),
            other => Err(StrategyError::UnrecognizedRule {
                strategy: "RunAsUser",
                rule: other.to_string(),
            }),
        }
    }

    /// Generates the UID when the effective one is unset.
    pub fn mutate(&self, pod_context: Option<&PodSecurityContext>, container: &mut Container) {
        let effective = EffectiveContext::of(pod_context, container);
        if effective.run_as_user.is_none()
            && let RunAsUserStrategy::MustRunAs(ranges) = self
            && let Some(first) = ranges.first()
        {
            security_context_mut(container).run_as_user = Some(first.min);
        }
    }

    /// The provider's non-root marker: with `MustRunAsNonRoot`, a container whose effective
    /// `runAsNonRoot` and `runAsUser` are both unset gets `runAsNonRoot: true`, telling the
    /// kubelet to check the image's user.
    pub fn mark_non_root(
        &self,
        pod_context: Option<&PodSecurityContext>,
        container: &mut Container,
    ) {
        let effective = EffectiveContext::of(pod_context, container);
        if *self == RunAsUserStrategy::MustRunAsNonRoot
            && effective.run_as_non_root.is_none()
            && effective.run_as_user.is_none()
        {
            security_context_mut(container).run_as_non_root = Some(true);
        }
    }

    pub fn validate(
        &self,
        location: ContainerLocation,
        effective: &EffectiveContext,
    ) -> Vec<FieldError> {
        let path = location.security_context_path();
        match self {
            RunAsUserStrategy::RunAsAny => Vec::new(),
            RunAsUserStrategy::MustRunAs(ranges) => match effective.run_as_user {
                None => vec![FieldError::required(path.child("runAsUser"), "")],
                Some(uid) if !ranges.iter().any(|range| range.contains(uid)) => {
                    vec![FieldError::invalid(
                        path.child("runAsUser"),
                        BadValue::int(uid),
                        format!("must be in the ranges: {}", GoRanges(ranges)),
                    )]
                }
                Some(_) => Vec::new(),
            },
            RunAsUserStrategy::MustRunAsNonRoot => {
                match (effective.run_as_non_root, effective.run_as_user) {
                    (None, None) => {
                        vec![FieldError::required(
                            path.child("runAsNonRoot"),
                            "must be true",
                        )]
                    }
                    (Some(false), _) => vec![FieldError::invalid(
                        path.child("runAsNonRoot"),
                        BadValue::bool(false),
                        "must be true",
                    )],
                    (_, Some(0)) => vec![FieldError::invalid(
                        path.child("runAsUser"),
                        BadValue::int(0),
                        "running with the root UID is forbidden",
                    )],
                    _ => Vec::new(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::ContainerKind;
    use crate::strategies::test_support::rendered;

    const INIT: ContainerLocation = ContainerLocation {
        kind: ContainerKind::Init,
        index: 1,
    };

    fn must_run_as() -> RunAsUserStrategy {
        RunAsUserStrategy::MustRunAs(vec![
            IdRange { min: 1, max: 1 },
            IdRange { min: 10, max: 20 },
        ])
    }

    #[test]
    fn construction() {
        let options = |rule: &str| RunAsUserStrategyOptions {
            rule: rule.into(),
            ranges: vec![],
        };
        assert_eq!(
            RunAsUserStrategy::new(&options("MustRunAs")).map_err(|error| error.to_string()),
            Err("MustRunAs requires at least one range".to_string())
        );
        assert_eq!(
            RunAsUserStrategy::new(&options("bogus")).map_err(|error| error.to_string()),
            Err("Unrecognized RunAsUser strategy type bogus".to_string())
        );
        assert_eq!(
            RunAsUserStrategy::new(&options("MustRunAsNonRoot")),
            Ok(RunAsUserStrategy::MustRunAsNonRoot)
        );
    }

    #[test]
    fn generation_table() {
        // (strategy, pod runAsUser, container runAsUser, expected container runAsUser, runAsNonRoot)
        let cases = [
            (must_run_as(), None, None, Some(1), None),
            (must_run_as(), Some(15), None, None, None),
            (must_run_as(), None, Some(12), Some(12), None),
            (
                RunAsUserStrategy::MustRunAsNonRoot,
                None,
                None,
                None,
                Some(true),
            ),
            (
                RunAsUserStrategy::MustRunAsNonRoot,
                Some(1000),
                None,
                None,
                None,
            ),
            (RunAsUserStrategy::RunAsAny, None, None, None, None),
        ];
        for (strategy, pod_uid, container_uid, expected_uid, expected_non_root) in cases {
            let pod_context = PodSecurityContext {
                run_as_user: pod_uid,
                ..Default::default()
            };
            let mut container = Container {
                name: "c".into(),
                security_context: container_uid.map(|uid| crate::pod::SecurityContext {
                    run_as_user: Some(uid),
                    ..Default::default()
                }),
                ..Default::default()
            };
            strategy.mutate(Some(&pod_context), &mut container);
            strategy.mark_non_root(Some(&pod_context), &mut container);
            let sc = container.security_context.unwrap_or_default();
            assert_eq!(
                (sc.run_as_user, sc.run_as_non_root),
                (expected_uid, expected_non_root),
                "{strategy:?}"
            );
        }
    }

    #[test]
    fn validation_table() {
        let effective = |non_root: Option<bool>, uid: Option<i64>| EffectiveContext {
            run_as_non_root: non_root,
            run_as_user: uid,
            ..Default::default()
        };
        let cases = [
            (
                must_run_as(),
                effective(None, None),
                vec!["spec.initContainers[1].securityContext.runAsUser: Required value"],
            ),
            (must_run_as(), effective(None, Some(15)), vec![]),
            (
                must_run_as(),
                effective(None, Some(5)),
                vec![
                    "spec.initContainers[1].securityContext.runAsUser: Invalid value: 5: must be in the ranges: [{1 1} {10 20}]",
                ],
            ),
            (
                RunAsUserStrategy::MustRunAsNonRoot,
                effective(None, None),
                vec![
                    "spec.initContainers[1].securityContext.runAsNonRoot: Required value: must be true",
                ],
            ),
            (
                RunAsUserStrategy::MustRunAsNonRoot,
                effective(Some(false), Some(0)),
                vec![
                    "spec.initContainers[1].securityContext.runAsNonRoot: Invalid value: false: must be true",
                ],
            ),
            (
                RunAsUserStrategy::MustRunAsNonRoot,
                effective(None, Some(0)),
                vec![
                    "spec.initContainers[1].securityContext.runAsUser: Invalid value: 0: running with the root UID is forbidden",
                ],
            ),
            (
                RunAsUserStrategy::MustRunAsNonRoot,
                effective(None, Some(7)),
                vec![],
            ),
            (
                RunAsUserStrategy::MustRunAsNonRoot,
                effective(Some(true), None),
                vec![],
            ),
            (
                RunAsUserStrategy::RunAsAny,
                effective(None, Some(0)),
                vec![],
            ),
        ];
        for (strategy, effective, expected) in cases {
            assert_eq!(
                rendered(&strategy.validate(INIT, &effective)),
                expected,
                "{strategy:?}"
            );
        }
    }
}
