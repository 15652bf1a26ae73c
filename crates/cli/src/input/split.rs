//! Splitting one input into documents, one line at a time.
//!
//! The splitter never parses YAML: document boundaries in YAML are lines that
//! start with `---` or `...` (a YAML scalar cannot contain such a line), so
//! finding them only needs the first bytes of each line. Lines are read into a
//! reusable buffer and copied once, into the text of their document. JSON
//! values are delimited by counting brackets outside strings.
//!
//! # Broken JSON values
//! Counting brackets alone, a value that never closes would swallow every
//! document after it. A value is known to be broken when
//! - the input ends (or, in a YAML stream, a marker line comes) while it is open;
//! - in a JSON stream, a line ends inside one of its strings (JSON strings
//!   cannot hold a raw line break);
//! - a line that begins with `{` or `[` (in column 1) continues it after what
//!   cannot come before a value: in a JSON stream anything but `[`, `,` and
//!   `:`; in a YAML stream `}`, `]` or `"` on a line without a `#`, as flow
//!   YAML needs a `,` there too.
//!
//! The broken value then ends before the first line after its first line that
//! begins with `{` or `[` (in column 1): that is where a value starts in JSON
//! streams, whether one value a line or pretty-printed with nested values
//! indented. Its text up to there is its document, for the decoder to report
//! the syntax error; the splitting resumes at that line, and the documents are
//! numbered on from the broken one. When that line lies behind, the lines
//! from it on are read again from the broken value's text, which is in memory
//! anyway (see [`LineReader::unread`]). In the last two cases the break shows
//! at the latest on the next line that begins with `{` or `[`; in a stream of
//! values that line starts the next value, so nothing is read again and memory
//! stays flat. Only the first case, and YAML strings left open, keep the rest of
//! the input in memory, as the value's text, up to [`MAX_DOCUMENT_BYTES`].
//! Reading again is limited to about as many bytes as the input has
//! ([`REPLAY_SLACK`] more), so that nested values which never close cannot
//! make the work quadratic; past the limit a broken value ends where the break
//! is found, or at the end of the input. Valid JSON is split as before: none of
//! these happens in it.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::Arc;

use super::{Document, Format, InputError, MAX_DOCUMENT_BYTES, Position, Problem};

/// How many bytes more than the input holds may be read again to recover from broken JSON
/// values (see the module documentation): enough for any real input of a few megabytes to
/// recover from every break, bounded so that the work stays linear in the input.
const REPLAY_SLACK: usize = 1024 * 1024;

/// How the lines of an input are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Syntax {
    /// A YAML stream; bare documents starting with `{` or `[` are JSON values.
    Yaml,
    /// A `.json` file: a JSON stream if its first character is `{` or `[`,
    /// YAML otherwise.
    JsonUnlessNot,
}

/// Splits one input into documents; an iterator of documents and errors.
pub(super) struct Splitter<R> {
    lines: LineReader<R>,
    state: State,
    /// Whether the lines inside a YAML document are taken in one go (only tests turn this off,
    /// to compare with reading them one by one).
    take_blocks: bool,
}

impl<R: Read> Splitter<R> {
    /// Reads with a buffer of `buffer_capacity` bytes, which grows for longer
    /// lines.
    pub(super) fn new(source: Arc<str>, syntax: Syntax, reader: R, buffer_capacity: usize) -> Self {
        let mode = match syntax {
            Syntax::Yaml => Mode::Yaml,
            Syntax::JsonUnlessNot => Mode::Undecided,
        };
        Splitter {
            lines: LineReader::new(reader, buffer_capacity, MAX_DOCUMENT_BYTES),
            state: State {
                source,
                mode,
                max_document_bytes: MAX_DOCUMENT_BYTES,
                line_number: 0,
                cursor: None,
                started: false,
                open: None,
                text: Vec::new(),
                directives_line: None,
                as_written: false,
                preamble_line: None,
                next_index: 0,
                last_length: 0,
                size_hint: None,
                ready: VecDeque::new(),
                done: false,
                replay: None,
                fresh_bytes: 0,
                replayed_bytes: 0,
                replay_slack: REPLAY_SLACK,
            },
            take_blocks: true,
        }
    }

    /// The input is at most `bytes` long (a file's length): a document that grows large is then
    /// given room for the rest of the input at once, rather than doubling its buffer, whose last
    /// step would hold the old buffer and a copy twice its size (a 220 MB `kind: List` peaked at
    /// 384 MB that way). Room not written to is only address space.
    pub(super) fn with_size_hint(mut self, bytes: u64) -> Self {
        self.state.size_hint = Some(usize::try_from(bytes).unwrap_or(usize::MAX));
        self
    }

    /// Keeps every line in the documents, for a reader that writes them out again
    /// (`podsec psp convert`): comments and blank lines before a document are the start of
    /// its text, `...` lines the end of theirs, and documents with nothing but comments (or
    /// only a null) are returned too. Comments after the last document are returned as a
    /// document of their own. Only a byte order mark and `...` lines outside a document are
    /// left out. Document indexes are those of the default mode.
    pub(super) fn keeping_every_line(mut self) -> Self {
        self.state.as_written = true;
        self
    }

    /// Reads every line on its own, as a reference for the tests.
    #[cfg(test)]
    fn line_by_line(mut self) -> Self {
        self.take_blocks = false;
        self
    }

    /// Lowers the size limit of documents, to test it without gigabytes.
    #[cfg(test)]
    fn with_max_document_bytes(mut self, limit: usize) -> Self {
        self.lines.max_line_bytes = limit;
        self.state.max_document_bytes = limit;
        self
    }

    /// Lowers the slack of reading again, to test the limit without megabytes.
    #[cfg(test)]
    fn with_replay_slack(mut self, slack: usize) -> Self {
        self.state.replay_slack = slack;
        self
    }

    /// Reads until something is ready or the input ends.
    fn step(&mut self) {
        self.read_and_process();
        if let Some(bytes) = self.state.replay.take() {
            self.lines.unread(bytes);
        }
    }

    fn read_and_process(&mut self) {
        let state = &mut self.state;
        if !state.started {
            state.started = true;
            match self.lines.skip_byte_order_mark() {
                Ok(ByteOrderMark::Utf16) => {
                    state.fail(Problem::Utf16, Position { line: 1, column: 1 });
                    return;
                }
                Ok(ByteOrderMark::Utf8 | ByteOrderMark::None) => {}
                Err(error) => return state.unreadable(error),
            }
        }
        if self.take_blocks && state.in_block_document() {
            // Inside a YAML document only marker lines matter, and they start with `-` or `.`:
            // the lines before the next such line are taken in one go.
            let (lines, bytes) = self
                .lines
                .advance_over_lines_not_starting_with_dash_or_dot();
            if lines > 0 {
                state.line_number += lines;
                state.append(bytes);
            }
        }
        let at = match state.cursor {
            Some(at) => at,
            None => match self.lines.advance() {
                Ok(Advance::Line) => {
                    state.line_number += 1;
                    0
                }
                Ok(Advance::End) => {
                    state.fresh_bytes = self.lines.fresh_bytes;
                    return state.end_of_input();
                }
                Ok(Advance::LineTooLong) => {
                    // Without the end of the line, the next document cannot
                    // be found either.
                    let position = Position {
                        line: state.line_number + 1,
                        column: 1,
                    };
                    return state.fail(Problem::TooLarge, position);
                }
                Err(error) => return state.unreadable(error),
            },
        };
        state.fresh_bytes = self.lines.fresh_bytes;
        state.cursor = state.process(self.lines.current(), at);
    }
}

