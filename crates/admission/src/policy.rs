//! The policy of a namespace: a level and version for each of enforce, audit and warn, resolved
//! from the namespace's `pod-security.kubernetes.io/*` labels on top of configured defaults.
//!
//! Resolution never fails: invalid labels fall back (enforce fails closed to `restricted`,
//! audit and warn fail open to `privileged`, versions to `latest`) and are reported as field
//! errors beside the policy, so the caller can both keep evaluating and report the problem.

use std::collections::BTreeMap;
use std::fmt;

use podsec_pss::{Level, LevelVersion, Version};

use crate::field_error::{Aggregate, FieldError, FieldErrorList, FieldPath};

pub const ENFORCE_LEVEL_LABEL: &str = "pod-security.kubernetes.io/enforce";
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";
pub const AUDIT_LEVEL_LABEL: &str = "pod-security.kubernetes.io/audit";
pub const AUDIT_VERSION_LABEL: &str = "pod-security.kubernetes.io/audit-version";
pub const WARN_LEVEL_LABEL: &str = "pod-security.kubernetes.io/warn";
pub const WARN_VERSION_LABEL: &str = "pod-security.kubernetes.io/warn-version";

/// The three modes a policy applies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Enforce,
    Audit,
    Warn,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Audit => "audit",
            Mode::Warn => "warn",
        }
    }

    /// The namespace labels of this mode: (level key, version key).
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Mode::Enforce => (ENFORCE_LEVEL_LABEL, ENFORCE_VERSION_LABEL),
            Mode::Audit => (AUDIT_LEVEL_LABEL, AUDIT_VERSION_LABEL),
            Mode::Warn => (WARN_LEVEL_LABEL, WARN_VERSION_LABEL),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The level and version in force for each mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Policy {
    pub enforce: LevelVersion,
    pub audit: LevelVersion,
    pub warn: LevelVersion,
}

impl Default for Policy {
    /// Everything `privileged:latest`: upstream's built-in defaults.
    fn default() -> Self {
        Policy::PRIVILEGED
    }
}

impl Policy {
    /// `privileged:latest` in every mode.
    pub const PRIVILEGED: Policy = Policy {
        enforce: LevelVersion::PRIVILEGED_LATEST,
        audit: LevelVersion::PRIVILEGED_LATEST,
        warn: LevelVersion::PRIVILEGED_LATEST,
    };

    /// The level and version of one mode.
    pub fn get(&self, mode: Mode) -> LevelVersion {
        match mode {
            Mode::Enforce => self.enforce,
            Mode::Audit => self.audit,
            Mode::Warn => self.warn,
        }
    }

    /// Resolves namespace labels on top of `defaults` (spec §1.4). The errors are in label
    /// order (enforce, enforce-version, audit, audit-version, warn, warn-version), each on path
    /// `metadata.labels[<key>]`.
    pub fn from_labels(
        labels: &BTreeMap<String, String>,
        defaults: Policy,
    ) -> (Policy, FieldErrorList) {
        let mut policy = defaults;
        let mut errors = FieldErrorList::new();
        if labels.is_empty() {
            return (policy, errors);
        }
        let labels_path = FieldPath::new("metadata").child("labels");
        let mut invalid = |key: &str, value: &str, detail: &str| {
            errors.push(FieldError::invalid(labels_path.key(key), value, detail));
        };

        let mut enforce_level_valid = false;
        if let Some(value) = labels.get(ENFORCE_LEVEL_LABEL) {
            // Fail closed: the fallback `restricted` is kept on error.
            let (level, error) = Level::parse_with_fallback(value);
            policy.enforce.level = level;
            match error {
                Some(detail) => invalid(ENFORCE_LEVEL_LABEL, value, detail),
                None => enforce_level_valid = true,
            }
        }
        if let Some(value) = labels.get(ENFORCE_VERSION_LABEL) {
            policy.enforce.version =
                parse_version(value, |d| invalid(ENFORCE_VERSION_LABEL, value, d));
        }
        if let Some(value) = labels.get(AUDIT_LEVEL_LABEL) {
            policy.audit.level =
                parse_level_fail_open(value, |d| invalid(AUDIT_LEVEL_LABEL, value, d));
        }
        if let Some(value) = labels.get(AUDIT_VERSION_LABEL) {
            policy.audit.version = parse_version(value, |d| invalid(AUDIT_VERSION_LABEL, value, d));
        }
        let warn_level_present = labels.contains_key(WARN_LEVEL_LABEL);
        if let Some(value) = labels.get(WARN_LEVEL_LABEL) {
            policy.warn.level =
                parse_level_fail_open(value, |d| invalid(WARN_LEVEL_LABEL, value, d));
        }
        let warn_version_present = labels.contains_key(WARN_VERSION_LABEL);
        if let Some(value) = labels.get(WARN_VERSION_LABEL) {
            policy.warn.version = parse_version(value, |d| invalid(WARN_VERSION_LABEL, value, d));
        }

        // A namespace that only sets enforce should also warn about what enforce would reject,
        // so that `kubectl apply` shows the problem up front. Only a valid enforce label
        // counts: a typo must not start warning at `restricted`.
        if !warn_level_present && enforce_level_valid && policy.enforce.level > policy.warn.level {
            policy.warn.level = policy.enforce.level;
            if !warn_version_present {
                policy.warn.version = policy.enforce.version;
            }
        }
        (policy, errors)
    }

