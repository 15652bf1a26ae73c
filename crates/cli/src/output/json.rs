//! `-o json`: one JSON document, `{"objects": [...], "errors": [...], "summary": {...}}`,
//! written as the objects are judged (the shape is the contract in ARCHITECTURE.md).

use std::io::{self, Write};

use super::Sink;
use crate::report::{ErrorReport, ObjectReport, Summary};

pub struct JsonSink<W: Write> {
    out: W,
    objects: usize,
    /// Errors are few; they are written after the objects.
    errors: Vec<ErrorReport>,
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W) -> Self {
        JsonSink {
            out,
            objects: 0,
            errors: Vec::new(),
        }
    }

    fn write_item(&mut self, first: bool, value: &impl serde::Serialize) -> io::Result<()> {
        self.out
            .write_all(if first { b"\n    " } else { b",\n    " })?;
        serde_json::to_writer_pretty(Indented(&mut self.out), value).map_err(io::Error::other)
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn object(&mut self, report: &ObjectReport) -> io::Result<()> {
        if self.objects == 0 {
            self.out.write_all(b"{\n  \"objects\": [")?;
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
            self.out
                .write_all(b"{\n  \"objects\": [],\n  \"errors\": [")?;
        } else {
            self.out.write_all(b"\n  ],\n  \"errors\": [")?;
        }
        let errors = std::mem::take(&mut self.errors);
        for (i, error) in errors.iter().enumerate() {
            self.write_item(i == 0, error)?;
        }
        self.out.write_all(if errors.is_empty() {
            b"],\n"
        } else {
            b"\n  ],\n"
        })?;
        let summary = serde_json::to_string(summary).map_err(io::Error::other)?;
        writeln!(self.out, "  \"summary\": {summary}\n}}")?;
        self.out.flush()
    }
}

/// Nests pretty-printed items one level deeper (four spaces) without formatting them twice:
/// every newline serde_json writes is followed by the extra indentation.
struct Indented<'w, W: Write>(&'w mut W);

impl<W: Write> Write for Indented<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut lines = buf.split(|b| *b == b'\n');
        if let Some(first) = lines.next() {
            self.0.write_all(first)?;
        }
        for line in lines {
            self.0.write_all(b"\n    ")?;
            self.0.write_all(line)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
