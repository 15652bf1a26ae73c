//! Field errors rendered exactly as apimachinery v0.24.6's `field.Error.Error()` did.
//!
//! The admission messages embed these strings verbatim, so the rendering of paths, error types
//! and bad values (Go `%v`, `%q` and `%#v` formatting) is part of the public interface.

use std::fmt;

/// One segment of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Child(String),
    Index(usize),
    Key(String),
}

/// A field path such as `spec.containers[0].securityContext`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldPath {
    segments: Vec<Segment>,
}

impl FieldPath {
    /// A path made of the given child names, e.g. `FieldPath::new(["spec", "volumes"])`.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        FieldPath {
            segments: names
                .into_iter()
                .map(|name| Segment::Child(name.to_string()))
                .collect(),
        }
    }

    /// This path extended by a named child.
    #[must_use]
    pub fn child(&self, name: &str) -> Self {
        self.with(Segment::Child(name.to_string()))
    }

    /// This path extended by a list index (`[i]`).
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        self.with(Segment::Index(index))
    }

    /// This path extended by a map key (`[key]`).
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        self.with(Segment::Key(key.to_string()))
    }

    fn with(&self, segment: Segment) -> Self {
        let mut segments = self.segments.clone();
        segments.push(segment);
        FieldPath { segments }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Child(name) if position == 0 => f.write_str(name)?,
                Segment::Child(name) => write!(f, ".{name}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => write!(f, "[{key}]")?,
            }
        }
        Ok(())
    }
}

/// The kind of a field error; its text is the first part of the error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    Required,
    Invalid,
    NotSupported,
    Duplicate,
    Forbidden,
    TooLong,
}

impl ErrorType {
    fn text(self) -> &'static str {
        match self {
            ErrorType::Required => "Required value",
            ErrorType::Invalid => "Invalid value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
        }
    }

    /// Types whose body never shows the bad value.
    fn hides_value(self) -> bool {
        matches!(
            self,
            ErrorType::Required | ErrorType::Forbidden | ErrorType::TooLong
        )
    }
}

/// A bad value, already reduced to the way Go's `fmt` prints it inside a field error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadValue {
    /// A nil value or nil pointer: printed as `"null"`.
    Null,
    /// Integers and booleans: printed plain (`%v`).
    Plain(String),
    /// A Go `string`: printed with `%q`.
    Str(String),
    /// Anything else: the exact Go `%#v` rendering.
    GoSyntax(String),
}

impl BadValue {
    pub fn int(value: i64) -> Self {
        BadValue::Plain(value.to_string())
    }

    pub fn bool(value: bool) -> Self {
        BadValue::Plain(value.to_string())
    }

    pub fn str(value: &str) -> Self {
        BadValue::Str(value.to_string())
    }

    /// An optional pointer: nil renders as `"null"`, otherwise the pointee.
    pub fn optional_bool(value: Option<bool>) -> Self {
        value.map_or(BadValue::Null, BadValue::bool)
    }

    /// A named string type (`core.Capability`, `policy.FSType`, ...): `%#v` prints it quoted.
    pub fn named_string(value: &str) -> Self {
        BadValue::GoSyntax(go_quote(value))
    }

    /// A `[]int64`; `None` is the nil slice.
    pub fn int64_slice(values: Option<&[i64]>) -> Self {
        BadValue::GoSyntax(go_slice(
            "int64",
            values.map(|values| values.iter().map(i64::to_string).collect()),
        ))
    }

    /// A slice of a (possibly named) string type, e.g. `[]core.Capability{"bar"}`.
    pub fn string_slice(element_type: &str, values: Option<&[String]>) -> Self {
        BadValue::GoSyntax(go_slice(
            element_type,
            values.map(|values| values.iter().map(|value| go_quote(value)).collect()),
        ))
    }

    /// A `[]policy.IDRange` printed with `%#v`.
    pub fn id_ranges(ranges: &[crate::types::IdRange]) -> Self {
        BadValue::GoSyntax(go_slice(
            "policy.IDRange",
            (!ranges.is_empty()).then(|| {
                ranges
                    .iter()
                    .map(|range| format!("policy.IDRange{{Min:{}, Max:{}}}", range.min, range.max))
                    .collect()
            }),
        ))
    }
}

fn go_slice(element_type: &str, elements: Option<Vec<String>>) -> String {
    match elements {
        None => format!("[]{element_type}(nil)"),
        Some(elements) => format!("[]{element_type}{{{}}}", elements.join(", ")),
    }
}

/// Go's `strconv.Quote` (the `%q` verb), shared with the Pod Security Standards' messages.
pub use podsec_pss::format::go_quote;

/// A field error: where, what kind, the offending value and a detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub error_type: ErrorType,
    pub path: FieldPath,
    pub value: BadValue,
    pub detail: String,
}

