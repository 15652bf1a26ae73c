//! The field path of the YAML node that starts at a position: how a configuration error that
//! serde-saphyr places by line and column (`line 4, column 12: expected string scalar`) also
//! names its field (`defaults.enforce`), as `podsec check` names the fields of manifests.
//!
//! The strict configuration decoder reads its keys through position-carrying seeds, which a
//! path-tracking deserializer cannot see through; so the path is found afterwards, from the
//! position alone, by reading the same text once more as a tree of located nodes. Only after a
//! decode has failed, so valid configurations pay nothing.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Spanned};

use crate::field_error::FieldPath;

/// Where a parser places an error about a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// At the value's first character, as serde-saphyr does.
    Start,
    /// Somewhere inside the value's text (at its last character for a scalar), or in the gap
    /// of blanks, `:` or `,` just before it, as serde_json does: the value is the innermost one
    /// that starts at or before the position past that gap. serde_json counts columns in bytes,
    /// this module in characters, so an ASCII text only.
    Within,
}

/// The path (`exemptions.usernames[1]`, `plugins[0].configuration.defaults`) of the value at
/// `line` and `column` (1-based, in characters) in the YAML (or JSON) `text`, the position
/// understood as `placement` says. `None` when no value but the document itself is there, or
/// the text is not YAML.
pub(crate) fn field_at(
    text: &[u8],
    line: usize,
    column: usize,
    placement: Placement,
) -> Option<String> {
    let options = serde_saphyr::options! {
        // Every entry is a node with a position, a repeated key too.
        duplicate_keys: DuplicateKeyPolicy::PassThrough,
        with_snippet: false,
    };
    let column = match placement {
        Placement::Start => column,
        Placement::Within => past_gap(text, line, column)?,
    };
    let root: Spanned<Shape> = serde_saphyr::from_slice_with_options(text, options).ok()?;
    let target = (line as u64, column as u64);
    let mut path = FieldPath::new("");
    let mut node = &root.value;
    loop {
        // The last child that starts at or before the target holds it, if any node does.
        let Some((step, child)) = node.0.iter().rfind(|(_, child)| start(child) <= target) else {
            return (placement == Placement::Within && !path.as_str().is_empty())
                .then(|| path.to_string());
        };
        path = step.from(&path);
        if placement == Placement::Start && start(child) == target {
            // A block sequence starts where its first item does: an error placed there may be
            // about either, so it names neither.
            let first_starts_here = child
                .value
                .0
                .first()
                .is_some_and(|(_, first)| start(first) == target);
            return (!first_starts_here).then(|| path.to_string());
        }
        node = &child.value;
    }
}

/// The column of the first character at or after `column` on `line` that is not a blank, `:`
/// or `,` (the column itself when the line ends first). serde_json places an error about an
/// array's first element at the array's `[`, which it has read: that `[` is part of the gap.
/// `None` for a text that is not ASCII, or that ends lines with a bare `\r` (serde_json counts
/// only `\n`, YAML both).
fn past_gap(text: &[u8], line: usize, column: usize) -> Option<usize> {
    let bare_cr = text
        .windows(2)
        .any(|pair| pair[0] == b'\r' && pair[1] != b'\n')
        || text.last() == Some(&b'\r');
    if !text.is_ascii() || bare_cr {
        return None;
    }
    let row = text.split(|&b| b == b'\n').nth(line.checked_sub(1)?)?;
    let from = row.get(column.checked_sub(1)?..).unwrap_or_default();
    let opening = usize::from(from.first() == Some(&b'['));
    let gap = opening
        + from[opening..]
            .iter()
            .take_while(|&&b| matches!(b, b' ' | b'\t' | b'\r' | b':' | b','))
            .count();
    Some(if column - 1 + gap < row.len() {
        column + gap
    } else {
        column
    })
}

fn start(node: &Spanned<Shape>) -> (u64, u64) {
    (node.referenced.line(), node.referenced.column())
}