impl<R: Read> Iterator for Splitter<R> {
    type Item = Result<Document, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.state.ready.pop_front() {
                return Some(item);
            }
            if self.state.done {
                return None;
            }
            self.step();
        }
    }
}

/// How the lines are being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Yaml,
    Json,
    /// A `.json` file before its first character.
    Undecided,
}

/// The document being collected.
struct OpenDocument {
    index: usize,
    first_line: usize,
    first_column: usize,
    format: Format,
    /// Whether anything but comments, blank lines and markers was seen.
    has_content: bool,
    /// Set while the document is a JSON value whose brackets are open.
    json: Option<JsonScanner>,
    /// For a JSON value: the first line after its first line that begins with `{` or `[`, where
    /// it ends if it turns out to be broken.
    restart: Option<Restart>,
    /// A JSON value in a JSON stream with a line that ended inside a string: it is known to be
    /// broken, its brackets are no longer counted, and it ends before the next line that begins
    /// with `{` or `[`.
    broken: bool,
    /// Set once the document grew beyond the limit and was reported: the
    /// rest of it is read but not kept.
    discarding: bool,
}

/// A line that begins with `{` or `[`, inside a JSON value.
#[derive(Clone, Copy, Debug)]
struct Restart {
    /// Where the line starts in the text of the value.
    offset: usize,
    /// Its 1-based number.
    line: usize,
}

/// Everything but the line reader, so that a line borrowed from the reader
/// can be processed while the state changes.
struct State {
    source: Arc<str>,
    mode: Mode,
    max_document_bytes: usize,
    /// The 1-based number of the current line.
    line_number: usize,
    /// Where to continue in the current line, when it holds more than one
    /// document; `None` to read the next line.
    cursor: Option<usize>,
    started: bool,
    open: Option<OpenDocument>,
    /// The text of the open document, or directives waiting for one.
    text: Vec<u8>,
    /// The line of the first directive waiting for a document.
    directives_line: Option<usize>,
    /// Set by [`Splitter::keeping_every_line`].
    as_written: bool,
    /// In that mode, the line of the first comment or blank line waiting for a document (in
    /// `text`).
    preamble_line: Option<usize>,
    next_index: usize,
    /// The length of the last document, to size the next one's buffer.
    last_length: usize,
    /// The length of the input, when known ([`Splitter::with_size_hint`]).
    size_hint: Option<usize>,
    ready: VecDeque<Result<Document, InputError>>,
    done: bool,
    /// Lines to read again, from the text of a broken JSON value: handed to the line reader
    /// once the current line is processed.
    replay: Option<Vec<u8>>,
    /// The bytes of the input read so far, not counting those read again.
    fresh_bytes: usize,
    /// The bytes read again so far; at most `fresh_bytes + replay_slack`.
    replayed_bytes: usize,
    replay_slack: usize,
}

impl State {
    /// Whether a YAML document with content is open and the next line is to be read: then any
    /// line but a marker line is just part of it.
    fn in_block_document(&self) -> bool {
        self.cursor.is_none()
            && self.mode == Mode::Yaml
            && self
                .open
                .as_ref()
                .is_some_and(|open| open.has_content && open.json.is_none())
    }

    /// Processes `line` from byte `at`; returns where to continue in the same
    /// line, if a document ended before its end.
    fn process(&mut self, line: &[u8], at: usize) -> Option<usize> {
        if self.mode == Mode::Undecided {
            match first_significant_byte(line) {
                None => return None,
                Some(b'{' | b'[') => self.mode = Mode::Json,
                Some(_) => self.mode = Mode::Yaml,
            }
        }
        if self.open.as_ref().is_some_and(|open| open.json.is_some()) {
            // A YAML marker line cannot be part of a JSON value: the value is
            // broken, and ending it here keeps the documents after it.
            if self.mode == Mode::Yaml && at == 0 && marker(line).is_some() {
                if self.end_at_restart(Some(line)) {
                    return None;
                }
                self.end_document();
                return self.yaml_line(line);
            }
            if at == 0 {
                match self.json_line(line) {
                    JsonLine::Continue => {}
                    JsonLine::Taken => return None,
                    JsonLine::StartsValue => {
                        self.end_broken_value();
                        return self.process(line, 0);
                    }
                }
            }
            return self.continue_json(line, at);
        }
        match self.mode {
            Mode::Json => self.between_json_values(line, at),
            _ if at > 0 => self.after_json_value(line, at),
            _ => self.yaml_line(line),
        }
    }

    /// A whole line of a YAML stream, outside JSON values.
    fn yaml_line(&mut self, line: &[u8]) -> Option<usize> {
        let kind = classify(line);
        match (kind, self.open.is_some()) {
            (Line::Start { has_content }, _) => {
                self.end_document();
                self.open_document(1, Format::Yaml, has_content);
                self.append(line);
            }
            (Line::End, true) => {
                if self.as_written {
                    self.append(line);
                }
                self.end_document();
            }
            // A preamble of comments stays for the next document: only directives end here.
            (Line::End, false) if self.as_written && self.directives_line.is_none() => {}
            (Line::End, false) => self.forget_directives(),
            (Line::Directive, false) => {
                self.directives_line.get_or_insert(self.line_number);
                self.append(line);
            }
            (Line::Blank | Line::Comment, false) => {
                if self.as_written {
                    self.preamble_line.get_or_insert(self.line_number);
                    self.append(line);
                }
            }
            (Line::Content, false) => {
                let starts_json = self.directives_line.is_none()
                    && matches!(first_significant_byte(line), Some(b'{' | b'['));
                if starts_json {
                    self.open_document(1, Format::Yaml, true);
                    return self.start_json(line, 0);
                }
                self.open_document(1, Format::Yaml, true);
                self.append(line);
            }
            (kind, true) => {
                if (kind == Line::Content || kind == Line::Directive)
                    && let Some(open) = self.open.as_mut()
                {
                    open.has_content = true;
                }
                self.append(line);
            }
        }
        None
    }

    /// The rest of a line after a JSON value in a YAML stream.
    fn after_json_value(&mut self, line: &[u8], at: usize) -> Option<usize> {
        let rest = &line[at..];
        let start = at + rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        match line.get(start) {
            None | Some(b'#') => None,
            Some(b'{' | b'[') => {
                self.open_document(start + 1, Format::Yaml, true);
                self.start_json(line, start)
            }
            // Not YAML; kept as a document so that decoding reports it.
            Some(_) => {
                self.open_document(start + 1, Format::Yaml, true);
                self.append(&line[start..]);
                None
            }
        }
    }