    /// Mode by mode, both privileged (versions do not matter then) or identical.
    pub fn equivalent(&self, other: &Policy) -> bool {
        [Mode::Enforce, Mode::Audit, Mode::Warn]
            .into_iter()
            .all(|mode| {
                let (a, b) = (self.get(mode), other.get(mode));
                (a.level == Level::Privileged && b.level == Level::Privileged) || a == b
            })
    }

    /// Every mode is `privileged`: nothing can be denied, audited or warned about.
    pub fn fully_privileged(&self) -> bool {
        self.enforce.level == Level::Privileged
            && self.audit.level == Level::Privileged
            && self.warn.level == Level::Privileged
    }
}

/// A namespace's policy as its labels give it, with the labels' errors as upstream reports them
/// for a pod or controller (the `error` audit annotation `Failed to parse policy: <errors>`).
///
/// It depends only on the labels and the configured defaults, so a holder of a namespace's
/// labels (the webhook's namespace cache) can resolve it once and keep it with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacePolicy {
    pub policy: Policy,
    /// `None` when every label is valid.
    pub errors: Option<Aggregate>,
}

impl NamespacePolicy {
    /// [`Policy::from_labels`], with the errors aggregated.
    pub fn resolve(labels: &BTreeMap<String, String>, defaults: Policy) -> NamespacePolicy {
        let (policy, errors) = Policy::from_labels(labels, defaults);
        NamespacePolicy {
            policy,
            errors: Aggregate::from_field_errors(&errors),
        }
    }
}

