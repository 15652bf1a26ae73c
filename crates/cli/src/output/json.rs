//! `-o json`: one JSON document, `{"objects": [...], "errors": [...], "summary": {...}}`,
//! written as the objects are judged (the shape is the contract in ARCHITECTURE.md).

use std::io::{self, Write};

use serde_json::ser::Formatter;

use super::Sink;
use crate::report::{ErrorReport, ObjectReport, Summary};

/// The report is built in memory and handed to the writer in pieces of about this size:
/// serializing into a `Vec` costs far less per call than into a `BufWriter`, and the pieces keep
/// memory flat however long the report gets.
const SPILL_BYTES: usize = 64 * 1024;

pub struct JsonSink<W: Write> {
    out: W,
    /// Report bytes not yet handed to `out`.
    buffer: Vec<u8>,
    objects: usize,
    /// Errors are few; they are written after the objects.
    errors: Vec<ErrorReport>,
}

impl<W: Write> JsonSink<W> {
    /// `out` should be unbuffered: the sink buffers itself.
    pub fn new(out: W) -> Self {
        JsonSink {
            out,
            buffer: Vec::with_capacity(2 * SPILL_BYTES),
            objects: 0,
            errors: Vec::new(),
        }
    }

    fn write_item(&mut self, first: bool, value: &impl serde::Serialize) -> io::Result<()> {
        self.buffer
            .extend_from_slice(if first { b"\n    " } else { b",\n    " });
        let mut serializer =
            serde_json::Serializer::with_formatter(&mut self.buffer, NestedPretty::new());
        value.serialize(&mut serializer).map_err(io::Error::other)?;
        self.spill()
    }

    /// Hands the buffer to the writer once it is large enough.
    fn spill(&mut self) -> io::Result<()> {
        if self.buffer.len() >= SPILL_BYTES {
            self.out.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn object(&mut self, report: &ObjectReport) -> io::Result<()> {
        if self.objects == 0 {
            self.buffer.extend_from_slice(b"{\n  \"objects\": [");
        }
        self.write_item(self.objects == 0, report)?;
        self.objects += 1;
        Ok(())
    }

    fn error(&mut self, error: &ErrorReport) -> io::Result<()> {
        self.errors.push(error.clone());
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        if self.objects == 0 {
            self.buffer
                .extend_from_slice(b"{\n  \"objects\": [],\n  \"errors\": [");
        } else {
            self.buffer.extend_from_slice(b"\n  ],\n  \"errors\": [");
        }
        let errors = std::mem::take(&mut self.errors);
        for (i, error) in errors.iter().enumerate() {
            self.write_item(i == 0, error)?;
        }
        self.buffer.extend_from_slice(if errors.is_empty() {
            b"],\n"
        } else {
            b"\n  ],\n"
        });
        let summary = serde_json::to_string(summary).map_err(io::Error::other)?;
        writeln!(self.buffer, "  \"summary\": {summary}\n}}")?;
        self.out.write_all(&self.buffer)?;
        self.buffer.clear();
        self.out.flush()
    }
}

/// serde_json's `PrettyFormatter` (two spaces a level) for items nested two levels deep: the
/// same bytes as pretty-printing an item and indenting every line after the first by four
/// spaces, in one pass.
struct NestedPretty {
    /// The depth in the whole report, counting the two levels around the item.
    depth: usize,
    has_value: bool,
}

impl NestedPretty {
    /// Items sit in `{"objects": [...]}`, two levels deep.
    const ITEM_DEPTH: usize = 2;

    fn new() -> Self {
        NestedPretty {
            depth: Self::ITEM_DEPTH,
            has_value: false,
        }
    }

    /// `[` or `{`: one level deeper, nothing in it yet.
    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    /// `]` or `}`, on a line of its own when the container holds anything.
    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.new_line(writer, false)?;
        }
        writer.write_all(bracket)
    }

    /// A line break and the indentation of the current depth.
    fn new_line<W: ?Sized + Write>(&self, writer: &mut W, comma: bool) -> io::Result<()> {
        const SPACES: &[u8; 64] = &[b' '; 64];
        writer.write_all(if comma { b",\n" } else { b"\n" })?;
        let mut width = self.depth * 2;
        while width > 0 {
            let step = width.min(SPACES.len());
            writer.write_all(&SPACES[..step])?;
            width -= step;
        }
        Ok(())
    }
}

impl Formatter for NestedPretty {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.new_line(writer, !first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.new_line(writer, !first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::Value;

    /// What the sink wrote before: the item pretty-printed, every line after the first
    /// indented by four more spaces.
    fn reference(value: &Value) -> String {
        let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
        pretty.replace('\n', "\n    ")
    }

    fn nested(value: &Value) -> String {
        let mut out = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, NestedPretty::new());
        value
            .serialize(&mut serializer)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8(out).unwrap_or_default()
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".*".prop_map(Value::from),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map("[a-z\n\"]{0,4}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn deep_nesting_matches_indenting_afterwards() {
        let mut value = serde_json::json!({"a": [1, {}, []]});
        for _ in 0..40 {
            value = serde_json::json!({"x": [value]});
        }
        assert_eq!(nested(&value), reference(&value));
    }

    proptest! {
        #[test]
        fn matches_indenting_afterwards(value in json_value()) {
            prop_assert_eq!(nested(&value), reference(&value));
        }
    }
}