    /// A line (or its rest) of a JSON stream, between values.
    fn between_json_values(&mut self, line: &[u8], at: usize) -> Option<usize> {
        let start = at
            + line[at..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
        match line.get(start) {
            None => None,
            Some(b'{' | b'[') => {
                self.open_document(start + 1, Format::Json, true);
                self.start_json(line, start)
            }
            Some(_) => {
                let found = first_char(&line[start..]);
                let position = Position {
                    line: self.line_number,
                    column: start + 1,
                };
                self.fail(Problem::NotJson { found }, position);
                None
            }
        }
    }

    /// Looks at a line that continues an open JSON value, before its brackets
    /// are counted: whether it shows the value broken, and where the value then
    /// ends (see the module documentation).
    fn json_line(&mut self, line: &[u8]) -> JsonLine {
        let json_stream = self.mode == Mode::Json;
        let starts_value = matches!(line.first(), Some(b'{' | b'['));
        let Some(open) = self.open.as_ref() else {
            return JsonLine::Continue;
        };
        let in_string = open.json.is_some_and(|scanner| scanner.in_string);
        let broken = open.broken
            || (json_stream && in_string)
            || (starts_value && !in_string && self.cannot_precede_value(json_stream));
        if broken {
            if self.end_at_restart(Some(line)) {
                return JsonLine::Taken;
            }
            if starts_value {
                return JsonLine::StartsValue;
            }
            if let Some(open) = self.open.as_mut() {
                open.broken = true;
            }
            self.append(line);
            return JsonLine::Taken;
        }
        if starts_value
            && let Some(open) = self.open.as_mut()
            && open.restart.is_none()
            && !open.discarding
        {
            open.restart = Some(Restart {
                offset: self.text.len(),
                line: self.line_number,
            });
        }
        JsonLine::Continue
    }

    /// Whether the text of the open JSON value ends with something after which no value can
    /// come (called outside strings, so the last significant byte is outside strings or closes
    /// one). False when the text is not kept.
    fn cannot_precede_value(&self, json_stream: bool) -> bool {
        let Some(last) = self.text.iter().rposition(|b| !b.is_ascii_whitespace()) else {
            return false;
        };
        if json_stream {
            return !matches!(self.text[last], b'[' | b',' | b':');
        }
        // Flow YAML also lets a comment end the line, and the brackets and quotes of comments
        // are not told apart: a line with a `#` proves nothing.
        let line_start = self.text[..last]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |newline| newline + 1);
        matches!(self.text[last], b'}' | b']' | b'"')
            && memchr::memchr(b'#', &self.text[line_start..last]).is_none()
    }

    /// Ends the open JSON value, which is broken, before its first line that begins with `{`
    /// or `[` (after its first line), and has the lines from there on (and `current`, the line
    /// being processed, when there is one) read again. False, and nothing done, when there is
    /// no such line, or it is not in memory, or the limit of reading again is reached.
    fn end_at_restart(&mut self, current: Option<&[u8]>) -> bool {
        let Some(open) = self.open.as_ref() else {
            return false;
        };
        let Some(restart) = open.restart.filter(|_| !open.discarding) else {
            return false;
        };
        let current = current.unwrap_or_default();
        let length = self.text.len() - restart.offset + current.len();
        if self.replayed_bytes + length > self.fresh_bytes.saturating_add(self.replay_slack) {
            return false;
        }
        // The lines to read again keep the text's buffer, which may be large; the value keeps
        // a copy of its part before them, which tends to be small.
        let value = self.text.drain(..restart.offset).collect();
        let mut replay = std::mem::replace(&mut self.text, value);
        replay.extend_from_slice(current);
        self.end_broken_value();
        self.line_number = restart.line - 1;
        self.replayed_bytes += length;
        self.replay = Some(replay);
        true
    }

    /// Ends the open JSON value, broken before the line being processed.
    fn end_broken_value(&mut self) {
        // The decoder reports a value cut short at its end: on its last line
        // without the line breaks after it, rather than on the next value's line.
        let content = self
            .text
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |last| last + 1);
        self.text.truncate(content);
        self.end_document();
    }

    fn start_json(&mut self, line: &[u8], at: usize) -> Option<usize> {
        if let Some(open) = self.open.as_mut() {
            open.json = Some(JsonScanner::default());
        }
        self.continue_json(line, at)
    }

    fn continue_json(&mut self, line: &[u8], at: usize) -> Option<usize> {
        let scanner = self.open.as_mut().and_then(|open| open.json.as_mut())?;
        match scanner.scan(&line[at..]) {
            Some(length) => {
                let end = at + length;
                self.append(&line[at..end]);
                self.end_document();
                (end < line.len()).then_some(end)
            }
            None => {
                self.append(&line[at..]);
                None
            }
        }
    }

    fn open_document(&mut self, first_column: usize, format: Format, has_content: bool) {
        // The text starts with whichever came first: comments kept before the document, or its
        // directives.
        let first_line = match (self.preamble_line.take(), self.directives_line.take()) {
            (Some(preamble), Some(directives)) => preamble.min(directives),
            (preamble, directives) => preamble.or(directives).unwrap_or(self.line_number),
        };
        self.open = Some(OpenDocument {
            index: self.next_index,
            first_line,
            first_column,
            format,
            has_content,
            json: None,
            restart: None,
            broken: false,
            discarding: false,
        });
        self.next_index += 1;
    }

    /// Adds bytes to the open document (or to the waiting directives).
    fn append(&mut self, bytes: &[u8]) {
        if self.text.len() + bytes.len() <= self.max_document_bytes {
            if !self.open.as_ref().is_some_and(|open| open.discarding) {
                let needed = self.text.len() + bytes.len();
                if needed > self.text.capacity()
                    && needed > LARGE_DOCUMENT_BYTES
                    && let Some(hint) = self.size_hint
                {
                    // No document is longer than what it has plus what is left of the input
                    // (nor than the limit).
                    let left = hint.saturating_sub(self.fresh_bytes);
                    let room = (needed + left).min(self.max_document_bytes).max(needed);
                    self.text.reserve_exact(room - self.text.len());
                }
                self.text.extend_from_slice(bytes);
            }
            return;
        }
        self.text = Vec::new();
        let Some(open) = self.open.as_mut() else {
            // Megabytes of directives: not YAML, and not worth keeping.
            self.directives_line = None;
            self.preamble_line = None;
            return;
        };
        if !open.discarding {
            open.discarding = true;
            let error = InputError::Malformed {
                file: self.source.clone(),
                document: open.index,
                position: Position {
                    line: open.first_line,
                    column: open.first_column,
                },
                problem: Problem::TooLarge,
            };
            self.ready.push_back(Err(error));
        }
    }

    fn end_document(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        // Sized like the last document, as documents of one input tend to be
        // alike; capped so that one huge document does not pin its memory.
        let capacity = self.last_length.min(1024 * 1024);
        let text = std::mem::replace(&mut self.text, Vec::with_capacity(capacity));
        self.last_length = text.len();
        // A document that is only a null (`~`, `null`) holds no object: kubectl skips it as it
        // skips an empty one, so it is counted and not returned either.
        if open.discarding
            || (!self.as_written
                && (!open.has_content || (open.format == Format::Yaml && is_null_document(&text))))
        {
            return;
        }
        let item = match String::from_utf8(text) {
            Ok(text) => Ok(Document {
                source: self.source.clone(),
                index: open.index,
                first_line: open.first_line,
                first_column: open.first_column,
                text,
                format: open.format,
            }),
            Err(error) => {
                let bytes = error.as_bytes();
                let valid = &bytes[..error.utf8_error().valid_up_to()];
                let newlines = valid.iter().filter(|&&b| b == b'\n').count();
                let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                let column = valid.len() - line_start + 1;
                Err(InputError::Malformed {
                    file: self.source.clone(),
                    document: open.index,
                    position: Position {
                        line: open.first_line + newlines,
                        column: if newlines == 0 {
                            open.first_column + column - 1
                        } else {
                            column
                        },
                    },
                    problem: Problem::NotUtf8,
                })
            }
        };
        self.ready.push_back(item);
    }

    fn forget_directives(&mut self) {
        self.directives_line = None;
        self.preamble_line = None;
        self.text.clear();
    }

    fn end_of_input(&mut self) {
        // A JSON value still open is broken; what follows its restart line is read again.
        if self.open.as_ref().is_some_and(|open| open.json.is_some()) && self.end_at_restart(None) {
            return;
        }
        self.end_document();
        if self.as_written && !self.text.is_empty() {
            // Comments after the last document: a document of their own, so that they are
            // written out too.
            self.open_document(1, Format::Yaml, false);
            self.end_document();
        }
        self.done = true;
    }

    /// Reports a problem that ends the reading of this input, in the open
    /// document or else in the one that would have come next.
    fn fail(&mut self, problem: Problem, position: Position) {
        let document = self
            .open
            .as_ref()
            .map_or(self.next_index, |open| open.index);
        self.ready.push_back(Err(InputError::Malformed {
            file: self.source.clone(),
            document,
            position,
            problem,
        }));
        self.open = None;
        self.done = true;
    }

    fn unreadable(&mut self, error: io::Error) {
        self.ready.push_back(Err(InputError::Unreadable {
            file: self.source.clone(),
            error,
        }));
        self.open = None;
        self.done = true;
    }
}

