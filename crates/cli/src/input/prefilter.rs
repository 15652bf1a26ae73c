//! Finding, without splitting or parsing, how much of an input a pass looking for a few words
//! must read: nothing when the words cannot occur in it, else the input up to the end of the
//! document that holds the last place they might occur.
//!
//! `podsec check` reads its inputs twice; the first pass only wants Namespaces,
//! PodSecurityPolicies and RBAC objects, which a stream of workloads usually holds few of, or
//! only at its start. Searching the bytes for those words is many times faster than splitting
//! the input into documents.
//!
//! The search must never miss a document that *decodes* to such an object, even when the word
//! is not written out. A scalar's content can differ from its bytes only through
//! - escapes in double-quoted YAML and in JSON strings (`"Name\u0073pace"`, `"\x4e..."`, an
//!   escaped line break joining two lines), all starting with `\`;
//! - tags, all starting with `!`: `!!binary` turns base64 into text, and `%TAG` directives can
//!   spell a tag so that no part of it reads `binary`.
//!
//! Folding (plain, single-quoted and `>` scalars, line breaks in double quotes) only ever joins
//! lines with a space or a line break, block scalars keep their lines, and an alias or merge key
//! repeats text written elsewhere in the same document. So a document decodes to a word only if
//! its text contains the word, a `\` or a `!`: [`may_spell`] is that test, and the input-level
//! search looks for the same things.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use memchr::{memchr_iter, memchr2, memmem, memrchr2};

/// Bytes read at a time while searching.
const CHUNK_BYTES: usize = 256 * 1024;

/// The bytes that may make a scalar's content differ from its text (see the module
/// documentation).
const ESCAPE: u8 = b'\\';
const TAG: u8 = b'!';

/// Whether a document whose text is `text` may decode to something holding `word`: the word is
/// written out, or the text has an escape or a tag that could spell it.
pub fn may_spell(text: &str, word: &str) -> bool {
    let text = text.as_bytes();
    memchr2(ESCAPE, TAG, text).is_some() || memmem::find(text, word.as_bytes()).is_some()
}

/// How much of an input a pass looking for some words must read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Extent {
    /// No document of the input can hold the words.
    Nothing,
    /// Only the documents that start in the first `n` bytes can: the input is cut at the start
    /// of a document marker line (`---` or `...`), which ends any document before it.
    Prefix(u64),
    /// Any document may.
    Whole,
}

/// Searches inputs for a set of words.
pub(super) struct Prefilter {
    finders: Vec<memmem::Finder<'static>>,
    /// The longest word, less one: how far a word may straddle two chunks.
    overlap: usize,
}

