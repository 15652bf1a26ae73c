//! The structure of a document: lines, indentation, keys, sequence entries,
//! and the nodes that start after `key:` or `- `.
//!
//! The reader keeps one position in the text and moves forward only. A node
//! is "resolved" when its first token is read: a scalar entirely (it fits on
//! its line, or is a block scalar whose lines are checked right away), a block
//! collection only up to its first entry, so that serde drives the rest. Every
//! node that is read, decoded or skipped is checked with the same code, so
//! that skipping a value never accepts what serde-saphyr would reject.

use super::scalar::{RawScalar, Resolved, check_double_quoted, check_skipped_plain, resolve_plain};
use super::{FastYamlError, Unsupported};

/// Nesting deeper than this is refused; serde-saphyr's budget in `decode`
/// allows 128, and real manifests stay far below.
const MAX_DEPTH: usize = 100;

/// YAML limits implicit keys to 1024 characters; longer keys are left to
/// serde-saphyr and its error.
const MAX_KEY_BYTES: usize = 1000;

/// A node whose first token has been read.
#[derive(Clone, Copy, Debug)]
pub(super) enum Node<'de> {
    Scalar(RawScalar<'de>),
    /// A block mapping whose keys sit at column `indent`; the reader is at
    /// its first key.
    BlockMapping {
        indent: usize,
    },
    /// A block sequence whose `-` sit at column `indent`; the reader is at
    /// the start of the line of its first entry.
    BlockSequence {
        indent: usize,
    },
    /// A one-line flow sequence: the text between the brackets, checked.
    FlowSequence(&'de str),
    /// A one-line flow mapping: the text between the braces, checked.
    FlowMapping(&'de str),
}

/// Where a node starts, which decides what may follow on later lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    /// After `key:`: a block sequence may sit at the mapping's own column.
    MappingValue,
    /// After `-`: `key: value` starts a compact mapping.
    SequenceEntry,
}

/// What the next line that is neither blank nor a comment holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ahead {
    Content {
        start: usize,
        indent: usize,
    },
    /// A `---` or `...` line.
    Marker,
    End,
}

pub(super) struct Reader<'de> {
    text: &'de str,
    pos: usize,
    depth: usize,
    /// Where [`Reader::content_end`] last searched from, and what it found.
    last_line: (usize, usize),
}

impl<'de> Reader<'de> {
    pub(super) fn new(text: &'de str) -> Self {
        Reader {
            text,
            pos: 0,
            depth: 0,
            last_line: (usize::MAX, 0),
        }
    }

