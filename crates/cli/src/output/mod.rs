//! Output formats of `podsec check`, one module each, all fed the same report stream.

mod fixes;
mod json;
mod text;

use std::io::{self, IsTerminal, Write};

use crate::args::{ColorChoice, OutputFormat};
use crate::report::{ErrorReport, ObjectReport, Summary};

/// Receives the report as it is produced.
pub trait Sink {
    fn object(&mut self, report: &ObjectReport) -> io::Result<()>;
    fn error(&mut self, error: &ErrorReport) -> io::Result<()>;
    fn finish(&mut self, summary: &Summary) -> io::Result<()>;
}

/// The sink for `format`, writing to standard output (text errors go to standard error).
pub fn sink<'w, W: Write + IsTerminal + 'w>(
    format: OutputFormat,
    color: ColorChoice,
    out: W,
) -> Box<dyn Sink + 'w> {
    match format {
        OutputFormat::Json => Box::new(json::JsonSink::new(out)),
        OutputFormat::Text => {
            let colored = match color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    out.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                }
            };
            Box::new(text::TextSink::new(
                io::BufWriter::with_capacity(64 * 1024, out),
                io::stderr(),
                colored,
            ))
        }
    }
}