/// Audit and warn fail open: an unreadable label must not start flagging every pod.
fn parse_level_fail_open(value: &str, on_error: impl FnOnce(&'static str)) -> Level {
    match Level::parse_with_fallback(value) {
        (level, None) => level,
        (_, Some(detail)) => {
            on_error(detail);
            Level::Privileged
        }
    }
}

fn parse_version(value: &str, on_error: impl FnOnce(&'static str)) -> Version {
    let (version, error) = Version::parse_with_fallback(value);
    if let Some(detail) = error {
        on_error(detail);
    }
    version
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(level: Level, version: Version) -> LevelVersion {
        LevelVersion::new(level, version)
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (format!("pod-security.kubernetes.io/{k}"), (*v).to_owned()))
            .collect()
    }

    use Level::{Baseline as B, Privileged as P, Restricted as R};
    const L: Version = Version::Latest;

    /// Upstream's eleven resolution cases (defaults all privileged:latest) and more.
    #[test]
    fn resolves_labels_like_upstream() {
        let v22 = Version::Minor(22);
        #[allow(clippy::type_complexity)]
        let cases: Vec<(&[(&str, &str)], Policy, usize)> = vec![
            (&[], Policy::PRIVILEGED, 0),
            (
                &[("enforce", "baseline")],
                Policy {
                    enforce: lv(B, L),
                    audit: lv(P, L),
                    warn: lv(B, L),
                },
                0,
            ),
            (
                &[("enforce", "baseline"), ("enforce-version", "v1.22")],
                Policy {
                    enforce: lv(B, v22),
                    audit: lv(P, L),
                    warn: lv(B, v22),
                },
                0,
            ),
            (
                &[
                    ("enforce", "baseline"),
                    ("enforce-version", "v1.22"),
                    ("warn-version", "latest"),
                ],
                Policy {
                    enforce: lv(B, v22),
                    audit: lv(P, L),
                    warn: lv(B, L),
                },
                0,
            ),
            (
                &[("enforce", "baseline"), ("warn", "privileged")],
                Policy {
                    enforce: lv(B, L),
                    audit: lv(P, L),
                    warn: lv(P, L),
                },
                0,
            ),
            (
                &[("enforce", "baseline"), ("warn", "foo")],
                Policy {
                    enforce: lv(B, L),
                    audit: lv(P, L),
                    warn: lv(P, L),
                },
                1,
            ),
            (
                &[("enforce", "foo")],
                Policy {
                    enforce: lv(R, L),
                    audit: lv(P, L),
                    warn: lv(P, L),
                },
                1,
            ),
            (
                &[("enforce", "restricted"), ("warn", "baseline")],
                Policy {
                    enforce: lv(R, L),
                    audit: lv(P, L),
                    warn: lv(B, L),
                },
                0,
            ),
            (
                &[("enforce-version", "foo")],
                Policy {
                    enforce: lv(P, L),
                    audit: lv(P, L),
                    warn: lv(P, L),
                },
                1,
            ),
            (
                &[("audit", "restricted"), ("audit-version", "v1.22")],
                Policy {
                    enforce: lv(P, L),
                    audit: lv(R, v22),
                    warn: lv(P, L),
                },
                0,
            ),
            (
                &[("audit", "bad"), ("audit-version", "v1.01")],
                Policy {
                    enforce: lv(P, L),
                    audit: lv(P, L),
                    warn: lv(P, L),
                },
                2,
            ),
            (
                &[
                    ("warn", "restricted"),
                    ("warn-version", "v1.2"),
                    ("enforce", "baseline"),
                ],
                Policy {
                    enforce: lv(B, L),
                    audit: lv(P, L),
                    warn: lv(R, Version::Minor(2)),
                },
                0,
            ),
            (
                // An empty value is present, and invalid.
                &[("enforce", "")],
                Policy {
                    enforce: lv(R, L),
                    audit: lv(P, L),
                    warn: lv(P, L),
                },
                1,
            ),
            (
                // Unrelated labels alone resolve to the defaults.
                &[],
                Policy::PRIVILEGED,
                0,
            ),
        ];
        for (pairs, want, n_errors) in cases {
            let (got, errors) = Policy::from_labels(&labels(pairs), Policy::PRIVILEGED);
            assert_eq!(got, want, "{pairs:?}");
            assert_eq!(errors.len(), n_errors, "{pairs:?}: {errors:?}");
        }
    }

    #[test]
    fn warn_defaults_from_enforce_only_when_stricter_than_the_default() {
        let defaults = Policy {
            enforce: lv(P, L),
            audit: lv(P, L),
            warn: lv(R, Version::Minor(20)),
        };
        let (got, _) = Policy::from_labels(&labels(&[("enforce", "baseline")]), defaults);
        assert_eq!(got.warn, lv(R, Version::Minor(20)));
        let mut other = BTreeMap::new();
        other.insert("team".to_owned(), "a".to_owned());
        let (got, errors) = Policy::from_labels(&other, defaults);
        assert_eq!((got, errors.len()), (defaults, 0));
    }

    #[test]
    fn errors_are_in_label_order_with_upstream_texts() {
        let (_, errors) = Policy::from_labels(
            &labels(&[
                ("warn-version", "v1"),
                ("warn", "x"),
                ("audit-version", "y"),
                ("audit", "z"),
                ("enforce-version", "v2.0"),
                ("enforce", "foo"),
            ]),
            Policy::PRIVILEGED,
        );
        let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            rendered,
            [
                "metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"foo\": must be one of privileged, baseline, restricted",
                "metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: \"v2.0\": must be \"latest\" or \"v1.x\"",
                "metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: \"z\": must be one of privileged, baseline, restricted",
                "metadata.labels[pod-security.kubernetes.io/audit-version]: Invalid value: \"y\": must be \"latest\" or \"v1.x\"",
                "metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: \"x\": must be one of privileged, baseline, restricted",
                "metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: \"v1\": must be \"latest\" or \"v1.x\"",
            ]
        );
    }

    #[test]
    fn equivalence_ignores_versions_of_privileged_modes() {
        let a = Policy {
            enforce: lv(P, Version::Minor(3)),
            audit: lv(B, L),
            warn: lv(P, L),
        };
        let b = Policy {
            enforce: lv(P, L),
            audit: lv(B, L),
            warn: lv(P, Version::Minor(9)),
        };
        assert!(a.equivalent(&b));
        let c = Policy {
            audit: lv(B, Version::Minor(9)),
            ..b
        };
        assert!(!a.equivalent(&c));
        assert!(!a.fully_privileged());
        assert!(
            Policy {
                audit: lv(P, Version::Minor(1)),
                ..a
            }
            .fully_privileged()
        );
    }
}
