//! A fast path for the YAML that manifests are really written in.
//!
//! serde-saphyr reads any YAML, at about 15 MB/s. Almost every manifest uses
//! a small, regular part of YAML, which this module reads at more than ten
//! times that speed: a `serde::Deserializer` straight over the text of one
//! document, borrowing its strings and skipping ignored values without
//! building anything. [`decode`](fn@super::decode) tries it first and falls back
//! to serde-saphyr whenever it returns an error, so that messages and
//! positions stay serde-saphyr's.
//!
//! The rule is that the fast path never produces a value that serde-saphyr
//! (as `decode` configures it) would not: it **refuses** ([`Unsupported`])
//! whatever lies outside its subset or whatever it is not sure to read the
//! same way, including input serde-saphyr would reject. Tests compare both on
//! the shared corpus, on tables of constructs and on generated documents.
//!
//! # The subset
//! - One document: blank lines, comments, one `---` line (with a comment at
//!   most) before it, one `...` line after it. Its root is a block mapping or
//!   a block sequence.
//! - Block mappings and sequences, indented with spaces: `key: value`,
//!   `- entry`, compact mappings in sequences (`- name: a`), sequences at
//!   their key's column (`key:` then `- a`), empty values (null).
//! - Keys: plain or quoted scalars that are strings (not `1`, `true`, `~`),
//!   not `<<`, at most 1000 bytes.
//! - Scalars on one line: plain, single-quoted, double-quoted with YAML's
//!   escapes; typed as serde-saphyr types them (YAML 1.1 booleans, legacy
//!   octal `0644`, `0x1F`, floats; non-finite floats are refused).
//! - Block scalars `|`, `|-`, `>`, `>-` with an indentation found from their
//!   first line; no leading empty lines, no more indented lines in folded
//!   scalars, a line break after the last line.
//! - Flow collections on one line holding scalars only: `[]`, `{}`,
//!   `["ALL"]`, `{app: api}`.
//! - Comments at the end of lines and on lines of their own.
//!
//! Refused, among others: anchors, aliases, tags, directives, `?` keys,
//! merge keys, plain scalars that start with an indicator (other than `-`
//! or `:` before a non-space, as in `-1` or `::1`), scalars alone on the
//! line after their key, multi-line plain and quoted scalars, nested flow
//! collections, flow collections spanning lines, documents over 32 MiB,
//! tabs outside block scalars and comments, keep chomping (`|+`), explicit
//! indentation indicators, repeated keys in structs (serde-saphyr reorders
//! their entries), nesting beyond 100 levels, control characters, byte order
//! marks and YAML 1.1 line breaks (U+0085, U+2028, U+2029).

mod de;
mod reader;
mod scalar;
#[cfg(test)]
mod tests;

use serde::de::DeserializeSeed;

use de::NodeDeserializer;
use reader::Reader;

/// Larger documents are left to serde-saphyr, whose budgets in `decode` do
/// not all grow with the size of the document (comments are limited to
/// 64 MiB in all).
const MAX_FAST_DOCUMENT_BYTES: usize = 32 * 1024 * 1024;

/// Why the fast path did not produce a value.
#[derive(Debug, thiserror::Error)]
pub enum FastYamlError {
    /// The document leaves the subset; serde-saphyr must read it.
    #[error("outside the fast path's subset: {0}")]
    Unsupported(#[from] Unsupported),
    /// The document does not fit the type (or breaks a rule of the type);
    /// serde-saphyr reads it again to report this with a position.
    #[error("{0}")]
    Data(String),
}

impl serde::de::Error for FastYamlError {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        FastYamlError::Data(message.to_string())
    }
}