    fn bytes(&self) -> &'de [u8] {
        self.text.as_bytes()
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.bytes().get(at).copied()
    }

    /// The end of the line holding `from`, before its `\n` or `\r\n`. The
    /// last answer is kept: a key and its value ask about the same line.
    fn content_end(&mut self, from: usize) -> usize {
        let (searched_from, end) = self.last_line;
        if searched_from <= from && from <= end {
            return end;
        }
        let bytes = self.bytes();
        let newline = find_newline(bytes, from);
        let end = if newline > from && bytes[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        self.last_line = (from, end);
        end
    }

    /// The start of the line after the one that ends at `content_end`.
    fn next_line_start(&self, content_end: usize) -> usize {
        match self.byte(content_end) {
            Some(b'\r') => content_end + 2,
            Some(_) => content_end + 1,
            None => content_end,
        }
        .min(self.text.len())
    }

    fn skip_spaces(&self, mut at: usize, end: usize) -> usize {
        while at < end && self.bytes()[at] == b' ' {
            at += 1;
        }
        at
    }

    /// From the start of a line, skips blank and comment lines; stays at the
    /// start of the next other line.
    fn peek(&mut self) -> Result<Ahead, FastYamlError> {
        loop {
            let start = self.pos;
            if start >= self.text.len() {
                return Ok(Ahead::End);
            }
            let first = self.skip_spaces(start, self.text.len());
            match self.byte(first) {
                None => {
                    self.pos = first;
                    return Ok(Ahead::End);
                }
                Some(b'\n' | b'\r') => self.pos = self.next_line_start(first),
                Some(b'#') => {
                    let end = self.content_end(first);
                    self.pos = self.next_line_start(end);
                }
                Some(b'\t') => return Err(Unsupported::Tab.into()),
                Some(_) if first == start && self.is_marker(start) => return Ok(Ahead::Marker),
                Some(_) => {
                    return Ok(Ahead::Content {
                        start,
                        indent: first - start,
                    });
                }
            }
        }
    }

    /// `---` or `...` at `at`, followed by a space or the end of the line.
    fn is_marker(&self, at: usize) -> bool {
        let marker = self.bytes().get(at..at + 3);
        matches!(marker, Some(b"---" | b"..."))
            && matches!(self.byte(at + 3), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
    }

    /// `-` at `at`, followed by a space or the end of the line.
    fn is_entry(&self, at: usize) -> bool {
        self.byte(at) == Some(b'-')
            && matches!(self.byte(at + 1), None | Some(b' ' | b'\r' | b'\n'))
    }

    /// After a token that ends at `after`: nothing but spaces and a comment
    /// until the end of the line. Moves to the next line.
    fn finish_line(&mut self, after: usize, end: usize) -> Result<(), FastYamlError> {
        let rest = self.skip_spaces(after, end);
        let comment = rest > after && self.byte(rest) == Some(b'#');
        if rest < end && !comment {
            return Err(Unsupported::TrailingContent.into());
        }
        self.pos = self.next_line_start(end);
        Ok(())
    }

    /// Reads up to the root node: blank lines, comments and one `---` line.
    pub(super) fn root(&mut self) -> Result<Node<'de>, FastYamlError> {
        let mut ahead = self.peek()?;
        if ahead == Ahead::Marker && self.text[self.pos..].starts_with("---") {
            let end = self.content_end(self.pos);
            self.finish_line(self.pos + 3, end)?;
            ahead = self.peek()?;
        }
        match ahead {
            Ahead::Content { start, indent } => self.block_collection(start, indent),
            Ahead::Marker | Ahead::End => Err(Unsupported::DocumentShape.into()),
        }
    }

    /// After the root node: blank lines, comments and one `...` line.
    pub(super) fn finish(&mut self) -> Result<(), FastYamlError> {
        let mut ahead = self.peek()?;
        if ahead == Ahead::Marker && self.text[self.pos..].starts_with("...") {
            let end = self.content_end(self.pos);
            self.finish_line(self.pos + 3, end)?;
            ahead = self.peek()?;
        }
        match ahead {
            Ahead::End => Ok(()),
            Ahead::Marker | Ahead::Content { .. } => Err(Unsupported::DocumentShape.into()),
        }
    }

    /// A block collection whose first line starts at `start`, indented by
    /// `indent`: a sequence if it is an entry, else a mapping.
    fn block_collection(
        &mut self,
        start: usize,
        indent: usize,
    ) -> Result<Node<'de>, FastYamlError> {
        if self.is_entry(start + indent) {
            self.pos = start;
            Ok(Node::BlockSequence { indent })
        } else {
            self.pos = start + indent;
            Ok(Node::BlockMapping { indent })
        }
    }

    /// Reads the node that starts at the reader (just after `:` or `-`) in
    /// a collection at column `parent_indent`.
    pub(super) fn resolve(
        &mut self,
        parent_indent: usize,
        slot: Slot,
    ) -> Result<Node<'de>, FastYamlError> {
        let end = self.content_end(self.pos);
        let start = self.skip_spaces(self.pos, end);
        match self.byte(start) {
            Some(b'\t') => Err(Unsupported::Tab.into()),
            _ if start == end || self.byte(start) == Some(b'#') => {
                self.pos = self.next_line_start(end);
                self.resolve_below(parent_indent, slot)
            }
            _ => self.resolve_inline(start, end, parent_indent, slot),
        }
    }

    /// A node on the lines after an empty `key:` or `-`: a more indented
    /// collection, a sequence at the mapping's column, or else null.
    fn resolve_below(
        &mut self,
        parent_indent: usize,
        slot: Slot,
    ) -> Result<Node<'de>, FastYamlError> {
        match self.peek()? {
            Ahead::Content { start, indent } if indent > parent_indent => {
                self.block_collection(start, indent)
            }
            Ahead::Content { start, indent }
                if indent == parent_indent
                    && slot == Slot::MappingValue
                    && self.is_entry(start + indent) =>
            {
                Ok(Node::BlockSequence { indent })
            }
            _ => Ok(Node::Scalar(RawScalar::Plain(""))),
        }
    }

    /// A node that starts at `start` on the current line, which ends at `end`.
    fn resolve_inline(
        &mut self,
        start: usize,
        end: usize,
        parent_indent: usize,
        slot: Slot,
    ) -> Result<Node<'de>, FastYamlError> {
        match self.bytes()[start] {
            b'"' | b'\'' => {
                let (scalar, after) = scan_quoted(self.text, start, end)?;
                let rest = self.skip_spaces(after, end);
                if self.byte(rest) == Some(b':') {
                    return self.compact_mapping(start, slot);
                }
                self.finish_line(after, end)?;
                Ok(Node::Scalar(scalar))
            }
            open @ (b'[' | b'{') => {
                let close = if open == b'[' { b']' } else { b'}' };
                let inner_end = scan_flow(self.text, start + 1, end, close)?;
                let inner = &self.text[start + 1..inner_end];
                let node = if open == b'[' {
                    FlowCursor::new(inner, false).check()?;
                    Node::FlowSequence(inner)
                } else {
                    FlowCursor::new(inner, true).check()?;
                    Node::FlowMapping(inner)
                };
                self.finish_line(inner_end + 1, end)?;
                Ok(node)
            }
            b'|' | b'>' => self.block_scalar(start, end, parent_indent),
            _ if !plain_may_start(self.text, start, end, false) => {
                Err(Unsupported::Indicator.into())
            }
            _ => match scan_plain(self.text, start, end)? {
                PlainLine::Key { .. } => self.compact_mapping(start, slot),
                PlainLine::Value { value_end } => {
                    self.pos = self.next_line_start(end);
                    Ok(Node::Scalar(RawScalar::Plain(&self.text[start..value_end])))
                }
            },
        }
    }

    /// `- key: value`: a mapping whose keys sit at the column of `start`.
    fn compact_mapping(&mut self, start: usize, slot: Slot) -> Result<Node<'de>, FastYamlError> {
        if slot != Slot::SequenceEntry {
            // `key: key: value` is an error in YAML.
            return Err(Unsupported::Indicator.into());
        }
        let line_start = self.text[..start].rfind('\n').map_or(0, |at| at + 1);
        self.pos = start;
        Ok(Node::BlockMapping {
            indent: start - line_start,
        })
    }

    /// A block scalar whose header (`|`, `|-`, `>` or `>-`) is at `start`:
    /// checks its lines and leaves the reader after the last one.
    fn block_scalar(
        &mut self,
        start: usize,
        end: usize,
        parent_indent: usize,
    ) -> Result<Node<'de>, FastYamlError> {
        let folded = self.bytes()[start] == b'>';
        let strip = self.byte(start + 1) == Some(b'-');
        let header_end = start + 1 + usize::from(strip);
        // `|2`, `|+`, `|-2`… are refused here as trailing content.
        self.finish_line(header_end, end)
            .map_err(|_| Unsupported::BlockScalarHeader)?;

        let body_start = self.pos;
        let mut indent = None;
        let mut body_end = None;
        loop {
            let line = self.pos;
            let line_end = self.content_end(line);
            let first = self.skip_spaces(line, line_end);
            let spaces = first - line;
            let Some(content_indent) = indent else {
                // The first line sets the indentation; blank lines before it
                // and an empty scalar are left to serde-saphyr.
                if first == line_end || spaces <= parent_indent || self.byte(first) == Some(b'\t') {
                    return Err(Unsupported::BlockScalarShape.into());
                }
                indent = Some(spaces);
                body_end = Some(self.take_block_line(line_end)?);
                continue;
            };
            if line >= self.text.len() {
                break;
            }
            if first == line_end {
                // Spaces beyond the indentation on an empty line are content
                // (or not, at the end): YAML's subtlest rule, left alone.
                if spaces > content_indent {
                    return Err(Unsupported::BlockScalarShape.into());
                }
                self.pos = self.next_line_start(line_end);
                continue;
            }
            if spaces < content_indent {
                break;
            }
            let more_indented = spaces > content_indent || self.byte(first) == Some(b'\t');
            if folded && more_indented {
                return Err(Unsupported::BlockScalarShape.into());
            }
            body_end = Some(self.take_block_line(line_end)?);
        }
        let (Some(indent), Some(body_end)) = (indent, body_end) else {
            return Err(Unsupported::BlockScalarShape.into());
        };
        self.pos = body_end;
        Ok(Node::Scalar(RawScalar::Block {
            body: &self.text[body_start..body_end],
            indent,
            folded,
            strip,
        }))
    }

    /// Moves past a content line of a block scalar; returns where it ends,
    /// line break included. A last line without a line break is refused.
    fn take_block_line(&mut self, line_end: usize) -> Result<usize, FastYamlError> {
        if line_end >= self.text.len() {
            return Err(Unsupported::BlockScalarShape.into());
        }
        self.pos = self.next_line_start(line_end);
        Ok(self.pos)
    }

    /// The next key of the block mapping at column `indent`, or `None` at its
    /// end; `first` is set while the reader is already at the first key.
    pub(super) fn next_key(
        &mut self,
        indent: usize,
        first: &mut bool,
    ) -> Result<Option<RawScalar<'de>>, FastYamlError> {
        if *first {
            *first = false;
        } else {
            match self.peek()? {
                Ahead::Content { start, indent: at } if at == indent => self.pos = start + at,
                Ahead::Content { indent: at, .. } if at > indent => {
                    return Err(Unsupported::Indentation.into());
                }
                _ => return Ok(None),
            }
        }
        let start = self.pos;
        let end = self.content_end(start);
        let (key, colon) = match self.byte(start) {
            Some(b'"' | b'\'') => {
                let (key, after) = scan_quoted(self.text, start, end)?;
                let colon = self.skip_spaces(after, end);
                let separated = matches!(self.byte(colon + 1), None | Some(b' ' | b'\r' | b'\n'));
                if self.byte(colon) != Some(b':') || !separated {
                    return Err(Unsupported::Indicator.into());
                }
                (key, colon)
            }
            _ if !plain_may_start(self.text, start, end, false) => {
                return Err(Unsupported::Indicator.into());
            }
            _ => match scan_plain(self.text, start, end)? {
                PlainLine::Key { key_end, colon } => {
                    (RawScalar::Plain(&self.text[start..key_end]), colon)
                }
                PlainLine::Value { .. } => return Err(Unsupported::Indicator.into()),
            },
        };
        if colon - start > MAX_KEY_BYTES {
            return Err(Unsupported::LongKey.into());
        }
        check_key(key)?;
        self.pos = colon + 1;
        Ok(Some(key))
    }

    /// Moves into the next entry of the block sequence at column `indent`
    /// (just after its `-`); false at its end.
    pub(super) fn next_entry(&mut self, indent: usize) -> Result<bool, FastYamlError> {
        match self.peek()? {
            Ahead::Content { start, indent: at } if at == indent && self.is_entry(start + at) => {
                self.pos = start + at + 1;
                Ok(true)
            }
            Ahead::Content { indent: at, .. } if at > indent => {
                Err(Unsupported::Indentation.into())
            }
            _ => Ok(false),
        }
    }

    pub(super) fn enter(&mut self) -> Result<(), FastYamlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Unsupported::TooDeep.into());
        }
        Ok(())
    }

    pub(super) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Skips a node, checking it as reading it would, without building
    /// anything.
    pub(super) fn skip(&mut self, node: Node<'de>) -> Result<(), FastYamlError> {
        match node {
            Node::Scalar(RawScalar::Plain(text)) => check_skipped_plain(text),
            Node::Scalar(_) => Ok(()),
            Node::BlockMapping { indent } => {
                self.enter()?;
                let mut first = true;
                while self.next_key(indent, &mut first)?.is_some() {
                    let value = self.resolve(indent, Slot::MappingValue)?;
                    self.skip(value)?;
                }
                self.leave();
                Ok(())
            }
            Node::BlockSequence { indent } => {
                self.enter()?;
                while self.next_entry(indent)? {
                    let entry = self.resolve(indent, Slot::SequenceEntry)?;
                    self.skip(entry)?;
                }
                self.leave();
                Ok(())
            }
            Node::FlowSequence(inner) => FlowCursor::new(inner, false).check(),
            Node::FlowMapping(inner) => FlowCursor::new(inner, true).check(),
        }
    }
}