/// What [`State::json_line`] found.
enum JsonLine {
    /// Count the line's brackets as part of the value.
    Continue,
    /// The line is dealt with (kept in a broken value, or to be read again).
    Taken,
    /// The value is broken and ends before this line, which starts the next one.
    StartsValue,
}

/// From this size on, a growing document gets room for the rest of the input at once
/// ([`Splitter::with_size_hint`]).
const LARGE_DOCUMENT_BYTES: usize = 1024 * 1024;

/// What a line of a YAML stream is, outside scalars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    /// `---`, perhaps followed by content or a comment.
    Start {
        has_content: bool,
    },
    /// `...`
    End,
    /// `%YAML 1.2`, `%TAG ...`
    Directive,
    Blank,
    Comment,
    Content,
}

/// How a document's text opens, after its comments and blank lines: what a writer of a YAML
/// stream must know to put the document after another one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opening {
    /// With a `---` line.
    Marker,
    /// With directives (`%YAML`), which only the first document of a stream, or one after a
    /// `...` line, may have.
    Directives,
    /// With content, or not at all: a `---` line must go before it.
    Bare,
}

/// See [`Opening`].
pub fn opening(text: &str) -> Opening {
    for line in text.as_bytes().split(|&b| b == b'\n') {
        match classify(line) {
            Line::Blank | Line::Comment => {}
            Line::Start { .. } => return Opening::Marker,
            Line::Directive => return Opening::Directives,
            Line::End | Line::Content => return Opening::Bare,
        }
    }
    Opening::Bare
}

/// Whether a document's text closes with a `...` line (after which the next document may
/// start bare or with directives): its last line that is not blank is one.
pub fn closes(text: &str) -> bool {
    text.as_bytes()
        .split(|&b| b == b'\n')
        .rev()
        .map(classify)
        .find(|line| *line != Line::Blank)
        == Some(Line::End)
}

fn classify(line: &[u8]) -> Line {
    if let Some((kind, rest)) = marker(line) {
        return match kind {
            b'-' => Line::Start {
                has_content: !matches!(classify_rest(rest), Line::Blank | Line::Comment),
            },
            _ => Line::End,
        };
    }
    if line.first() == Some(&b'%') {
        return Line::Directive;
    }
    classify_rest(line)
}

fn classify_rest(bytes: &[u8]) -> Line {
    match first_significant_byte(bytes) {
        None => Line::Blank,
        Some(b'#') => Line::Comment,
        Some(_) => Line::Content,
    }
}

/// Whether a YAML document's only content is a plain null scalar (`~`, `null`, `Null`, `NULL`,
/// also after `---` on its line), among directives, comments and blank lines. Decides on the
/// first content line, so a document of any other kind costs a look at that line only.
fn is_null_document(text: &[u8]) -> bool {
    let mut found_null = false;
    for line in text.split(|&b| b == b'\n') {
        let content = match classify(line) {
            Line::Blank | Line::Comment | Line::Directive | Line::End => continue,
            Line::Start { has_content: false } => continue,
            Line::Start { has_content: true } => &line[3..],
            Line::Content => line,
        };
        // A comment starts at `#` after whitespace; `~#x` would be one plain scalar.
        let end = content
            .windows(2)
            .position(|pair| pair[0].is_ascii_whitespace() && pair[1] == b'#')
            .unwrap_or(content.len());
        let scalar = content[..end].trim_ascii();
        if found_null || !matches!(scalar, b"~" | b"null" | b"Null" | b"NULL") {
            return false;
        }
        found_null = true;
    }
    found_null
}

/// If `line` is a document marker (`---` or `...` followed by whitespace or
/// the end of the line), returns its first byte and what follows it.
fn marker(line: &[u8]) -> Option<(u8, &[u8])> {
    let (head, rest) = line.split_at_checked(3)?;
    if head != b"---" && head != b"..." {
        return None;
    }
    match rest.first() {
        None | Some(b' ' | b'\t' | b'\r' | b'\n') => Some((head[0], rest)),
        Some(_) => None,
    }
}