/// What in a document made the fast path refuse it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    #[error("a document larger than the fast path reads")]
    TooLarge,
    #[error("a control character, byte order mark or YAML 1.1 line break")]
    Character,
    #[error("a tab")]
    Tab,
    #[error("a document that is not one block mapping or sequence")]
    DocumentShape,
    #[error("content after a node on its line")]
    TrailingContent,
    #[error("an indicator, anchor, alias, tag or key where it is not read")]
    Indicator,
    #[error("a key that is not a string")]
    NonStringKey,
    #[error("a merge key")]
    MergeKey,
    #[error("a key longer than 1000 bytes")]
    LongKey,
    #[error("a key repeated in a struct")]
    RepeatedKey,
    #[error("a scalar on more than one line")]
    MultiLineScalar,
    #[error("an escape sequence")]
    Escape,
    #[error("a block scalar header other than |, |-, > or >-")]
    BlockScalarHeader,
    #[error("an empty, more indented or unterminated block scalar")]
    BlockScalarShape,
    #[error("a flow collection that is nested, spans lines or holds odd scalars")]
    FlowCollection,
    #[error("a line indented like no node it could belong to")]
    Indentation,
    #[error("nesting deeper than 100 levels")]
    TooDeep,
    #[error("a non-finite float where no type is asked for")]
    NonFiniteFloat,
    #[error("a type the fast path does not decode")]
    Request,
}

impl FastYamlError {
    /// True when the document leaves the subset (as opposed to not fitting
    /// the type).
    #[cfg(test)]
    pub fn is_unsupported(&self) -> bool {
        matches!(self, FastYamlError::Unsupported(_))
    }
}

/// Decodes one YAML document into `T`, or refuses: [`from_str_seed`] for the tests (decoding
/// goes through `decode::decode_seed_as`).
#[cfg(test)]
pub fn from_str<'de, T: serde::Deserialize<'de>>(text: &'de str) -> Result<T, FastYamlError> {
    from_str_seed(text, std::marker::PhantomData::<T>)
}

/// Decodes one YAML document through `seed`, or refuses.
pub fn from_str_seed<'de, S: DeserializeSeed<'de>>(
    text: &'de str,
    seed: S,
) -> Result<S::Value, FastYamlError> {
    if text.len() > MAX_FAST_DOCUMENT_BYTES {
        return Err(Unsupported::TooLarge.into());
    }
    check_characters(text)?;
    let mut reader = Reader::new(text);
    let node = reader.root()?;
    let value = seed.deserialize(NodeDeserializer {
        reader: &mut reader,
        node,
    })?;
    reader.finish()?;
    Ok(value)
}

/// Refuses what YAML does not allow in a document, or reads as a line break
/// where the fast path would not: control characters other than tab and
/// line feed, a carriage return not followed by a line feed, DEL, C1
/// controls (U+0085 among them), U+2028, U+2029, U+FEFF, U+FFFE, U+FFFF.
fn check_characters(text: &str) -> Result<(), FastYamlError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Most text is printable ASCII and line feeds: pass 32 such bytes at a time (the
        // branch-free fold lets the compiler vectorise it).
        if let Some(chunk) = bytes.get(i..i + 32)
            && chunk.iter().fold(true, |plain, &b| {
                plain & ((b.wrapping_sub(0x20) < 0x5f) | (b == b'\n'))
            })
        {
            i += 32;
            continue;
        }
        let b = bytes[i];
        if (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t' || (0xc3..0xe2).contains(&b) {
            i += 1;
            continue;
        }
        let next = bytes.get(i + 1).copied();
        let refused = match b {
            b'\r' => next != Some(b'\n'),
            0xc2 => matches!(next, Some(0x80..=0x9f)),
            0xe2 => next == Some(0x80) && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)),
            0xef => matches!(
                (next, bytes.get(i + 2)),
                (Some(0xbb), Some(0xbf)) | (Some(0xbf), Some(0xbe | 0xbf))
            ),
            0x80.. => false,
            _ => true,
        };
        if refused {
            return Err(Unsupported::Character.into());
        }
        i += 1;
    }
    Ok(())
}
