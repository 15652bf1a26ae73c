//! Reading manifests: files, folders and standard input, split into documents.
//!
//! This is the first stage of `podsec check`: it turns the command line's
//! `[PATH|-]...` into a lazy stream of [`Document`]s, and [`decode`](fn@decode) turns one
//! document into any serde type. Expanding `kind: List` and recognising
//! Kubernetes objects happen later, at the object layer.
//!
//! # Inputs
//! - A file named on the command line is read whatever its extension.
//! - A folder is walked depth first in byte order of the entry names, reading
//!   files that end in `.yaml`, `.yml` or `.json` (exactly these, as kubectl
//!   does). Symbolic links to files are read; symbolic links to folders are not
//!   followed, so a link cycle cannot make the walk endless.
//! - `-` is standard input.
//!
//! Only one input is open at a time and only one document is held in memory,
//! so memory stays flat however many documents or files there are.
//!
//! # Documents and their numbering
//! A YAML input is split on document marker lines, as the YAML spec defines
//! them: `---` and `...` at the start of a line, followed by a space, a tab or
//! the end of the line. A `---` line may carry content (`--- !tag`,
//! `--- {a: 1}`) or a comment; it stays in the document text. `%` directive
//! lines before a `---` belong to the document that follows.
//!
//! [`Document::index`] counts the documents of a file the way YAML sees them:
//! every `---` line starts a document, and so does the first content line that
//! is not inside a document (the start of the file, or after a `...` line).
//! Comments and blank lines before the first `---` are not a document, so a
//! file that starts with a licence header and `---` has its first object at
//! index 0, as kubectl counts it. Documents with nothing but comments and
//! blank lines (`---` twice in a row, a trailing `---`), and documents that are
//! only a null (`~`, `null`), as kubectl ignores them, are counted but not
//! returned, so an index names the same document whichever documents before it
//! were empty or had errors.
//!
//! A document that is not opened by `---` and starts with `{` or `[` is read
//! as a JSON value: it ends where its brackets balance, so a JSON stream (one
//! value after the other, on one line or many) is a sequence of documents.
//! A value that turns out to be broken (the input ends while it is open, a
//! string in a JSON stream runs past the end of its line, a line beginning
//! with `{` or `[` follows what cannot come before a value) ends before the
//! first line after its first that begins with `{` or `[`, and the splitting
//! resumes there: one broken value spoils only itself (see `split.rs`).
//! A `.json` file whose first character is `{` or `[` is a JSON stream
//! ([`Format::Json`]); any other `.json` file is read as YAML, as kubectl
//! does.
//!
//! Byte order marks at the start of an input are skipped, CRLF line endings
//! and a missing final newline are fine.
//!
//! # Errors
//! Errors name the input, the document and a line and column counted from the
//! start of the **file**: `manifests/app.yaml: document 2: line 14, column 3:
//! did not find expected key`. A syntax error only spoils its own document; in
//! a JSON stream (a `.json` file), something that is not a JSON object or
//! array ends the reading of that file.
//!
//! # Limits
//! A document may hold at most [`MAX_DOCUMENT_BYTES`]; a larger one is
//! reported and skipped. YAML decoding runs with budgets (see [`decode`](fn@decode)) so
//! that an alias bomb ("billion laughs") is an error instead of gigabytes of
//! memory.

mod decode;
mod fast_yaml;
mod list;
mod prefilter;
mod saphyr_options;
mod split;
#[cfg(test)]
mod tests;
mod walk;

use std::fmt;
use std::io;
use std::sync::Arc;

pub use decode::{DecodeError, Parsed, decode, decode_seed};
pub use list::{ItemResult, decode_without_items, for_each_item};
pub use prefilter::may_spell;
pub use split::{Opening, closes, opening};
pub use walk::{read_documents, read_documents_as_written, read_documents_mentioning};

/// The largest document accepted, in bytes. `kubectl get -A -o yaml` of a
/// big cluster is one document of tens of megabytes, so this is generous.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024 * 1024;

/// The syntax a document is written in, which decides how [`decode`](fn@decode) reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A YAML document. If it is a flow collection that is also valid JSON
    /// (JSON in a `.yaml` file or on standard input), it is decoded as JSON,
    /// which means the same and is much faster.
    Yaml,
    /// One JSON value from a `.json` file.
    Json,
}

/// One document of an input, ready for [`decode`](fn@decode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The input: the path as given on the command line (joined with the
    /// path inside a folder), or `-` for standard input.
    pub source: Arc<str>,
    /// The 0-based position of the document in its input, counting empty
    /// documents too (see the module documentation).
    pub index: usize,
    /// The 1-based line of the input where [`Document::text`] starts.
    pub first_line: usize,
    /// The 1-based column (in bytes) where [`Document::text`] starts on its
    /// first line: 1, except for a JSON value that follows another one on the
    /// same line.
    pub first_column: usize,
    /// The text of the document, including its `---` line and directives.
    pub text: String,
    /// How [`decode`](fn@decode) reads the text.
    pub format: Format,
}

impl Document {
    /// True when the text is written as JSON (its first significant byte opens an object or an
    /// array), whatever the input's format: YAML in flow style is JSON when it parses as JSON.
    pub fn looks_like_json(&self) -> bool {
        matches!(
            self.text.bytes().find(|b| !b.is_ascii_whitespace()),
            Some(b'{' | b'[')
        )
    }

    /// Turns a position inside [`Document::text`] (1-based line and column,
    /// as parsers report them) into a position in the input.
    fn position_in_input(&self, line: usize, column: usize) -> Position {
        let line = line.max(1);
        let column = column.max(1);
        Position {
            line: self.first_line + line - 1,
            column: if line == 1 {
                self.first_column + column - 1
            } else {
                column
            },
        }
    }
}

/// A 1-based line and column in an input. Columns count characters in YAML
/// errors and bytes in JSON errors, as the parsers report them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A problem reading an input, or with the bytes of one of its documents.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A path that cannot be opened, listed or read; `error` says why.
    #[error("{file}: {error}")]
    Unreadable { file: Arc<str>, error: io::Error },
    /// A document that cannot be handed to a parser.
    #[error("{file}: document {document}: {position}: {problem}")]
    Malformed {
        file: Arc<str>,
        document: usize,
        position: Position,
        problem: Problem,
    },
}

impl InputError {
    /// The input the error is about: a path as given (or found in a
    /// folder), or `-`.
    pub fn file(&self) -> &str {
        match self {
            InputError::Unreadable { file, .. } | InputError::Malformed { file, .. } => file,
        }
    }

    /// The index of the document the error is about, if it is about one.
    pub fn document(&self) -> Option<usize> {
        match self {
            InputError::Unreadable { .. } => None,
            InputError::Malformed { document, .. } => Some(*document),
        }
    }
}

/// What is wrong with a [`InputError::Malformed`] document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("not valid UTF-8")]
    NotUtf8,
    #[error("UTF-16 is not supported; save the file as UTF-8")]
    Utf16,
    #[error("the document is larger than {} MiB", MAX_DOCUMENT_BYTES / (1024 * 1024))]
    TooLarge,
    /// A `.json` stream holds something other than objects and arrays;
    /// nothing after it is read.
    #[error("expected a JSON object or array, found {found:?}; the rest of the file is not read")]
    NotJson { found: char },
}