/// A YAML node: its children with the step that leads to each, in document order (none for a
/// scalar). Entries whose key is not a scalar (a YAML complex key) have no name and are left
/// out.
#[derive(Default)]
struct Shape(Vec<(Step, Spanned<Shape>)>);

enum Step {
    Key(String),
    Index(usize),
}

impl Step {
    fn from(&self, path: &FieldPath) -> FieldPath {
        match self {
            Step::Key(key) => path.child(key),
            Step::Index(index) => path.index(*index),
        }
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_none<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Shape, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push((Step::Index(items.len()), item));
        }
        Ok(Shape(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut entries = Vec::new();
        // A key as a path shows it: a scalar's text (as JSON writes it, for a number or a
        // boolean).
        while let Some(key) = map.next_key::<serde_json::Value>()? {
            let value: Spanned<Shape> = map.next_value()?;
            let key = match key {
                serde_json::Value::String(key) => key,
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => continue,
                scalar => scalar.to_string(),
            };
            entries.push((Step::Key(key), value));
        }
        Ok(Shape(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::{Placement, field_at};

    const CONFIG: &str = "\
apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
defaults:
  enforce: [baseline]
exemptions:
  usernames: [\"a\", 3]
  namespaces:
  - kube-system
  - 7
";

    #[test]
    fn a_node_is_named_by_the_keys_and_indexes_that_lead_to_it() {
        let at = |line, column| field_at(CONFIG.as_bytes(), line, column, Placement::Start);
        assert_eq!(at(4, 12).as_deref(), Some("defaults.enforce"));
        assert_eq!(at(4, 13).as_deref(), Some("defaults.enforce[0]"));
        assert_eq!(at(6, 20).as_deref(), Some("exemptions.usernames[1]"));
        assert_eq!(at(9, 5).as_deref(), Some("exemptions.namespaces[1]"));
        // A block mapping starts at its first key.
        assert_eq!(at(4, 3).as_deref(), Some("defaults"));
    }

    #[test]
    fn a_position_where_no_node_starts_names_nothing() {
        let at = |line, column| field_at(CONFIG.as_bytes(), line, column, Placement::Start);
        assert_eq!(at(1, 1), None, "the document itself");
        assert_eq!(at(4, 14), None, "inside a scalar");
        assert_eq!(at(40, 1), None, "past the end");
        assert_eq!(field_at(b"a: [", 1, 4, Placement::Start), None, "not YAML");
        // `usernames:` and its first item both start at line 3, column 3.
        let block = b"exemptions:\n  usernames:\n  - [a]\n  - b\n";
        assert_eq!(field_at(block, 3, 5, Placement::Start), None);
        assert_eq!(
            field_at(block, 4, 5, Placement::Start).as_deref(),
            Some("exemptions.usernames[1]")
        );
    }

    #[test]
    fn within_names_the_innermost_value_that_starts_before_the_position() {
        let json = "{\"a\": {\"b\": [\"x\", \"yz\"], \"c\": 1}}";
        let at = |column| field_at(json.as_bytes(), 1, column, Placement::Within);
        assert_eq!(
            at(21).as_deref(),
            Some("a.b[1]"),
            "the last character of \"yz\""
        );
        assert_eq!(
            at(12).as_deref(),
            Some("a.b"),
            "the blank before the bracket"
        );
        assert_eq!(at(31).as_deref(), Some("a.c"));
        assert_eq!(at(29).as_deref(), Some("a.c"), "the gap before the value");
        assert_eq!(at(1), None, "the document");
        // serde_json has read the outer `[` when the first element is in error.
        let nested = b"{\"a\":[[\"x\"]]}";
        assert_eq!(
            field_at(nested, 1, 6, Placement::Within).as_deref(),
            Some("a[0]")
        );
        // A bare `\r` ends a line for YAML, not for serde_json.
        assert_eq!(field_at(b"{\"a\":\r[1]}", 1, 5, Placement::Within), None);
    }
}