impl Prefilter {
    pub(super) fn new(words: &[&'static str]) -> Self {
        Prefilter {
            finders: words
                .iter()
                .map(|w| memmem::Finder::new(w.as_bytes()))
                .collect(),
            overlap: words.iter().map(|w| w.len()).max().unwrap_or(1).max(1) - 1,
        }
    }

    /// How much of `file` must be read, leaving it at its start. `may_be_json_stream` is for a
    /// `.json` file, where marker lines do not end documents: it is read whole or not at all.
    pub(super) fn extent(&self, file: &mut File, may_be_json_stream: bool) -> io::Result<Extent> {
        let extent = match self.last_hit(file)? {
            None => Extent::Nothing,
            Some(_) if may_be_json_stream => Extent::Whole,
            Some(hit) => {
                file.seek(SeekFrom::Start(hit))?;
                match next_marker_line(file)? {
                    Some(end) => Extent::Prefix(hit + end),
                    None => Extent::Whole,
                }
            }
        };
        file.seek(SeekFrom::Start(0))?;
        Ok(extent)
    }

    /// The offset of the last place in `reader` where a word, an escape or a tag starts.
    fn last_hit(&self, reader: &mut impl Read) -> io::Result<Option<u64>> {
        let mut buffer = vec![0; CHUNK_BYTES + self.overlap];
        // `buffer[..kept]` is the end of the previous chunk, at offset `base`.
        let mut kept = 0;
        let mut base = 0u64;
        let mut last = None;
        loop {
            let read = read_full(reader, &mut buffer[kept..])?;
            let filled = kept + read;
            let window = &buffer[..filled];
            let hits = self
                .finders
                .iter()
                .filter_map(|finder| finder.find_iter(window).last())
                .chain(memrchr2(ESCAPE, TAG, window));
            if let Some(hit) = hits.max() {
                last = last.max(Some(base + hit as u64));
            }
            if filled < buffer.len() {
                return Ok(last);
            }
            let carry = self.overlap.min(filled);
            buffer.copy_within(filled - carry..filled, 0);
            base += (filled - carry) as u64;
            kept = carry;
        }
    }
}

/// The offset of the first document marker line that starts after the first byte of `reader`.
fn next_marker_line(reader: &mut impl Read) -> io::Result<Option<u64>> {
    let mut buffer = vec![0; 64 * 1024];
    // `buffer[..filled]` holds unexamined bytes at offset `base`.
    let mut filled = 0;
    let mut base = 0u64;
    loop {
        let read = read_full(reader, &mut buffer[filled..])?;
        filled += read;
        let at_end = filled < buffer.len();
        let window = &buffer[..filled];
        // Where to go on from when the bytes after a line break are not all here yet.
        let mut undecided = filled;
        for newline in memchr_iter(b'\n', window) {
            let line = &window[newline + 1..];
            if line.len() < 4 && !at_end {
                undecided = newline;
                break;
            }
            if is_marker_line(line) {
                return Ok(Some(base + newline as u64 + 1));
            }
        }
        if at_end {
            return Ok(None);
        }
        buffer.copy_within(undecided..filled, 0);
        base += undecided as u64;
        filled -= undecided;
    }
}

/// Whether `line` (and what follows it) starts with a document marker, as the splitter reads
/// them: `---` or `...` followed by a space, a tab, a line ending or the end of the input.
fn is_marker_line(line: &[u8]) -> bool {
    let Some((head, rest)) = line.split_at_checked(3) else {
        return false;
    };
    (head == b"---" || head == b"...")
        && matches!(rest.first(), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
}

/// Reads until `buffer` is full or the input ends; returns how many bytes were read.
fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::split::{Splitter, Syntax};
    use crate::input::{Document, decode};
    use proptest::prelude::*;
    use std::io::Write;
    use std::sync::Arc;

    const WORDS: &[&str] = &[
        "Namespace",
        "PodSecurityPolicy",
        "rbac.authorization.k8s.io",
    ];

    /// The kinds, API versions and names of the documents of `input`, decoded as values.
    fn kinds(input: &[u8], syntax: Syntax) -> Vec<String> {
        Splitter::new(Arc::from("t.yaml"), syntax, input, 64)
            .flatten()
            .filter_map(|document: Document| decode::<serde_json::Value>(&document).ok())
            .map(|value| format!("{value}"))
            .collect()
    }

    fn extent_of(input: &[u8], json: bool) -> Extent {
        let mut file = tempfile::tempfile().unwrap_or_else(|e| panic!("{e}"));
        file.write_all(input).unwrap_or_else(|e| panic!("{e}"));
        file.seek(SeekFrom::Start(0))
            .unwrap_or_else(|e| panic!("{e}"));
        Prefilter::new(WORDS)
            .extent(&mut file, json)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The documents the prefiltered read sees, as the pass looking for `WORDS` uses them:
    /// those that may spell a word, decoded.
    fn seen(input: &[u8], syntax: Syntax) -> Vec<String> {
        let json = syntax == Syntax::JsonUnlessNot;
        let read = match extent_of(input, json) {
            Extent::Nothing => &input[..0],
            Extent::Prefix(n) => &input[..usize::try_from(n).unwrap_or(usize::MAX)],
            Extent::Whole => input,
        };
        wanted(read, syntax)
    }

    fn wanted(input: &[u8], syntax: Syntax) -> Vec<String> {
        Splitter::new(Arc::from("t.yaml"), syntax, input, 64)
            .flatten()
            .filter(|d| WORDS.iter().any(|w| may_spell(&d.text, w)))
            .filter_map(|document| decode::<serde_json::Value>(&document).ok())
            .map(|value| format!("{value}"))
            .collect()
    }

    /// Documents that decode to a word are always among those a prefiltered read sees.
    fn assert_exact(input: &str) {
        for syntax in [Syntax::Yaml, Syntax::JsonUnlessNot] {
            let all = kinds(input.as_bytes(), syntax);
            let seen = seen(input.as_bytes(), syntax);
            for value in &all {
                if WORDS.iter().any(|w| value.contains(w)) {
                    assert!(seen.contains(value), "missed {value} in {input:?}");
                }
            }
            assert_eq!(seen, wanted(input.as_bytes(), syntax), "input: {input:?}");
        }
    }

    #[test]
    fn finds_words_however_they_are_written() {
        let cases = [
            "kind: Namespace\n",
            "kind: Deployment\n---\nkind: Namespace\nmetadata: {name: a}\n---\nkind: Pod\n",
            "kind: \"Name\\u0073pace\"\n",
            "kind: \"Name\\x73pace\"\n",
            "kind: \"Name\\U00000073pace\"\n",
            "kind: \"Name\\\n  space\"\n",
            "{\"kind\": \"Name\\u0073pace\"}\n",
            "{\"kind\":\"PodSecurity\\u0050olicy\"}{\"kind\":\"Pod\"}\n",
            "kind: !!binary TmFtZXNwYWNl\n",
            "%TAG !b! tag:yaml.org,2002:bin\n---\nkind: !b!ary TmFtZXNwYWNl\n---\nkind: Pod\n",
            "k: &k Namespace\nkind: *k\n---\na: 1\n",
            "base: &b {kind: Namespace}\nobj:\n  <<: *b\n---\nx: 1\n",
            "kind: |-\n  Namespace\n---\nkind: Pod\n",
            "kind: Pod\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n...\nkind: Pod\n",
            "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"kind\": \"Namespace\"}]}\n---\nk: v\n",
            "[{\"kind\": \"Namespace\"}]\n[1]\n",
            "kind: Pod\n---\n",
            "kind: Namespace\n---",
            "kind: Namespace\n---x\n---\t\nkind: Pod\n",
            "kind: Namespace\r\n---\r\nkind: Pod\r\n",
            "\u{feff}kind: Namespace\n--- \nkind: Pod\n",
            "kind: Pod\n",
            "",
        ];
        for input in cases {
            assert_exact(input);
        }
    }

    #[test]
    fn reads_only_what_it_must() {
        assert_eq!(
            extent_of(b"kind: Pod\n---\nkind: Service\n", false),
            Extent::Nothing
        );
        let input = b"kind: Namespace\n---\nkind: Pod\n";
        assert_eq!(extent_of(input, false), Extent::Prefix(16));
        assert_eq!(extent_of(input, true), Extent::Whole);
        assert_eq!(
            extent_of(b"kind: Pod\n---\nkind: Namespace\n", false),
            Extent::Whole
        );
        assert_eq!(extent_of(b"a: '#!'\n...\n", false), Extent::Prefix(8));
    }

    #[test]
    fn words_straddling_chunks_are_found() {
        for padding in CHUNK_BYTES - 20..CHUNK_BYTES + 2 {
            let input = format!(
                "a: {}\n---\nkind: PodSecurityPolicy\n---\nkind: Pod\n",
                "x".repeat(padding)
            );
            assert_eq!(
                extent_of(input.as_bytes(), false),
                Extent::Prefix(padding as u64 + 4 + 4 + 24),
                "padding {padding}"
            );
        }
        // A marker whose end is in the next chunk of the marker search.
        for padding in 64 * 1024 - 24..64 * 1024 - 4 {
            let input = format!(
                "kind: Namespace\n#{}\n---\nkind: Pod\n",
                "x".repeat(padding)
            );
            assert_eq!(
                extent_of(input.as_bytes(), false),
                Extent::Prefix(16 + padding as u64 + 2),
                "padding {padding}"
            );
        }
    }

    /// Lines of YAML with words spelled in several ways, among other documents.
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("kind: Namespace".to_owned()),
            Just("kind: \"Name\\u0073pace\"".to_owned()),
            Just("kind: !!binary TmFtZXNwYWNl".to_owned()),
            Just("apiVersion: rbac.authorization.k8s.io/v1".to_owned()),
            Just("kind: PodSecurityPolicy".to_owned()),
            Just("{\"kind\": \"Namespace\"}".to_owned()),
            Just("kind: Pod".to_owned()),
            Just("---".to_owned()),
            Just("...".to_owned()),
            Just("--- # c".to_owned()),
            Just("%YAML 1.1".to_owned()),
            Just("  x: y".to_owned()),
            Just("k: |".to_owned()),
            "[a-z: {}\\[\\]\"-]{0,12}",
        ]
    }

    proptest! {
        #[test]
        fn never_misses_a_document(lines in prop::collection::vec(line(), 0..24), crlf: bool) {
            let end = if crlf { "\r\n" } else { "\n" };
            let input = lines.join(end);
            assert_exact(&input);
        }
    }
}