/// The position of the first `\n` at or after `from`, or the length: eight
/// bytes at a time, since lines are what the reader spends its time on.
fn find_newline(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const NEWLINES: u64 = u64::from_ne_bytes([b'\n'; 8]);
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word) ^ NEWLINES;
        // Non-zero when some byte of `x` is zero, that is a newline.
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            break;
        }
        at += 8;
    }
    bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map_or(bytes.len(), |offset| at + offset)
}

/// Refuses keys whose meaning differs between the fast path and
/// serde-saphyr: plain keys that are not strings (serde-saphyr compares
/// integer keys by value, and treats null keys specially) and the merge key.
fn check_key(key: RawScalar<'_>) -> Result<(), FastYamlError> {
    let text = match key {
        RawScalar::Plain(text) => {
            if !matches!(resolve_plain(text)?, Resolved::Str(_)) {
                return Err(Unsupported::NonStringKey.into());
            }
            text
        }
        RawScalar::SingleQuoted { inner, .. } | RawScalar::DoubleQuoted { inner, .. } => inner,
        RawScalar::Block { .. } => return Err(Unsupported::NonStringKey.into()),
    };
    if text == "<<" {
        return Err(Unsupported::MergeKey.into());
    }
    Ok(())
}

/// Whether a plain scalar may start at `at`: not with an indicator, except
/// `-` and `:` when they are not followed by a space (`-1`, `::1`). In flow
/// collections, where `:` ends keys, `flow` refuses the latter, and a `-`
/// must not be followed by a flow indicator either (`[-,1]` is not YAML).
fn plain_may_start(text: &str, at: usize, end: usize, flow: bool) -> bool {
    let bytes = text.as_bytes();
    match bytes.get(at) {
        Some(b'-') => {
            at + 1 < end
                && !matches!(bytes[at + 1], b' ' | b'\t')
                && !(flow && matches!(bytes[at + 1], b',' | b'[' | b']' | b'{' | b'}'))
        }
        Some(b':') if !flow => at + 1 < end && !matches!(bytes[at + 1], b' ' | b'\t'),
        Some(
            b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
            | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' | b' ' | b'\t',
        ) => false,
        Some(_) => at < end,
        None => false,
    }
}

