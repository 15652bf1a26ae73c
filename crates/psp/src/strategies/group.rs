//! The group-ID strategy shared by `runAsGroup`, `supplementalGroups` and `fsGroup`:
//! `MustRunAs` (generate the first range's minimum, require a value), `MayRunAs` (never
//! generate, check a value if present) and `RunAsAny`.

use super::StrategyError;
use crate::field_error::{BadValue, FieldError, FieldPath};
use crate::types::{GoRanges, IdRange, rules};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupStrategy {
    MustRunAs(Vec<IdRange>),
    MayRunAs(Vec<IdRange>),
    RunAsAny,
}

impl GroupStrategy {
    /// `strategy_name` is the name used in the unrecognized-rule error (`FSGroup`, ...).
    pub fn new(
        strategy_name: &'static str,
        rule: &str,
        ranges: &[IdRange],
    ) -> Result<Self, StrategyError> {
        match rule {
            rules::MUST_RUN_AS if ranges.is_empty() => Err(StrategyError::GroupWithoutRanges {
                rule: rules::MUST_RUN_AS,
            }),
            rules::MUST_RUN_AS => Ok(GroupStrategy::MustRunAs(ranges.to_vec())),
            rules::MAY_RUN_AS if ranges.is_empty() => Err(StrategyError::GroupWithoutRanges {
                rule: rules::MAY_RUN_AS,
            }),
            rules::MAY_RUN_AS => Ok(GroupStrategy::MayRunAs(ranges.to_vec())),
            rules::RUN_AS_ANY => Ok(GroupStrategy::RunAsAny),
            other => Err(StrategyError::UnrecognizedRule {
                strategy: strategy_name,
                rule: other.to_string(),
            }),
        }
    }

    /// The groups to set when none are: only `MustRunAs` generates.
    pub fn generate(&self) -> Option<Vec<i64>> {
        self.generate_single().map(|group| vec![group])
    }

    pub fn generate_single(&self) -> Option<i64> {
        match self {
            GroupStrategy::MustRunAs(ranges) => ranges.first().map(|range| range.min),
            GroupStrategy::MayRunAs(_) | GroupStrategy::RunAsAny => None,
        }
    }

    /// Validates a group list (`None` is the nil slice) at `path`.
    pub fn validate(&self, path: &FieldPath, groups: Option<&[i64]>) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let ranges = match self {
            GroupStrategy::RunAsAny => return errors,
            GroupStrategy::MustRunAs(ranges) => {
                if groups.is_none_or(<[i64]>::is_empty) {
                    errors.push(FieldError::invalid(
                        path.clone(),
                        BadValue::int64_slice(groups),
                        "unable to validate empty groups against required ranges",
                    ));
                }
                ranges
            }
            GroupStrategy::MayRunAs(ranges) => ranges,
        };
        for group in groups.unwrap_or_default() {
            if !ranges.iter().any(|range| range.contains(*group)) {
                errors.push(FieldError::invalid(
                    path.clone(),
                    BadValue::int64_slice(groups),
                    format!("group {group} must be in the ranges: {}", GoRanges(ranges)),
                ));
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges() -> Vec<IdRange> {
        vec![IdRange { min: 1, max: 1 }, IdRange { min: 10, max: 20 }]
    }

    #[test]
    fn construction() {
        assert_eq!(
            GroupStrategy::new("FSGroup", "MustRunAs", &[]),
            Err(StrategyError::GroupWithoutRanges { rule: "MustRunAs" })
        );
        assert_eq!(
            GroupStrategy::new("FSGroup", "MayRunAs", &[]).map_err(|error| error.to_string()),
            Err("ranges must be supplied for MayRunAs".to_string())
        );
        assert_eq!(
            GroupStrategy::new("FSGroup", "Foo", &[]).map_err(|error| error.to_string()),
            Err("Unrecognized FSGroup strategy type Foo".to_string())
        );
        assert_eq!(
            GroupStrategy::new("FSGroup", "RunAsAny", &[]),
            Ok(GroupStrategy::RunAsAny)
        );
    }

    #[test]
    fn generation() {
        assert_eq!(GroupStrategy::MustRunAs(ranges()).generate(), Some(vec![1]));
        assert_eq!(GroupStrategy::MayRunAs(ranges()).generate(), None);
        assert_eq!(GroupStrategy::RunAsAny.generate_single(), None);
    }

    #[test]
    fn validation_table() {
        let path = FieldPath::new(["p"]);
        type Case = (GroupStrategy, Option<Vec<i64>>, Vec<&'static str>);
        let cases: Vec<Case> = vec![
            (
                GroupStrategy::MustRunAs(ranges()),
                None,
                vec![
                    "p: Invalid value: []int64(nil): unable to validate empty groups against required ranges",
                ],
            ),
            (
                GroupStrategy::MustRunAs(ranges()),
                Some(vec![]),
                vec![
                    "p: Invalid value: []int64{}: unable to validate empty groups against required ranges",
                ],
            ),
            (
                GroupStrategy::MustRunAs(ranges()),
                Some(vec![1, 15]),
                vec![],
            ),
            (
                GroupStrategy::MustRunAs(ranges()),
                Some(vec![2, 1, 30]),
                vec![
                    "p: Invalid value: []int64{2, 1, 30}: group 2 must be in the ranges: [{1 1} {10 20}]",
                    "p: Invalid value: []int64{2, 1, 30}: group 30 must be in the ranges: [{1 1} {10 20}]",
                ],
            ),
            (GroupStrategy::MayRunAs(ranges()), None, vec![]),
            (
                GroupStrategy::MayRunAs(ranges()),
                Some(vec![0]),
                vec![
                    "p: Invalid value: []int64{0}: group 0 must be in the ranges: [{1 1} {10 20}]",
                ],
            ),
            (GroupStrategy::RunAsAny, Some(vec![0]), vec![]),
        ];
        for (strategy, groups, expected) in cases {
            let errors = strategy.validate(&path, groups.as_deref());
            let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
            assert_eq!(rendered, expected, "{strategy:?} {groups:?}");
        }
    }
}