impl FieldError {
    pub fn required(path: FieldPath, detail: impl Into<String>) -> Self {
        Self::new(
            ErrorType::Required,
            path,
            BadValue::Str(String::new()),
            detail,
        )
    }

    pub fn forbidden(path: FieldPath, detail: impl Into<String>) -> Self {
        Self::new(
            ErrorType::Forbidden,
            path,
            BadValue::Str(String::new()),
            detail,
        )
    }

    pub fn invalid(path: FieldPath, value: BadValue, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Invalid, path, value, detail)
    }

    pub fn duplicate(path: FieldPath, value: BadValue) -> Self {
        Self::new(ErrorType::Duplicate, path, value, "")
    }

    /// `max_length` bytes, as apimachinery 0.24 words it.
    pub fn too_long(path: FieldPath, value: BadValue, max_length: usize) -> Self {
        Self::new(
            ErrorType::TooLong,
            path,
            value,
            format!("must have at most {max_length} bytes"),
        )
    }

    /// The supported values are listed in the order given, each Go-quoted.
    pub fn not_supported(path: FieldPath, value: BadValue, supported: &[&str]) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|value| go_quote(value)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(ErrorType::NotSupported, path, value, detail)
    }

    fn new(
        error_type: ErrorType,
        path: FieldPath,
        value: BadValue,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            error_type,
            path,
            value,
            detail: detail.into(),
        }
    }

    /// The part after `<path>: `.
    pub fn body(&self) -> String {
        let mut body = if self.error_type.hides_value() {
            self.error_type.text().to_string()
        } else {
            let value = match &self.value {
                BadValue::Null => go_quote("null"),
                BadValue::Plain(text) | BadValue::GoSyntax(text) => text.clone(),
                BadValue::Str(text) => go_quote(text),
            };
            format!("{}: {value}", self.error_type.text())
        };
        if !self.detail.is_empty() {
            body.push_str(": ");
            body.push_str(&self.detail);
        }
        body
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.body())
    }
}

impl std::error::Error for FieldError {}

/// Go's `%v` of a `field.ErrorList`: `[e1 e2 ...]`.
pub fn render_error_list(errors: &[FieldError]) -> String {
    let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
    format!("[{}]", rendered.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_apimachinery() {
        let path = FieldPath::new(["spec", "containers"])
            .index(0)
            .child("securityContext");
        assert_eq!(path.to_string(), "spec.containers[0].securityContext");
        let annotation = FieldPath::new(["pod", "metadata", "annotations"]).key("a/b");
        assert_eq!(annotation.to_string(), "pod.metadata.annotations[a/b]");
    }

    #[test]
    fn bodies_render_like_apimachinery() {
        let path = FieldPath::new(["x"]);
        let cases = [
            (FieldError::required(path.clone(), ""), "x: Required value"),
            (
                FieldError::required(path.clone(), "must be true"),
                "x: Required value: must be true",
            ),
            (
                FieldError::forbidden(path.clone(), " is not allowed"),
                "x: Forbidden:  is not allowed",
            ),
            (
                FieldError::invalid(path.clone(), BadValue::Null, "d"),
                "x: Invalid value: \"null\": d",
            ),
            (
                FieldError::invalid(path.clone(), BadValue::int(5), ""),
                "x: Invalid value: 5",
            ),
            (
                FieldError::invalid(path.clone(), BadValue::int64_slice(None), "d"),
                "x: Invalid value: []int64(nil): d",
            ),
            (
                FieldError::invalid(path.clone(), BadValue::int64_slice(Some(&[1, 2])), "d"),
                "x: Invalid value: []int64{1, 2}: d",
            ),
            (
                FieldError::invalid(
                    path.clone(),
                    BadValue::string_slice("core.Capability", Some(&["bar".to_string()])),
                    "d",
                ),
                "x: Invalid value: []core.Capability{\"bar\"}: d",
            ),
            (
                FieldError::not_supported(path.clone(), BadValue::named_string("foo"), &["a", "b"]),
                "x: Unsupported value: \"foo\": supported values: \"a\", \"b\"",
            ),
            (
                FieldError::duplicate(path.clone(), BadValue::str("foo")),
                "x: Duplicate value: \"foo\"",
            ),
            (
                FieldError::too_long(path, BadValue::str("foo"), 63),
                "x: Too long: must have at most 63 bytes",
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn id_ranges_use_go_syntax() {
        use crate::types::IdRange;
        assert_eq!(
            BadValue::id_ranges(&[IdRange { min: 1, max: 2 }]),
            BadValue::GoSyntax("[]policy.IDRange{policy.IDRange{Min:1, Max:2}}".into())
        );
        assert_eq!(
            BadValue::id_ranges(&[]),
            BadValue::GoSyntax("[]policy.IDRange(nil)".into())
        );
    }
}