/// A plain scalar on one line in block context.
enum PlainLine {
    /// `key: …`: the key ends at `key_end` (trailing spaces trimmed), its
    /// `:` is at `colon`.
    Key { key_end: usize, colon: usize },
    /// A value that ends at `value_end`, before spaces and a comment.
    Value { value_end: usize },
}

/// Scans a plain scalar from `at` to the end of its line (`end`).
fn scan_plain(text: &str, at: usize, end: usize) -> Result<PlainLine, FastYamlError> {
    let bytes = text.as_bytes();
    let trim = |mut stop: usize| {
        while stop > at && bytes[stop - 1] == b' ' {
            stop -= 1;
        }
        stop
    };
    let mut i = at;
    while i < end {
        match bytes[i] {
            b':' if i + 1 == end || bytes[i + 1] == b' ' => {
                return Ok(PlainLine::Key {
                    key_end: trim(i),
                    colon: i,
                });
            }
            b'#' if i > at && bytes[i - 1] == b' ' => {
                return Ok(PlainLine::Value { value_end: trim(i) });
            }
            b'\t' => return Err(Unsupported::Tab.into()),
            _ => {}
        }
        i += 1;
    }
    Ok(PlainLine::Value {
        value_end: trim(end),
    })
}

/// Scans a quoted scalar that opens at `at` and closes before `end`;
/// returns it and where it ends (after the closing quote).
fn scan_quoted(text: &str, at: usize, end: usize) -> Result<(RawScalar<'_>, usize), FastYamlError> {
    let bytes = text.as_bytes();
    let quote = bytes[at];
    let mut i = at + 1;
    let mut escaped = false;
    loop {
        match bytes.get(i) {
            _ if i >= end => return Err(Unsupported::MultiLineScalar.into()),
            Some(b'\t') => return Err(Unsupported::Tab.into()),
            Some(b'\'') if quote == b'\'' => {
                if bytes.get(i + 1) == Some(&b'\'') && i + 1 < end {
                    escaped = true;
                    i += 2;
                    continue;
                }
                break;
            }
            Some(b'"') if quote == b'"' => break,
            Some(b'\\') if quote == b'"' => i += 2,
            _ => i += 1,
        }
    }
    let inner = &text[at + 1..i];
    let scalar = if quote == b'"' {
        RawScalar::DoubleQuoted {
            inner,
            escaped: check_double_quoted(inner)?,
        }
    } else {
        RawScalar::SingleQuoted { inner, escaped }
    };
    Ok((scalar, i + 1))
}

