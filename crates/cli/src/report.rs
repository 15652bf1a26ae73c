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

/// One evaluation of an object: a Pod Security Standards mode, or PodSecurityPolicy admission.
/// Serialized as the inner object; its `mode` tells them apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EvaluationReport {
    Pss(PssEvaluation),
    Psp(PspEvaluation),
}

/// One Pod Security Standards mode's evaluation (`enforce`, `warn`, `audit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PssEvaluation {
    pub mode: &'static str,
    pub level: &'static str,
    pub version: String,
    pub allowed: bool,
    pub violations: Vec<ViolationReport>,
    /// Upstream's text for this mode; absent when allowed (upstream shows nothing then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// PodSecurityPolicy admission of a pod (or of the pod a template creates), as the in-tree
/// plugin's mutating phase decided a create request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PspEvaluation {
    /// Always `psp`.
    pub mode: &'static str,
    pub allowed: bool,
    /// The admitting policy (`null` when denied).
    pub policy: Option<String>,
    /// RFC 6902 operations that apply the policy's defaulting (and the `kubernetes.io/psp`
    /// annotation) to the object as written; for pod templates the paths point into the
    /// template. Empty when denied.
    pub patch: serde_json::Value,
    /// The field errors of the denial, in the message's order.
    pub violations: Vec<PspViolation>,
    /// The plugin's text on denial, from `PodSecurityPolicy:` on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The pod's service-account identity whose `use` grants counted.
    pub service_account: String,
    /// The requesting user whose grants counted (`--as`, or an AdmissionRequest's user);
    /// `null` for nobody.
    pub user: Option<String>,
    /// Policies left out because they cannot be compiled (upstream only logged these).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unusable_policies: Vec<UnusablePolicy>,
}

/// One field error of a PodSecurityPolicy denial. `check: reason` (and `: detail` when there
/// is one) is upstream's text, e.g. `spec.securityContext.hostNetwork` / `Invalid value: true` /
/// `Host network is not allowed to be used`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PspViolation {
    /// The field path.
    pub check: String,
    /// The error type, with the offending value for the types that show it.
    pub reason: String,
    /// What the policy requires; may be empty.
    pub detail: String,
}

/// A policy that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnusablePolicy {
    pub name: String,
    pub reason: String,
}

/// The verdict on one object found in the input.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReport {
    pub source: String,
    pub document: usize,
    /// The position inside a `kind: List` document: the index in the document's list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    /// For an item of a list inside a list, the indexes from the document's list down
    /// (`[1, 0]`: the first item of the list that is item 1); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_path: Option<Vec<usize>>,
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    pub decision: Decision,
    /// For `exempt`: `namespace`, `user` or `runtimeClass` (a Pod Security Standards
    /// exemption; a PodSecurityPolicy denial still makes the decision `denied`). For
    /// `skipped`: why. `user` on a judged workload: the requesting user is exempt, so the
    /// controller gets no warn or audit, but the pods it creates are judged (enforce only).
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

/// An item's path as reports write it: `1`, or `1.0` for the first item of the list that is
/// item 1.
pub struct ItemPath<'a>(pub &'a [usize]);

/// `item 1.0: ` before a message about an item of a list; nothing for a whole document.
pub fn item_prefix(path: &[usize]) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("item {}: ", ItemPath(path))
    }
}

impl std::fmt::Display for ItemPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, index) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{index}")?;
        }
        Ok(())
    }
}

/// An input that could not be read or a document that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    /// The field the error is in, as `spec.containers[0].image`, when it is in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
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
