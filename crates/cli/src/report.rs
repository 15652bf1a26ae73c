//! The report of `podsec check`: what each object's verdict is and why, as data. The output
//! formats (`output::text`, `output::json`) render it; the JSON field names are the stable
//! contract in ARCHITECTURE.md.

use serde::Serialize;

/// The verdict on one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allowed,
    Denied,
    Exempt,
    Skipped,
}

/// Where the policy applied to an object came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicySource {
    /// `--level` / `--version`.
    Flag,
    /// The `pod-security.kubernetes.io/*` labels of a Namespace object in the input.
    NamespaceLabels,
    /// The defaults of the `--config` file.
    Config,
    /// podsec's built-in default: as if the namespace were labelled `enforce: restricted`.
    BuiltIn,
}

impl PolicySource {
    pub fn describe(self) -> &'static str {
        match self {
            PolicySource::Flag => "from --level/--version",
            PolicySource::NamespaceLabels => "from the namespace's labels",
            PolicySource::Config => "from the --config defaults",
            PolicySource::BuiltIn => "built-in default",
        }
    }
}

/// The policy in force for an object, rendered `<level>:<version>` per mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyReport {
    pub enforce: String,
    pub audit: String,
    pub warn: String,
    pub source: PolicySource,
    /// Invalid namespace labels, in upstream's field-error wording; evaluation went on with
    /// upstream's fallbacks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// One failing check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViolationReport {
    pub check: &'static str,
    pub reason: String,
    pub detail: String,
}

/// One mode's evaluation (`enforce`, `warn`, `audit`; `psp` later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvaluationReport {
    pub mode: &'static str,
    pub level: &'static str,
    pub version: String,
    pub allowed: bool,
    pub violations: Vec<ViolationReport>,
    /// Upstream's text for this mode; absent when allowed (upstream shows nothing then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The verdict on one object found in the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReport {
    pub source: String,
    pub document: usize,
    /// The position inside a `kind: List` document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    pub decision: Decision,
    /// For `exempt`: `namespace`, `user` or `runtimeClass`. For `skipped`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where the judged pod template sits in the object (absent for Pods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_path: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyReport>,
    pub evaluations: Vec<EvaluationReport>,
}

impl ObjectReport {
    /// `Kind namespace/name` (or just the name when there is no namespace).
    pub fn display_name(&self) -> String {
        let name = self
            .name
            .as_deref()
            .or(self.generate_name.as_deref())
            .unwrap_or("<unnamed>");
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{name}", self.kind_or_unknown()),
            None => format!("{} {name}", self.kind_or_unknown()),
        }
    }

    fn kind_or_unknown(&self) -> &str {
        if self.kind.is_empty() {
            "<no kind>"
        } else {
            &self.kind
        }
    }
}

/// An input that could not be read or a document that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    pub message: String,
}

/// Counts for the closing line and the exit status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub allowed: usize,
    pub denied: usize,
    pub exempt: usize,
    pub skipped: usize,
    pub errors: usize,
}

impl Summary {
    pub fn record(&mut self, decision: Decision) {
        match decision {
            Decision::Allowed => self.allowed += 1,
            Decision::Denied => self.denied += 1,
            Decision::Exempt => self.exempt += 1,
            Decision::Skipped => self.skipped += 1,
        }
    }

    pub fn objects(&self) -> usize {
        self.allowed + self.denied + self.exempt + self.skipped
    }
}