/// Finds the `close` bracket of a flow collection that opened before `at`,
/// on the same line; nested collections are refused.
fn scan_flow(text: &str, at: usize, end: usize, close: u8) -> Result<usize, FastYamlError> {
    let bytes = text.as_bytes();
    let mut i = at;
    while i < end {
        match bytes[i] {
            b'"' | b'\'' => i = scan_quoted(text, i, end)?.1,
            b if b == close => return Ok(i),
            b'[' | b']' | b'{' | b'}' | b'#' => return Err(Unsupported::FlowCollection.into()),
            _ => i += 1,
        }
    }
    Err(Unsupported::FlowCollection.into())
}

/// Reads the entries of a one-line flow collection of scalars: `a, "b"` in
/// a sequence, `a: b, c: "d"` in a mapping. No empty entries, no trailing
/// comma, no nesting, `: ` between keys and values.
pub(super) struct FlowCursor<'de> {
    text: &'de str,
    pos: usize,
    mapping: bool,
}

impl<'de> FlowCursor<'de> {
    pub(super) fn new(text: &'de str, mapping: bool) -> Self {
        FlowCursor {
            text,
            pos: 0,
            mapping,
        }
    }

    fn skip_spaces(&mut self) {
        while self.text.as_bytes().get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    /// The next entry: an element, or a key and its value.
    pub(super) fn next_entry(
        &mut self,
    ) -> Result<Option<(RawScalar<'de>, Option<RawScalar<'de>>)>, FastYamlError> {
        self.skip_spaces();
        if self.pos >= self.text.len() {
            return Ok(None);
        }
        let first = self.scalar()?;
        let value = if self.mapping {
            check_key(first)?;
            let bytes = self.text.as_bytes();
            if bytes.get(self.pos) != Some(&b':') || bytes.get(self.pos + 1) != Some(&b' ') {
                return Err(Unsupported::FlowCollection.into());
            }
            self.pos += 1;
            self.skip_spaces();
            Some(self.scalar()?)
        } else {
            None
        };
        match self.text.as_bytes().get(self.pos) {
            None => {}
            Some(b',') => {
                self.pos += 1;
                self.skip_spaces();
                if self.pos >= self.text.len() {
                    // A trailing comma.
                    return Err(Unsupported::FlowCollection.into());
                }
            }
            Some(_) => return Err(Unsupported::FlowCollection.into()),
        }
        Ok(Some((first, value)))
    }

    /// A quoted or plain scalar at the cursor, followed by optional spaces.
    fn scalar(&mut self) -> Result<RawScalar<'de>, FastYamlError> {
        let text = self.text;
        let bytes = text.as_bytes();
        let start = self.pos;
        let scalar = match bytes.get(start) {
            Some(b'"' | b'\'') => {
                let (scalar, after) = scan_quoted(text, start, text.len())?;
                self.pos = after;
                scalar
            }
            _ if !plain_may_start(text, start, text.len(), true) => {
                return Err(Unsupported::FlowCollection.into());
            }
            _ => {
                let mut end = start;
                while end < bytes.len() && bytes[end] != b',' {
                    if matches!(
                        bytes[end],
                        b':' | b'#' | b'\t' | b'[' | b']' | b'{' | b'}' | b'"' | b'\''
                    ) {
                        // A `:` may end a key; anything else here is refused.
                        if self.mapping && bytes[end] == b':' {
                            break;
                        }
                        return Err(Unsupported::FlowCollection.into());
                    }
                    end += 1;
                }
                self.pos = end;
                let value = text[start..end].trim_end_matches(' ');
                RawScalar::Plain(value)
            }
        };
        self.skip_spaces();
        Ok(scalar)
    }

    /// Reads every entry, checking it as reading it would.
    pub(super) fn check(mut self) -> Result<(), FastYamlError> {
        while let Some((first, value)) = self.next_entry()? {
            for scalar in std::iter::once(first).chain(value) {
                if let RawScalar::Plain(text) = scalar {
                    check_skipped_plain(text)?;
                }
            }
        }
        Ok(())
    }
}
