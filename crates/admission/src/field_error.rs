//! Field errors and their aggregates, rendered exactly like apimachinery's `field.Error`,
//! `field.ErrorList.ToAggregate()` and `utilerrors.Aggregate`.
//!
//! These texts reach users in three places: invalid namespace labels (the 422 response and its
//! causes), the `error` audit annotation (`Failed to parse policy: …`) and configuration
//! validation. Keeping one renderer means the three can never disagree.

use std::fmt;

use podsec_pss::format::go_quote;

/// The kinds of field error this crate produces (a subset of apimachinery's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// `Invalid value`: the value is malformed.
    Invalid,
    /// `Duplicate value`: the value repeats an earlier one.
    Duplicate,
    /// `Required value`: the value is missing.
    Required,
}

impl ErrorType {
    /// The human text that starts the error body, e.g. `Invalid value`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Invalid => "Invalid value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::Required => "Required value",
        }
    }

    /// The machine-readable cause type of a Status (`metav1.CauseType`).
    pub fn cause_type(self) -> &'static str {
        match self {
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::Required => "FieldValueRequired",
        }
    }
}

/// A field path such as `metadata.labels[pod-security.kubernetes.io/enforce]` or
/// `exemptions.namespaces[3]`: dotted names, subscripts appended without a dot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(String);

impl FieldPath {
    /// A path starting at the field `name`.
    pub fn new(name: &str) -> Self {
        FieldPath(name.to_owned())
    }

    /// `self.name`.
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            return FieldPath::new(name);
        }
        FieldPath(format!("{}.{name}", self.0))
    }

    /// `self[key]` (a map key, inserted raw as apimachinery does).
    pub fn key(&self, key: &str) -> Self {
        FieldPath(format!("{}[{key}]", self.0))
    }

    /// `self[index]`.
    pub fn index(&self, index: usize) -> Self {
        FieldPath(format!("{}[{index}]", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One field error: `<path>: <body>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldError {
    pub error_type: ErrorType,
    pub field: FieldPath,
    /// The offending value; always a string here (labels, config entries), so it is rendered
    /// goQuoted. `None` omits it, as for `Required`.
    pub bad_value: Option<String>,
    pub detail: String,
}

impl FieldError {
    pub fn invalid(field: FieldPath, value: &str, detail: impl Into<String>) -> Self {
        FieldError {
            error_type: ErrorType::Invalid,
            field,
            bad_value: Some(value.to_owned()),
            detail: detail.into(),
        }
    }

    pub fn duplicate(field: FieldPath, value: &str) -> Self {
        FieldError {
            error_type: ErrorType::Duplicate,
            field,
            bad_value: Some(value.to_owned()),
            detail: String::new(),
        }
    }

    pub fn required(field: FieldPath, detail: impl Into<String>) -> Self {
        FieldError {
            error_type: ErrorType::Required,
            field,
            bad_value: None,
            detail: detail.into(),
        }
    }

    /// The error without its path, e.g. `Invalid value: "foo": must be one of …`: the
    /// `message` of a Status cause.
    pub fn body(&self) -> String {
        let mut out = String::from(self.error_type.as_str());
        // apimachinery prints the value only for the types that carry one.
        if self.error_type != ErrorType::Required
            && let Some(value) = &self.bad_value
        {
            out.push_str(": ");
            out.push_str(&go_quote(value));
        }
        if !self.detail.is_empty() {
            out.push_str(": ");
            out.push_str(&self.detail);
        }
        out
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for FieldError {}

/// An ordered list of field errors (apimachinery's `field.ErrorList`).
pub type FieldErrorList = Vec<FieldError>;

/// Several error messages reported as one, like `utilerrors.Aggregate`: identical messages
/// appear once (the first occurrence keeps its place); one message renders as itself, several
/// as `[a, b]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    messages: Vec<String>,
}

impl Aggregate {
    /// `None` for no messages, as upstream's aggregate of nothing is nil.
    pub fn new<I>(messages: I) -> Option<Aggregate>
    where
        I: IntoIterator,
        I::Item: ToString,
    {
        let mut unique: Vec<String> = Vec::new();
        for message in messages {
            let message = message.to_string();
            if !unique.contains(&message) {
                unique.push(message);
            }
        }
        (!unique.is_empty()).then_some(Aggregate { messages: unique })
    }

    /// `ErrorList.ToAggregate()`.
    pub fn from_field_errors(errors: &[FieldError]) -> Option<Aggregate> {
        Aggregate::new(errors)
    }

    /// The de-duplicated messages, in first-seen order.
    pub fn messages(&self) -> &[String] {
        &self.messages
    }
}

impl fmt::Display for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = self.messages.as_slice() {
            return f.write_str(only);
        }
        f.write_str("[")?;
        for (i, message) in self.messages.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(message)?;
        }
        f.write_str("]")
    }
}

impl std::error::Error for Aggregate {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_apimachinery() {
        let labels = FieldPath::new("metadata").child("labels");
        assert_eq!(
            labels.key("pod-security.kubernetes.io/enforce").as_str(),
            "metadata.labels[pod-security.kubernetes.io/enforce]"
        );
        let namespaces = FieldPath::new("exemptions").child("namespaces");
        assert_eq!(namespaces.index(3).to_string(), "exemptions.namespaces[3]");
        assert_eq!(
            FieldPath::new("defaults").child("enforce-version").as_str(),
            "defaults.enforce-version"
        );
        assert_eq!(FieldPath::default().child("x").as_str(), "x");
    }

    #[test]
    fn errors_render_like_apimachinery() {
        let path = FieldPath::new("metadata")
            .child("labels")
            .key("pod-security.kubernetes.io/enforce");
        let cases = [
            (
                FieldError::invalid(
                    path.clone(),
                    "foo",
                    "must be one of privileged, baseline, restricted",
                ),
                "metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"foo\": must be one of privileged, baseline, restricted",
            ),
            (
                FieldError::invalid(path.clone(), "a\"b\n", ""),
                "metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"a\\\"b\\n\"",
            ),
            (
                FieldError::duplicate(
                    FieldPath::new("exemptions").child("usernames").index(2),
                    "bob",
                ),
                "exemptions.usernames[2]: Duplicate value: \"bob\"",
            ),
            (
                FieldError::required(FieldPath::new("defaults").child("enforce"), ""),
                "defaults.enforce: Required value",
            ),
        ];
        for (error, want) in cases {
            assert_eq!(error.to_string(), want);
        }
        let cause = FieldError::invalid(path, "unknown", "d");
        assert_eq!(cause.body(), "Invalid value: \"unknown\": d");
        assert_eq!(cause.error_type.cause_type(), "FieldValueInvalid");
    }

    #[test]
    fn aggregates_deduplicate_and_bracket() {
        assert_eq!(Aggregate::new(Vec::<String>::new()), None);
        let one = Aggregate::new(["a", "a"]).expect("non-empty");
        assert_eq!(one.to_string(), "a");
        let many = Aggregate::new(["b", "a", "b", "c"]).expect("non-empty");
        assert_eq!(many.to_string(), "[b, a, c]");
        let errors = [
            FieldError::invalid(FieldPath::new("x"), "1", "bad"),
            FieldError::invalid(FieldPath::new("x"), "1", "bad"),
        ];
        assert_eq!(
            Aggregate::from_field_errors(&errors).map(|a| a.to_string()),
            Some("x: Invalid value: \"1\": bad".to_owned())
        );
    }
}
