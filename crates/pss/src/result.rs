//! The outcome of evaluating one pod against one level and version, and upstream's aggregate
//! message formats built from it.

use std::borrow::Cow;

use crate::check::Forbidden;
use crate::level::LevelVersion;

/// Reason reported for a disallowed result that carries none (never produced by built-in checks).
pub const UNKNOWN_FORBIDDEN_REASON: &str = "unknown forbidden reason";

/// One check that forbids the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The check's id, e.g. `runAsNonRoot`.
    pub check: &'static str,
    pub reason: Cow<'static, str>,
    pub detail: String,
}

impl Violation {
    pub fn new(check: &'static str, forbidden: Forbidden) -> Self {
        let reason = if forbidden.reason.is_empty() {
            Cow::Borrowed(UNKNOWN_FORBIDDEN_REASON)
        } else {
            forbidden.reason
        };
        Violation {
            check,
            reason,
            detail: forbidden.detail,
        }
    }
}

/// The violations of one evaluation, in check order. Empty means allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub violations: Vec<Violation>,
}

impl Evaluation {
    pub fn allowed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The reasons joined by `, ` (upstream uses it to group pods in namespace warnings).
    pub fn forbidden_reason(&self) -> String {
        let mut out = String::new();
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&v.reason);
        }
        out
    }

    /// `reason (detail), reason (detail)`: the text of errors, warnings and audit annotations.
    pub fn forbidden_detail(&self) -> String {
        let mut out = String::with_capacity(self.forbidden_detail_len());
        self.push_forbidden_detail(&mut out);
        out
    }

    /// The enforce error: `violates PodSecurity "<level>:<version>": <detail>`.
    pub fn enforce_message(&self, policy: LevelVersion) -> String {
        self.message("violates PodSecurity \"", policy)
    }

    /// The warning and audit text: `would violate PodSecurity "<level>:<version>": <detail>`.
    pub fn advisory_message(&self, policy: LevelVersion) -> String {
        self.message("would violate PodSecurity \"", policy)
    }

    /// `prefix`, the policy, `": "` and the detail, in one allocation of the right size: these
    /// texts are built for every denied or warned request.
    fn message(&self, prefix: &str, policy: LevelVersion) -> String {
        use std::fmt::Write as _;
        // "restricted:v1.NN" at most, with room for a long requested version.
        let mut out = String::with_capacity(prefix.len() + 32 + self.forbidden_detail_len());
        out.push_str(prefix);
        // Writing to a String cannot fail.
        let _ = write!(out, "{policy}");
        out.push_str("\": ");
        self.push_forbidden_detail(&mut out);
        out
    }

    fn push_forbidden_detail(&self, out: &mut String) {
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&v.reason);
            if !v.detail.is_empty() {
                out.push_str(" (");
                out.push_str(&v.detail);
                out.push(')');
            }
        }
    }

    /// The length of [`Evaluation::forbidden_detail`].
    fn forbidden_detail_len(&self) -> usize {
        let texts: usize = self
            .violations
            .iter()
            .map(|v| {
                v.reason.len()
                    + if v.detail.is_empty() {
                        0
                    } else {
                        v.detail.len() + 3
                    }
            })
            .sum();
        texts + 2 * self.violations.len().saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::{Level, Version};

    #[test]
    fn aggregates_like_upstream() {
        let eval = Evaluation {
            violations: vec![
                Violation::new(
                    "a",
                    Forbidden::new("host namespaces", "hostPID=true".into()),
                ),
                Violation::new("b", Forbidden::new("custom", String::new())),
                Violation::new("c", Forbidden::new("", "x".into())),
            ],
        };
        assert_eq!(
            eval.forbidden_reason(),
            "host namespaces, custom, unknown forbidden reason"
        );
        assert_eq!(
            eval.forbidden_detail(),
            "host namespaces (hostPID=true), custom, unknown forbidden reason (x)"
        );
        assert_eq!(eval.forbidden_detail_len(), eval.forbidden_detail().len());
        assert_eq!(Evaluation::default().forbidden_detail_len(), 0);
        let p = LevelVersion::new(Level::Baseline, Version::Minor(29));
        let detail = eval.forbidden_detail();
        assert_eq!(
            eval.advisory_message(p),
            format!("would violate PodSecurity \"baseline:v1.29\": {detail}")
        );
        assert_eq!(
            eval.enforce_message(LevelVersion::new(Level::Restricted, Version::Latest)),
            format!("violates PodSecurity \"restricted:latest\": {detail}")
        );
    }
}