/// The first byte that is not a space, a tab or a line ending.
fn first_significant_byte(bytes: &[u8]) -> Option<u8> {
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

fn first_char(bytes: &[u8]) -> char {
    let prefix = &bytes[..bytes.len().min(4)];
    let valid = match std::str::from_utf8(prefix) {
        Ok(text) => text,
        Err(error) => std::str::from_utf8(&prefix[..error.valid_up_to()]).unwrap_or_default(),
    };
    valid.chars().next().unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Finds the end of a JSON object or array by counting brackets outside
/// strings. Syntax is left to the decoder; this only has to agree with it
/// on valid JSON. In a YAML flow collection, a bracket inside a
/// single-quoted scalar or a comment is counted too: the document then ends
/// too early or at the next marker line, and decoding reports the error.
#[derive(Clone, Copy, Debug, Default)]
struct JsonScanner {
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl JsonScanner {
    /// Scans the next bytes of the value; returns how many of them belong to
    /// it if it ends among them.
    fn scan(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &byte) in bytes.iter().enumerate() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

enum Advance {
    /// The next line is current.
    Line,
    /// The input ended.
    End,
    /// The next line is longer than the limit.
    LineTooLong,
}

enum ByteOrderMark {
    None,
    Utf8,
    Utf16,
}

/// Reads lines into a buffer that is reused and grows only for lines longer
/// than it.
struct LineReader<R> {
    inner: R,
    buffer: Vec<u8>,
    /// The current line is `buffer[start..end]`.
    start: usize,
    end: usize,
    /// `buffer[..filled]` holds read bytes.
    filled: usize,
    /// `buffer[start..searched]` has no newline.
    searched: usize,
    /// Lines longer than this are not read.
    max_line_bytes: usize,
    eof: bool,
    /// The size the buffer returns to after growing.
    base_capacity: usize,
    /// How many bytes of lines were moved over, not counting those read again.
    fresh_bytes: usize,
    /// How many bytes after the current line are to be read again ([`unread`](Self::unread)).
    unread_ahead: usize,
}

impl<R: Read> LineReader<R> {
    fn new(inner: R, capacity: usize, max_line_bytes: usize) -> Self {
        LineReader {
            inner,
            buffer: vec![0; capacity.max(4)],
            max_line_bytes,
            start: 0,
            end: 0,
            filled: 0,
            searched: 0,
            eof: false,
            base_capacity: capacity.max(4),
            fresh_bytes: 0,
            unread_ahead: 0,
        }
    }

    fn skip_byte_order_mark(&mut self) -> io::Result<ByteOrderMark> {
        while self.filled < 3 && !self.eof && self.fill()? {}
        let head = &self.buffer[..self.filled];
        if head.starts_with(b"\xEF\xBB\xBF") {
            self.start = 3;
            self.end = 3;
            self.searched = 3;
            Ok(ByteOrderMark::Utf8)
        } else if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
            Ok(ByteOrderMark::Utf16)
        } else {
            Ok(ByteOrderMark::None)
        }
    }

    /// Moves to the next line.
    fn advance(&mut self) -> io::Result<Advance> {
        self.start = self.end;
        self.searched = self.searched.max(self.start);
        loop {
            if let Some(newline) = memchr::memchr(b'\n', &self.buffer[self.searched..self.filled]) {
                self.end = self.searched + newline + 1;
                self.searched = self.end;
                self.moved_over(self.end - self.start);
                return Ok(Advance::Line);
            }
            self.searched = self.filled;
            if self.eof {
                self.end = self.filled;
                if self.start == self.filled {
                    return Ok(Advance::End);
                }
                self.moved_over(self.end - self.start);
                return Ok(Advance::Line);
            }
            if !self.fill()? {
                return Ok(Advance::LineTooLong);
            }
        }
    }

    /// Moves over the whole lines already in the buffer after the current one, up to the first
    /// that starts with `-` or `.`; returns how many lines that is and their bytes. The next
    /// [`advance`](Self::advance) reads the line after them.
    fn advance_over_lines_not_starting_with_dash_or_dot(&mut self) -> (usize, &[u8]) {
        let from = self.end;
        let region = &self.buffer[from..self.filled];
        if matches!(region.first(), None | Some(b'-' | b'.')) {
            return (0, &[]);
        }
        let dash = memchr::memmem::find(region, b"\n-");
        let before_dash = &region[..dash.unwrap_or(region.len())];
        let length = match memchr::memmem::find(before_dash, b"\n.").or(dash) {
            Some(newline) => newline + 1,
            // No such line among those here: all the whole lines.
            None => match memchr::memrchr(b'\n', region) {
                Some(newline) => newline + 1,
                None => return (0, &[]),
            },
        };
        let taken = &region[..length];
        let lines = taken.iter().filter(|&&b| b == b'\n').count();
        self.start = from;
        self.end = from + length;
        self.searched = self.end;
        self.moved_over(length);
        (lines, &self.buffer[from..from + length])
    }

    /// Counts `length` bytes of lines as read.
    fn moved_over(&mut self, length: usize) {
        let again = length.min(self.unread_ahead);
        self.unread_ahead -= again;
        self.fresh_bytes += length - again;
    }

    /// Puts `bytes` before what follows the current line, to be read as the next lines: the
    /// lines of a broken JSON value read again. The current line is gone. `bytes` becomes the
    /// buffer, so that they are not copied.
    fn unread(&mut self, bytes: Vec<u8>) {
        self.unread_ahead += bytes.len();
        let mut buffer = bytes;
        buffer.extend_from_slice(&self.buffer[self.end..self.filled]);
        self.filled = buffer.len();
        // Room to read into, as `fill` expects.
        buffer.resize(buffer.capacity().max(self.base_capacity), 0);
        self.buffer = buffer;
        self.start = 0;
        self.end = 0;
        self.searched = 0;
    }

    fn current(&self) -> &[u8] {
        &self.buffer[self.start..self.end]
    }

    /// Reads more bytes after the current line, making room for them;
    /// `false` if the line would grow beyond the limit.
    fn fill(&mut self) -> io::Result<bool> {
        if self.filled == self.buffer.len() {
            if self.start > 0 {
                self.buffer.copy_within(self.start..self.filled, 0);
                self.filled -= self.start;
                self.searched -= self.start;
                self.end -= self.start.min(self.end);
                self.start = 0;
                // Lines read again or a long line grew the buffer: give the memory back.
                if self.buffer.len() > self.base_capacity && self.filled < self.base_capacity / 2 {
                    self.buffer.truncate(self.base_capacity);
                    self.buffer.shrink_to_fit();
                }
            } else if self.buffer.len() >= self.max_line_bytes {
                return Ok(false);
            } else {
                self.buffer.resize(self.buffer.len() * 2, 0);
            }
        }
        loop {
            match self.inner.read(&mut self.buffer[self.filled..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(true);
                }
                Ok(read) => {
                    self.filled += read;
                    return Ok(true);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_closes_with_an_end_marker_line() {
        for (text, closes_it) in [
            ("a: 1\n...\n", true),
            ("a: 1\n... # end\n\n  \n", true),
            ("a: 1\r\n...\r\n", true),
            ("a: 1\n....\n", false),
            ("a: 1\n  ...\n", false),
            ("...\na: 1\n", false),
            ("", false),
        ] {
            assert_eq!(closes(text), closes_it, "{text:?}");
        }
    }

    /// A document as the tests write it: index, first line, first column,
    /// text, format.
    type Expected<'a> = (usize, usize, usize, &'a str, Format);

    fn split(syntax: Syntax, input: &[u8], capacity: usize) -> Vec<Result<Document, InputError>> {
        Splitter::new(Arc::from("test.yaml"), syntax, input, capacity).collect()
    }

    fn documents(syntax: Syntax, input: &str) -> Vec<(usize, usize, usize, String, Format)> {
        // Small buffers exercise lines that straddle reads.
        let small = split(syntax, input.as_bytes(), 4);
        let large = split(syntax, input.as_bytes(), 1 << 16);
        let simplify = |items: Vec<Result<Document, InputError>>| -> Vec<_> {
            items
                .into_iter()
                .map(|item| match item {
                    Ok(d) => (d.index, d.first_line, d.first_column, d.text, d.format),
                    Err(error) => panic!("unexpected error for {input:?}: {error}"),
                })
                .collect()
        };
        let small = simplify(small);
        assert_eq!(
            small,
            simplify(large),
            "buffer size changed the result for {input:?}"
        );
        small
    }

    const Y: Format = Format::Yaml;
    const J: Format = Format::Json;

    #[test]
    fn splits_yaml_streams() {
        let cases: &[(&str, &[Expected])] = &[
            ("", &[]),
            ("\n\n# only a comment\n", &[]),
            ("a: 1\n", &[(0, 1, 1, "a: 1\n", Y)]),
            ("a: 1", &[(0, 1, 1, "a: 1", Y)]),
            (
                "a: 1\n---\nb: 2\n",
                &[(0, 1, 1, "a: 1\n", Y), (1, 2, 1, "---\nb: 2\n", Y)],
            ),
            (
                "---\na: 1\n---\nb: 2\n---\n",
                &[(0, 1, 1, "---\na: 1\n", Y), (1, 3, 1, "---\nb: 2\n", Y)],
            ),
            // A licence header is not a document.
            (
                "# (c) someone\n\n---\na: 1\n",
                &[(0, 3, 1, "---\na: 1\n", Y)],
            ),
            // Empty documents count.
            (
                "a: 1\n---\n---\n# nothing\n---\nb: 2\n",
                &[(0, 1, 1, "a: 1\n", Y), (3, 5, 1, "---\nb: 2\n", Y)],
            ),
            (
                "a: 1\n--- # comment\nb: 2\n",
                &[
                    (0, 1, 1, "a: 1\n", Y),
                    (1, 2, 1, "--- # comment\nb: 2\n", Y),
                ],
            ),
            ("--- !tag\n", &[(0, 1, 1, "--- !tag\n", Y)]),
            (
                "--- {a: 1}\n--- |\n  text\n",
                &[
                    (0, 1, 1, "--- {a: 1}\n", Y),
                    (1, 2, 1, "--- |\n  text\n", Y),
                ],
            ),
            // `...` ends a document; what follows starts one.
            (
                "a: 1\n...\nb: 2\n",
                &[(0, 1, 1, "a: 1\n", Y), (1, 3, 1, "b: 2\n", Y)],
            ),
            (
                "a: 1\n...\n# c\n---\nb: 2\n...\n",
                &[(0, 1, 1, "a: 1\n", Y), (1, 4, 1, "---\nb: 2\n", Y)],
            ),
            // Directives belong to the next document.
            (
                "%YAML 1.1\n---\na: 1\n...\n%YAML 1.2\n%TAG ! tag:x,2000:\n---\nb: 2\n",
                &[
                    (0, 1, 1, "%YAML 1.1\n---\na: 1\n", Y),
                    (1, 5, 1, "%YAML 1.2\n%TAG ! tag:x,2000:\n---\nb: 2\n", Y),
                ],
            ),
            // Not markers.
            (
                "a: |\n  ---\n----\n---x\n",
                &[(0, 1, 1, "a: |\n  ---\n----\n---x\n", Y)],
            ),
            (
                "a: 1\r\n---\r\nb: 2\r\n",
                &[(0, 1, 1, "a: 1\r\n", Y), (1, 2, 1, "---\r\nb: 2\r\n", Y)],
            ),
            ("\u{feff}a: 1\n---\n", &[(0, 1, 1, "a: 1\n", Y)]),
            ("a: 1\n---", &[(0, 1, 1, "a: 1\n", Y)]),
            // Null documents are skipped as kubectl skips them, and counted.
            (
                "~\n---\nnull # nothing\n--- NULL\n---\n# c\nNull\n...\na: 1\n",
                &[(4, 9, 1, "a: 1\n", Y)],
            ),
            // Not null documents.
            (
                "~x\n--- ~\n~\n--- \"null\"\n",
                &[
                    (0, 1, 1, "~x\n", Y),
                    (1, 2, 1, "--- ~\n~\n", Y),
                    (2, 4, 1, "--- \"null\"\n", Y),
                ],
            ),
        ];
        for (input, expected) in cases {
            let expected: Vec<_> = expected
                .iter()
                .map(|&(i, l, c, t, f)| (i, l, c, t.to_owned(), f))
                .collect();
            assert_eq!(documents(Syntax::Yaml, input), expected, "input: {input:?}");
        }
    }

    fn as_written(input: &str) -> Vec<(usize, usize, String)> {
        Splitter::new(Arc::from("test.yaml"), Syntax::Yaml, input.as_bytes(), 4)
            .keeping_every_line()
            .map(|item| match item {
                Ok(d) => (d.index, d.first_line, d.text),
                Err(error) => panic!("unexpected error for {input:?}: {error}"),
            })
            .collect()
    }

    #[test]
    fn as_written_keeps_comments_before_documents_and_empty_documents() {
        /// Index, first line, text.
        type Kept<'a> = (usize, usize, &'a str);
        let cases: &[(&str, &[Kept])] = &[
            (
                "\n\n# only a comment\n",
                &[(0, 1, "\n\n# only a comment\n")],
            ),
            (
                "# head\napiVersion: v1\n",
                &[(0, 1, "# head\napiVersion: v1\n")],
            ),
            (
                "# (c) someone\n\n---\na: 1\n",
                &[(0, 1, "# (c) someone\n\n---\na: 1\n")],
            ),
            // Empty and null documents are returned, with the indexes they always had.
            (
                "a: 1\n---\n---\n# nothing\n---\n~\n---\nb: 2\n",
                &[
                    (0, 1, "a: 1\n"),
                    (1, 2, "---\n"),
                    (2, 3, "---\n# nothing\n"),
                    (3, 5, "---\n~\n"),
                    (4, 7, "---\nb: 2\n"),
                ],
            ),
            // `...` ends its document's text; comments after it start the next one's.
            (
                "a: 1\n...\n# next\nb: 2\n...\n# tail\n",
                &[
                    (0, 1, "a: 1\n...\n"),
                    (1, 3, "# next\nb: 2\n...\n"),
                    (2, 6, "# tail\n"),
                ],
            ),
            (
                "# c\n%YAML 1.2\n---\na: 1\n",
                &[(0, 1, "# c\n%YAML 1.2\n---\na: 1\n")],
            ),
            // A JSON value ends with its bracket (what follows on its line is not kept).
            ("# c\n{\"a\": 1}\n", &[(0, 1, "# c\n{\"a\": 1}")]),
        ];
        for (input, expected) in cases {
            let expected: Vec<_> = expected
                .iter()
                .map(|&(i, l, t)| (i, l, t.to_owned()))
                .collect();
            assert_eq!(as_written(input), expected, "input: {input:?}");
        }
    }

    /// Lines that exercise every kind of line the splitter tells apart.
    fn any_line() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            Just("---".to_owned()),
            Just("--- # c".to_owned()),
            Just("--- {a: 1}".to_owned()),
            Just("...".to_owned()),
            Just("- item".to_owned()),
            Just(".dot".to_owned()),
            Just("----".to_owned()),
            Just("%YAML 1.1".to_owned()),
            Just("# comment".to_owned()),
            Just(String::new()),
            Just("{\"a\": [1,".to_owned()),
            Just("]}".to_owned()),
            Just("[1] {}".to_owned()),
            // Broken JSON values: unclosed, an unterminated string, a value after a value.
            Just("{\"a\": 1".to_owned()),
            Just("{\"u\": \"open".to_owned()),
            Just("\"}".to_owned()),
            Just("[2] [".to_owned()),
            Just("  ],".to_owned()),
            Just("{a: 1, # [c]".to_owned()),
            "[a-z:\\- ]{0,10}",
        ]
    }

    proptest::proptest! {
        /// Written as they are, the documents are the input: block YAML loses nothing, and a
        /// document returned by default has the same index, first line and text after the
        /// comments kept before it.
        #[test]
        fn as_written_documents_are_the_input(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("---".to_owned()),
                    proptest::strategy::Just("--- # c".to_owned()),
                    proptest::strategy::Just("--- {a: 1}".to_owned()),
                    proptest::strategy::Just("- item".to_owned()),
                    proptest::strategy::Just("----".to_owned()),
                    proptest::strategy::Just("# comment".to_owned()),
                    proptest::strategy::Just(String::new()),
                    proptest::strategy::Just("~".to_owned()),
                    "[a-z:\\- ]{0,10}",
                ],
                0..30,
            ),
            final_newline: bool,
        ) {
            let mut input = lines.join("\n");
            if final_newline {
                input.push('\n');
            }
            let kept = as_written(&input);
            let joined: String = kept.iter().map(|(_, _, text)| text.as_str()).collect();
            proptest::prop_assert_eq!(&joined, &input);
            for document in split(Syntax::Yaml, input.as_bytes(), 1 << 16) {
                let document = document.map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
                let same = kept.iter().find(|(index, _, _)| *index == document.index);
                proptest::prop_assert!(
                    same.is_some_and(|(_, line, text)| *line <= document.first_line
                        && text.ends_with(&document.text)),
                    "{:?} not in {:?}", document, kept
                );
            }
        }

        /// The result does not depend on how lines fall into reads, whether the lines of a
        /// document are taken one by one or in one go.
        #[test]
        fn buffer_size_does_not_matter(
            lines in proptest::collection::vec(any_line(), 0..30),
            crlf: bool,
            final_newline: bool,
        ) {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut input = lines.join(end);
            if final_newline {
                input.push_str(end);
            }
            let show = |items: Vec<Result<Document, InputError>>| -> Vec<String> {
                items
                    .into_iter()
                    .map(|item| match item {
                        Ok(d) => format!("{} {} {} {:?} {:?}", d.index, d.first_line, d.first_column, d.text, d.format),
                        Err(error) => error.to_string(),
                    })
                    .collect()
            };
            for syntax in [Syntax::Yaml, Syntax::JsonUnlessNot] {
                let reference = show(
                    Splitter::new(Arc::from("test.yaml"), syntax, input.as_bytes(), 4)
                        .line_by_line()
                        .collect(),
                );
                for capacity in [4, 5, 16, 64, 1 << 16] {
                    proptest::prop_assert_eq!(
                        &show(split(syntax, input.as_bytes(), capacity)),
                        &reference,
                        "capacity {}", capacity
                    );
                }
            }
        }
    }

    #[test]
    fn splits_json_values() {
        let cases: &[(Syntax, &str, &[Expected])] = &[
            (Syntax::Yaml, "{\"a\": 1}\n", &[(0, 1, 1, "{\"a\": 1}", Y)]),
            (
                Syntax::Yaml,
                "{\"a\": \"}\\\"\"}{\"b\": [2]} # c\n[3]",
                &[
                    (0, 1, 1, "{\"a\": \"}\\\"\"}", Y),
                    (1, 1, 13, "{\"b\": [2]}", Y),
                    (2, 2, 1, "[3]", Y),
                ],
            ),
            (
                Syntax::Yaml,
                "{\n  \"a\": 1\n}\n---\nb: 2\n",
                &[
                    (0, 1, 1, "{\n  \"a\": 1\n}", Y),
                    (1, 4, 1, "---\nb: 2\n", Y),
                ],
            ),
            // Flow YAML is found the same way.
            (
                Syntax::Yaml,
                "{a: [1, 2],\n b: c}\n",
                &[(0, 1, 1, "{a: [1, 2],\n b: c}", Y)],
            ),
            // An unbalanced value ends at the next marker.
            (
                Syntax::Yaml,
                "{\"a\": [1\n---\nb: 2\n",
                &[(0, 1, 1, "{\"a\": [1\n", Y), (1, 2, 1, "---\nb: 2\n", Y)],
            ),
            // Something after a value is kept for the decoder to report.
            (
                Syntax::Yaml,
                "{} x\ny: 1\n",
                &[(0, 1, 1, "{}", Y), (1, 1, 4, "x\ny: 1\n", Y)],
            ),
            (
                Syntax::JsonUnlessNot,
                "\n {\"a\": 1}\n\n[1,\n 2]{}",
                &[
                    (0, 2, 2, "{\"a\": 1}", J),
                    (1, 4, 1, "[1,\n 2]", J),
                    (2, 5, 4, "{}", J),
                ],
            ),
            (
                Syntax::JsonUnlessNot,
                "{\"a\": 1",
                &[(0, 1, 1, "{\"a\": 1", J)],
            ),
            // A `.json` file that is YAML is read as YAML.
            (
                Syntax::JsonUnlessNot,
                "# c\na: 1\n---\nb: 2\n",
                &[(0, 2, 1, "a: 1\n", Y), (1, 3, 1, "---\nb: 2\n", Y)],
            ),
        ];
        for (syntax, input, expected) in cases {
            let expected: Vec<_> = expected
                .iter()
                .map(|&(i, l, c, t, f)| (i, l, c, t.to_owned(), f))
                .collect();
            assert_eq!(documents(*syntax, input), expected, "input: {input:?}");
        }
    }

    /// A JSON value that turns out to be broken ends before its first line that
    /// begins with `{` or `[`; what follows is split again from there. Valid
    /// JSON, however its lines begin, splits as before.
    #[test]
    fn recovers_from_broken_json_values() {
        const P2: &str = r#"{"kind":"Pod","metadata":{"name":"p2"}}"#;
        const P3: &str = r#"{"kind":"Pod","metadata":{"name":"p3"}}"#;
        let unclosed = format!("{{\"kind\":\"Pod\",\"spec\":{{\"c\":[1]}}\n{P2}\n{P3}\n");
        let unterminated = format!("{{\"kind\":\"Pod,\"spec\":{{\"c\":[1]}}}}\n{P2}\n{P3}\n");
        let pretty = format!(
            "{{\n  \"kind\": \"Pod\",\n  \"spec\": {{\n    \"c\": [\n      1\n{{\n  \"kind\": \"Pod\"\n}}\n{P3}\n"
        );
        let cases: &[(Syntax, &str, &[Expected])] = &[
            // One value a line, the first without its last bracket: broken where the second
            // begins, after a `}`.
            (
                Syntax::JsonUnlessNot,
                &unclosed,
                &[
                    (0, 1, 1, r#"{"kind":"Pod","spec":{"c":[1]}"#, J),
                    (1, 2, 1, P2, J),
                    (2, 3, 1, P3, J),
                ],
            ),
            // The same on standard input, a YAML stream.
            (
                Syntax::Yaml,
                &unclosed,
                &[
                    (0, 1, 1, r#"{"kind":"Pod","spec":{"c":[1]}"#, Y),
                    (1, 2, 1, P2, Y),
                    (2, 3, 1, P3, Y),
                ],
            ),
            // A string left open takes the line break; in flow YAML that may be fine, so there
            // the value is found broken at the end of the input.
            (
                Syntax::JsonUnlessNot,
                &unterminated,
                &[
                    (0, 1, 1, r#"{"kind":"Pod,"spec":{"c":[1]}}"#, J),
                    (1, 2, 1, P2, J),
                    (2, 3, 1, P3, J),
                ],
            ),
            (
                Syntax::Yaml,
                &unterminated,
                &[
                    (0, 1, 1, r#"{"kind":"Pod,"spec":{"c":[1]}}"#, Y),
                    (1, 2, 1, P2, Y),
                    (2, 3, 1, P3, Y),
                ],
            ),
            // Pretty-printed, cut short inside an array.
            (
                Syntax::JsonUnlessNot,
                &pretty,
                &[
                    (
                        0,
                        1,
                        1,
                        "{\n  \"kind\": \"Pod\",\n  \"spec\": {\n    \"c\": [\n      1",
                        J,
                    ),
                    (1, 6, 1, "{\n  \"kind\": \"Pod\"\n}", J),
                    (2, 9, 1, P3, J),
                ],
            ),
            // Lines that begin with `{` may be inside a value; when the value turns out to be
            // broken further on, it ends before the first of them.
            (
                Syntax::JsonUnlessNot,
                "{\"a\":\n{\"b\": 1}\n{\"c\": 2}\n",
                &[
                    (0, 1, 1, "{\"a\":", J),
                    (1, 2, 1, "{\"b\": 1}", J),
                    (2, 3, 1, "{\"c\": 2}", J),
                ],
            ),
            // Values never closed, nested: each ends before the next line.
            (
                Syntax::JsonUnlessNot,
                "[\n[1,\n[2]\n",
                &[(0, 1, 1, "[", J), (1, 2, 1, "[1,", J), (2, 3, 1, "[2]", J)],
            ),
            // A YAML marker ends a broken value the same way.
            (
                Syntax::Yaml,
                "{\"a\": 1\n{\"b\": 2}\n---\nc: 3\n",
                &[
                    (0, 1, 1, "{\"a\": 1", Y),
                    (1, 2, 1, "{\"b\": 2}", Y),
                    (2, 3, 1, "---\nc: 3\n", Y),
                ],
            ),
            // An unterminated string in a value after another on the same line.
            (
                Syntax::JsonUnlessNot,
                "{} {\"a\": \"x\n  \"b\": 1}\n{}\n",
                &[
                    (0, 1, 1, "{}", J),
                    (1, 1, 4, "{\"a\": \"x\n  \"b\": 1}", J),
                    (2, 3, 1, "{}", J),
                ],
            ),
            // Valid JSON splits as before, also with values beginning lines inside others.
            (
                Syntax::JsonUnlessNot,
                "{\"items\": [\n{\"a\": 1},\n[2]\n], \"b\":\n{}}\n{\n  \"c\": {\n    \"d\": \"{\"\n  }\n}\n",
                &[
                    (
                        0,
                        1,
                        1,
                        "{\"items\": [\n{\"a\": 1},\n[2]\n], \"b\":\n{}}",
                        J,
                    ),
                    (1, 6, 1, "{\n  \"c\": {\n    \"d\": \"{\"\n  }\n}", J),
                ],
            ),
            // Valid flow YAML is not broken by a comment or a quoted scalar running over lines.
            (
                Syntax::Yaml,
                "[a, # see [b]\n[c], \"d\n[e]\"]\n{f: 1}\n",
                &[
                    (0, 1, 1, "[a, # see [b]\n[c], \"d\n[e]\"]", Y),
                    (1, 4, 1, "{f: 1}", Y),
                ],
            ),
        ];
        for (syntax, input, expected) in cases {
            let expected: Vec<_> = expected
                .iter()
                .map(|&(i, l, c, t, f)| (i, l, c, t.to_owned(), f))
                .collect();
            assert_eq!(
                documents(*syntax, input),
                expected,
                "{syntax:?} input: {input:?}"
            );
        }
    }

    /// Any JSON object or array, as a top-level value of a stream.
    fn json_document() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            // Brackets, quotes, escapes and comment signs inside strings.
            "[a{}\\[\\]\"\\\\#:, \n]{0,6}".prop_map(Value::from),
        ];
        let value = leaf.prop_recursive(5, 48, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
                proptest::collection::btree_map("[a{\\[\"]{0,3}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        prop_oneof![
            proptest::collection::vec(value.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{0,3}", value, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    }

    proptest::proptest! {
        /// Valid JSON streams split into exactly their values, however they are laid out: one
        /// value a line, pretty-printed, or pretty-printed with every line moved to column 1, so
        /// that nested values begin lines as broken ones would; as a JSON stream or a YAML one.
        #[test]
        fn valid_json_streams_split_into_their_values(
            values in proptest::collection::vec(json_document(), 1..5),
            layout in 0..3usize,
        ) {
            let texts: Vec<String> = values
                .iter()
                .map(|value| match layout {
                    0 => value.to_string(),
                    1 => serde_json::to_string_pretty(value).unwrap_or_default(),
                    _ => serde_json::to_string_pretty(value)
                        .unwrap_or_default()
                        .lines()
                        .map(str::trim_start)
                        .collect::<Vec<_>>()
                        .join("\n"),
                })
                .collect();
            let input = texts.join("\n") + "\n";
            for syntax in [Syntax::JsonUnlessNot, Syntax::Yaml] {
                let found: Vec<String> = documents(syntax, &input)
                    .into_iter()
                    .map(|(_, _, _, text, _)| text)
                    .collect();
                proptest::prop_assert_eq!(&found, &texts, "{:?}", syntax);
            }
        }
    }

    /// Values that never close, each inside the one before, would each be read
    /// again up to the end: the slack bounds that work, and past it a broken
    /// value ends where the break is found.
    #[test]
    fn reading_again_is_bounded() {
        let input = "[\n".repeat(5000);
        for slack in [0, 100, REPLAY_SLACK] {
            let mut splitter = Splitter::new(
                Arc::from("test.json"),
                Syntax::JsonUnlessNot,
                input.as_bytes(),
                64,
            )
            .with_replay_slack(slack);
            let documents = splitter.by_ref().count();
            assert!(documents >= 1);
            let state = &splitter.state;
            assert!(
                state.replayed_bytes <= state.fresh_bytes + slack,
                "slack {slack}: read {} again, {} once",
                state.replayed_bytes,
                state.fresh_bytes
            );
            assert_eq!(state.fresh_bytes, input.len());
        }
    }

    /// Reads with a 64-byte buffer and documents of at most `limit` bytes.
    fn errors(syntax: Syntax, input: &[u8], limit: usize) -> Vec<String> {
        Splitter::new(Arc::from("test.yaml"), syntax, input, 64)
            .with_max_document_bytes(limit)
            .map(|item| match item {
                Ok(document) => format!("ok {}", document.index),
                Err(error) => error.to_string(),
            })
            .collect()
    }

    #[test]
    fn reports_malformed_documents() {
        let cases: &[(Syntax, &[u8], &[&str])] = &[
            (
                Syntax::Yaml,
                b"a: 1\n---\nb: \xff\n---\nc: 3\n",
                &[
                    "ok 0",
                    "test.yaml: document 1: line 3, column 4: not valid UTF-8",
                    "ok 2",
                ],
            ),
            (
                Syntax::Yaml,
                b"\xff\xfea\x00",
                &[
                    "test.yaml: document 0: line 1, column 1: UTF-16 is not supported; save the file as UTF-8",
                ],
            ),
            (
                Syntax::JsonUnlessNot,
                b"{}\n{} , {}\n",
                &[
                    "ok 0",
                    "ok 1",
                    "test.yaml: document 2: line 2, column 4: expected a JSON object or array, found ','; the rest of the file is not read",
                ],
            ),
            // A broken value ends before the first line inside it that begins with `{`, and
            // what follows is read as a JSON stream again, where a `,` ends the reading.
            (
                Syntax::JsonUnlessNot,
                b"{\"items\": [\n{\"a\": 1},\n{\"b\": 2}\n",
                &[
                    "ok 0",
                    "ok 1",
                    "test.yaml: document 2: line 2, column 9: expected a JSON object or array, found ','; the rest of the file is not read",
                ],
            ),
        ];
        for (syntax, input, expected) in cases {
            assert_eq!(
                errors(*syntax, input, usize::MAX),
                *expected,
                "input: {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn skips_documents_over_the_limit() {
        // The message names the real limit; the test lowers it to 32 bytes.
        let long = format!("b: {}\n", "x".repeat(40));
        let input = format!("a: 1\n---\n{long}---\nc: 3\n");
        assert_eq!(
            errors(Syntax::Yaml, input.as_bytes(), 32),
            [
                "ok 0",
                "test.yaml: document 1: line 2, column 1: the document is larger than 256 MiB",
                "ok 2",
            ]
        );
        let input = format!("{{\"a\": \"{}\"}}\n{{}}\n", "x".repeat(40));
        assert_eq!(
            errors(Syntax::JsonUnlessNot, input.as_bytes(), 32),
            [
                "test.yaml: document 0: line 1, column 1: the document is larger than 256 MiB",
                "ok 1"
            ]
        );
        // A line longer than a document may be ends the input.
        let input = format!("a: 1\n---\nb: {}\n---\nc: 3\n", "x".repeat(100));
        assert_eq!(
            errors(Syntax::Yaml, input.as_bytes(), 32),
            [
                "ok 0",
                "test.yaml: document 1: line 3, column 1: the document is larger than 256 MiB"
            ]
        );
    }
}
