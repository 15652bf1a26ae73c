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
///
/// Both are written [`UntilClosed`]: a reader that goes away does not end the run.
pub fn sink<'w, W: Write + IsTerminal + 'w>(
    format: OutputFormat,
    color: ColorChoice,
    out: W,
) -> Box<dyn Sink + 'w> {
    match format {
        OutputFormat::Json => Box::new(json::JsonSink::new(UntilClosed::new(out))),
        OutputFormat::Text => {
            let colored = match color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    out.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                }
            };
            Box::new(text::TextSink::new(
                io::BufWriter::with_capacity(64 * 1024, UntilClosed::new(out)),
                UntilClosed::new(io::stderr()),
                colored,
            ))
        }
    }
}

/// A writer that discards everything once its reader has gone away (`podsec check … | head`).
///
/// A closed pipe is not a reason to stop: the exit status tells the verdicts on the whole input,
/// and scripts read it even when they read only the start of the report. Nor is it worth a
/// message, as the reader chose to leave. Any other write error is passed on.
pub struct UntilClosed<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> UntilClosed<W> {
    pub fn new(inner: W) -> Self {
        UntilClosed {
            inner,
            closed: false,
        }
    }

    fn discard_if_closed<T>(&mut self, result: io::Result<T>, discarded: T) -> io::Result<T> {
        match result {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(discarded)
            }
            result => result,
        }
    }
}

impl<W: Write> Write for UntilClosed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let result = self.inner.write(buf);
        self.discard_if_closed(result, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = self.inner.flush();
        self.discard_if_closed(result, ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails every call with `kind` and counts the calls.
    struct Failing {
        kind: io::ErrorKind,
        calls: usize,
    }

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            self.calls += 1;
            Err(self.kind.into())
        }

        fn flush(&mut self) -> io::Result<()> {
            self.calls += 1;
            Err(self.kind.into())
        }
    }

    #[test]
    fn a_closed_pipe_is_written_no_more_and_other_errors_pass() {
        let mut closed = UntilClosed::new(Failing {
            kind: io::ErrorKind::BrokenPipe,
            calls: 0,
        });
        assert!(closed.write_all(b"report").is_ok());
        assert!(closed.flush().is_ok());
        assert!(writeln!(closed, "more").is_ok());
        assert_eq!(closed.inner.calls, 1, "not written after the pipe broke");

        let mut full = UntilClosed::new(Failing {
            kind: io::ErrorKind::StorageFull,
            calls: 0,
        });
        assert_eq!(
            full.write_all(b"report").map_err(|e| e.kind()),
            Err(io::ErrorKind::StorageFull)
        );
        assert_eq!(
            full.flush().map_err(|e| e.kind()),
            Err(io::ErrorKind::StorageFull)
        );
    }
}
