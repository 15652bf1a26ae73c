//! Decoding one document into a serde type, with errors located in the file.

use std::sync::Arc;

use podsec_admission::yaml_messages::UserMessages;
use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny};
use serde_saphyr::MessageFormatter;

use super::saphyr_options::yaml_options;
use super::{Document, Format, Position, fast_yaml};
use podsec_admission::yaml_strict::Strict;

/// Whether YAML documents go through [`fast_yaml`] before serde-saphyr.
const USE_FAST_YAML: bool = true;

/// A document that could not be decoded: its syntax, its shape, or a budget.
#[derive(Debug, thiserror::Error)]
#[error("{file}: document {document}: {}{message}", located(.position, .field))]
pub struct DecodeError {
    /// The input, as in [`Document::source`].
    pub file: Arc<str>,
    /// The index of the document, as in [`Document::index`].
    pub document: usize,
    /// Where the problem is, counted from the start of the input.
    pub position: Option<Position>,
    /// The field the problem is in, as `spec.containers[0].image` (see [`failing_field`]).
    pub field: Option<String>,
    /// What the parser says, without the position.
    pub message: String,
}

impl DecodeError {
    /// `line L, column C: field: ` as far as they are known, to go before the message.
    pub fn location(&self) -> String {
        located(&self.position, &self.field)
    }
}

fn located(position: &Option<Position>, field: &Option<String>) -> String {
    let mut prefix = position.map(|p| format!("{p}: ")).unwrap_or_default();
    if let Some(field) = field {
        prefix.push_str(field);
        prefix.push_str(": ");
    }
    prefix
}

/// Decodes `document` into `T`: JSON with serde_json, YAML with serde-saphyr.
///
/// YAML is read the way kubectl reads it (YAML 1.1 through go-yaml), where it
/// matters for manifests:
/// - `0644` is octal (420), as in `defaultMode: 0644`;
/// - `yes`, `no`, `on`, `off` are booleans when a boolean is expected;
/// - a quoted scalar is a string: `privileged: "false"` is an error, as the API server's
///   typed decoding of the same manifest as JSON refuses it ([`Strict`]);
/// - a repeated key keeps its last value, which is what the API server
///   stores (it only warns); real manifests have them. serde_json does the
///   same for maps, but a derived struct rejects a repeated field in JSON.
///   (serde-saphyr's "last wins" buffers structs, which costs about a
///   quarter of the decoding speed into structs; its "pass through" policy
///   would be as fast as rejecting duplicates, but its errors for structs
///   have no position.)
///
/// Budgets keep hostile YAML in check while leaving any real manifest alone:
/// alias expansion may replay at most 250,000 events, nesting is limited to
/// 128 levels (like serde_json), and the limits on events, nodes and scalar
/// bytes grow with the size of the document, since their cost is linear in
/// the input.
///
/// A YAML document that is a flow collection is first tried as JSON, which
/// is the same thing when it parses and several times faster. Any other YAML
/// document is first tried with [`fast_yaml`], which reads the block style
/// manifests are written in ten times faster and refuses anything else; on
/// any error from it, serde-saphyr reads the document and reports the error.
pub fn decode<'a, T: Deserialize<'a>>(document: &'a Document) -> Result<T, DecodeError> {
    decode_seed_as(document, std::marker::PhantomData::<T>, true).map(|(value, _)| value)
}

/// [`decode`](fn@decode) through a seed, which may read a part of the document only: its errors
/// are placed in the file as a whole document's are. The fast YAML path is not tried (this
/// serves error reports, where speed does not matter).
pub fn decode_seed<'a, S>(document: &'a Document, seed: S) -> Result<S::Value, DecodeError>
where
    S: DeserializeSeed<'a> + Clone,
{
    decode_seed_as(document, seed, false).map(|(value, _)| value)
}

/// Which parser read a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    Json,
    Yaml,
}

/// [`decode_seed`], trying the fast YAML path first when `fast_yaml` is set (the seed is then
/// run twice when the fast path refuses, so it must not have effects), and saying which parser
/// read the document.
pub(super) fn decode_seed_as<'a, S>(
    document: &'a Document,
    seed: S,
    fast_yaml: bool,
) -> Result<(S::Value, Parsed), DecodeError>
where
    S: DeserializeSeed<'a> + Clone,
{
    let text = document.text.as_str();
    let json = |seed: S| -> Result<S::Value, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let value = seed.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(value)
    };
    let yaml = |seed: S| {
        if USE_FAST_YAML
            && fast_yaml
            && let Ok(value) = fast_yaml::from_str_seed(text, seed.clone())
        {
            return Ok((value, Parsed::Yaml));
        }
        saphyr_seed(text, seed)
            .map(|value| (value, Parsed::Yaml))
            .map_err(|error| yaml_error(document, &error))
    };
    let decoded = match document.format {
        Format::Json => json(seed.clone())
            .map(|value| (value, Parsed::Json))
            .map_err(|e| (json_error(document, &e), Parsed::Json)),
        Format::Yaml if document.looks_like_json() => match json(seed.clone()) {
            Ok(value) => Ok((value, Parsed::Json)),
            Err(error) if error.is_data() => Err((json_error(document, &error), Parsed::Json)),
            Err(_) => yaml(seed.clone()).map_err(|e| (e, Parsed::Yaml)),
        },
        Format::Yaml => yaml(seed.clone()).map_err(|e| (e, Parsed::Yaml)),
    };
    decoded.map_err(|(mut error, parsed)| {
        error.field = failing_field(&document.text, seed, parsed);
        error
    })
}

/// The field where decoding `text` with `seed` fails, as `spec.containers[0].image` (the
/// notation of kubectl's errors); `None` when it fails outside any field, does not fail, or
/// fails on the syntax: like kubectl, a field is named for a value of the wrong shape, and a
/// syntax error is placed by its line and column alone. What counts as syntax is what the
/// parser refuses to skip (`IgnoredAny`), so a value that parses but cannot be what its field
/// holds (`1e400`, a lone surrogate escape, nesting deeper than decoding allows) is named
/// too.
///
/// Found by decoding the document again with the path tracked (serde_path_to_error), by the
/// parser that reported the error: only a document that is refused pays for it. For YAML the
/// lenient reading goes first, as in [`saphyr_seed`]: when it fails too, its error is the one
/// reported.
pub(super) fn failing_field<'a, S: DeserializeSeed<'a> + Clone>(
    text: &'a str,
    seed: S,
    parsed: Parsed,
) -> Option<String> {
    let well_formed = match parsed {
        Parsed::Json => serde_json::from_str::<IgnoredAny>(text).is_ok(),
        Parsed::Yaml => saphyr_from_str::<IgnoredAny>(text).is_ok(),
    };
    if !well_formed {
        return None;
    }
    let mut track = serde_path_to_error::Track::new();
    let failed = match parsed {
        Parsed::Json => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            seed.deserialize(serde_path_to_error::Deserializer::new(
                &mut deserializer,
                &mut track,
            ))
            .is_err()
        }
        Parsed::Yaml => {
            saphyr_seed_tracked(text, seed.clone(), false, &mut track).is_err() || {
                track = serde_path_to_error::Track::new();
                saphyr_seed_tracked(text, seed, true, &mut track).is_err()
            }
        }
    };
    if !failed {
        return None;
    }
    field_path(&track.path())
}

/// `spec.containers[0].image` from a tracked path. A key the parser had not read yet when it
/// failed (a syntax error) is unknown: trailing unknown keys are left out, and a path with an
/// unknown key inside is no path at all.
pub(super) fn field_path(path: &serde_path_to_error::Path) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut segments: Vec<&Segment> = path.iter().collect();
    while matches!(segments.last(), Some(Segment::Unknown)) {
        segments.pop();
    }
    let mut field = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => field.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(key);
            }
            Segment::Unknown => return None,
        }
    }
    (!field.is_empty()).then_some(field)
}

/// serde-saphyr as `decode` runs it: configured by [`yaml_options`], quoted scalars strings
/// ([`Strict`]).
pub(super) fn saphyr_from_str<'a, T: Deserialize<'a>>(
    text: &'a str,
) -> Result<T, serde_saphyr::Error> {
    saphyr_seed(text, std::marker::PhantomData::<T>)
}

/// [`saphyr_from_str`] through a seed, which may run twice (so it must not have effects).
///
/// [`Strict`] refuses through serde's `invalid type` error, which serde-saphyr places at the
/// key rather than at the value. So when the strict reading fails, the document is read again
/// without it: an error there is the one serde-saphyr has always given (`invalid boolean` at
/// the value, say), and only when that reading succeeds is the quoted scalar the problem.
pub(super) fn saphyr_seed<'a, S: DeserializeSeed<'a> + Clone>(
    text: &'a str,
    seed: S,
) -> Result<S::Value, serde_saphyr::Error> {
    saphyr_seed_with(text, seed.clone(), true)
        .map_err(|strict| saphyr_seed_with(text, seed, false).err().unwrap_or(strict))
}

/// serde-saphyr with [`yaml_options`], with [`Strict`] or without.
pub(super) fn saphyr_seed_with<'a, S: DeserializeSeed<'a>>(
    text: &'a str,
    seed: S,
    strict: bool,
) -> Result<S::Value, serde_saphyr::Error> {
    serde_saphyr::with_deserializer_from_str_with_options(text, yaml_options(text.len()), |de| {
        if strict {
            seed.deserialize(Strict(de))
        } else {
            seed.deserialize(de)
        }
    })
}

/// [`saphyr_seed_with`] with the path of the value being read tracked in `track`, for
/// [`failing_field`] once a decoding has failed (tracking costs, so decoding itself does not).
pub(super) fn saphyr_seed_tracked<'a, S: DeserializeSeed<'a>>(
    text: &'a str,
    seed: S,
    strict: bool,
    track: &mut serde_path_to_error::Track,
) -> Result<S::Value, serde_saphyr::Error> {
    serde_saphyr::with_deserializer_from_str_with_options(text, yaml_options(text.len()), |de| {
        let de = serde_path_to_error::Deserializer::new(de, track);
        if strict {
            seed.deserialize(Strict(de))
        } else {
            seed.deserialize(de)
        }
    })
}

pub(super) fn yaml_error(document: &Document, error: &serde_saphyr::Error) -> DecodeError {
    let error = error.without_snippet();
    let position = error
        .location()
        .filter(|location| location.line() > 0)
        .map(|location| {
            document.position_in_input(to_usize(location.line()), to_usize(location.column()))
        });
    let message = UserMessages.format_message(error);
    DecodeError {
        file: document.source.clone(),
        document: document.index,
        position,
        field: None,
        message: printable(&message),
    }
}

pub(super) fn json_error(document: &Document, error: &serde_json::Error) -> DecodeError {
    let message = error.to_string();
    let (position, message) = if error.line() == 0 {
        (None, message)
    } else {
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let message = message.strip_suffix(&suffix).unwrap_or(&message).to_owned();
        (
            Some(document.position_in_input(error.line(), error.column())),
            message,
        )
    };
    DecodeError {
        file: document.source.clone(),
        document: document.index,
        position,
        field: None,
        message: printable(&message),
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Parser messages may quote the input; control characters in it must not
/// reach a terminal.
fn printable(message: &str) -> String {
    message
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::split::{Splitter, Syntax};

    /// Decodes every document of `input` (named `app.yaml` or `app.json`)
    /// into a JSON value; documents as JSON text, errors as messages.
    fn decode_all(syntax: Syntax, input: &str) -> Vec<String> {
        let name = if syntax == Syntax::Yaml {
            "app.yaml"
        } else {
            "app.json"
        };
        Splitter::new(Arc::from(name), syntax, input.as_bytes(), 1024)
            .map(|item| match item {
                Ok(document) => match decode::<serde_json::Value>(&document) {
                    Ok(value) => value.to_string(),
                    Err(error) => error.to_string(),
                },
                Err(error) => error.to_string(),
            })
            .collect()
    }

    #[test]
    fn locates_errors_in_the_file() {
        let cases: &[(Syntax, &str, &[&str])] = &[
            (
                Syntax::Yaml,
                "a: 1\n---\n# two\nb:\n  c: 1\n d: 2\n---\ne: 3\n",
                &[
                    r#"{"a":1}"#,
                    "app.yaml: document 1: line 6, column 2: while parsing a block mapping, did not find expected key",
                    r#"{"e":3}"#,
                ],
            ),
            (
                Syntax::Yaml,
                "a: b: c\n---\nx: *nowhere\n",
                &[
                    "app.yaml: document 0: line 1, column 5: mapping values are not allowed in this context",
                    "app.yaml: document 1: line 3, column 4: alias references unknown anchor",
                ],
            ),
            (
                Syntax::Yaml,
                "\u{feff}a:\r\n\tb: 1\r\n",
                &[
                    "app.yaml: document 0: line 2, column 2: tabs disallowed within this context (block indentation)",
                ],
            ),
            (
                Syntax::JsonUnlessNot,
                "{\"a\": 1}\n{\"b\":\n  [1 2]}\n{\"c\": 3}",
                &[
                    r#"{"a":1}"#,
                    "app.json: document 1: line 3, column 6: expected `,` or `]`",
                    r#"{"c":3}"#,
                ],
            ),
            (
                Syntax::JsonUnlessNot,
                "{}  {\"a\" 1}",
                &[
                    "{}",
                    "app.json: document 1: line 1, column 10: expected `:`",
                ],
            ),
            // A value left open or with a string left open spoils only itself.
            (
                Syntax::JsonUnlessNot,
                "{\"a\": [1\n{\"b\": \"x}\n{\"c\": 3}\n",
                &[
                    "app.json: document 0: line 1, column 8: EOF while parsing a list",
                    "app.json: document 1: line 2, column 9: EOF while parsing a string",
                    r#"{"c":3}"#,
                ],
            ),
            // JSON in YAML, and flow YAML that is not JSON.
            (
                Syntax::Yaml,
                "{\"a\": [1, 2]}\n{a: [x, z]}\n{a: }}\n",
                &[
                    r#"{"a":[1,2]}"#,
                    r#"{"a":["x","z"]}"#,
                    r#"{"a":null}"#,
                    "app.yaml: document 3: line 3, column 6: misplaced bracket",
                ],
            ),
        ];
        for (syntax, input, expected) in cases {
            assert_eq!(decode_all(*syntax, input), *expected, "input: {input:?}");
        }
    }

    #[test]
    fn reads_yaml_like_kubectl() {
        let input = "%YAML 1.1\n---\nmode: 0644\nprivileged: yes\nname: a\nname: b\nbase: &base {x: 1}\nderived:\n  <<: *base\n  y: 2\n";
        assert_eq!(
            decode_all(Syntax::Yaml, input),
            [r#"{"base":{"x":1},"derived":{"x":1,"y":2},"mode":420,"name":"b","privileged":true}"#]
        );
    }

    #[test]
    fn repeated_keys_keep_the_last_value_in_yaml() {
        #[derive(Debug, Deserialize)]
        struct Named {
            name: String,
        }
        let decode_all = |syntax: Syntax, input: &str| -> Vec<Result<String, String>> {
            Splitter::new(Arc::from("f"), syntax, input.as_bytes(), 64)
                .flatten()
                .map(|document| decode::<Named>(&document))
                .map(|result| result.map(|named| named.name).map_err(|e| e.to_string()))
                .collect()
        };
        assert_eq!(
            decode_all(Syntax::Yaml, "name: a\nname: b\n"),
            [Ok("b".to_owned())]
        );
        assert_eq!(
            decode_all(
                Syntax::JsonUnlessNot,
                "{\"name\": \"a\",\n \"name\": \"b\"}"
            ),
            [Err(
                "f: document 0: line 2, column 7: duplicate field `name`".to_owned()
            )]
        );
    }

    #[test]
    fn a_null_string_is_reported_without_rust_advice() {
        #[derive(Debug, Deserialize)]
        #[expect(dead_code, reason = "only decoded")]
        struct Named {
            name: String,
        }
        for (syntax, input, expected) in [
            (
                Syntax::Yaml,
                "\nname:\n",
                "f: document 0: line 2, column 5: name: invalid type: null, expected a string",
            ),
            (
                Syntax::Yaml,
                "name: ~\n",
                "f: document 0: line 1, column 7: name: invalid type: null, expected a string",
            ),
            (
                Syntax::JsonUnlessNot,
                "{\"name\": null}",
                "f: document 0: line 1, column 13: name: invalid type: null, expected a string",
            ),
        ] {
            let messages: Vec<String> = Splitter::new(Arc::from("f"), syntax, input.as_bytes(), 64)
                .flatten()
                .map(|document| match decode::<Named>(&document) {
                    Ok(named) => format!("{named:?}"),
                    Err(error) => error.to_string(),
                })
                .collect();
            assert_eq!(messages, [expected], "{input:?}");
        }
    }

    /// Decodes every document of `input` as a Kubernetes object: `ok` or the error.
    fn decode_objects(input: &str) -> Vec<String> {
        Splitter::new(Arc::from("f"), Syntax::Yaml, input.as_bytes(), 64)
            .flatten()
            .map(
                |document| match decode::<podsec_admission::Object>(&document) {
                    Ok(_) => "ok".to_owned(),
                    Err(error) => error.to_string(),
                },
            )
            .collect()
    }

    #[test]
    fn quoted_scalars_are_not_booleans_or_numbers() {
        let pod = |fields: &str| {
            format!("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: c\n{fields}")
        };
        let cases = [
            (
                pod("    securityContext: {privileged: \"false\"}\n"),
                "f: document 0: line 6, column 23: spec.containers[0].securityContext.privileged: invalid type: string \"false\", expected a boolean",
            ),
            (
                pod("    securityContext:\n      privileged: 'true'\n"),
                "f: document 0: line 7, column 7: spec.containers[0].securityContext.privileged: invalid type: string \"true\", expected a boolean",
            ),
            (
                pod("    securityContext:\n      runAsUser: \"0\"\n"),
                "f: document 0: line 7, column 7: spec.containers[0].securityContext.runAsUser: invalid type: string \"0\", expected i64",
            ),
            (
                pod("    ports:\n    - containerPort: 80\n      hostPort: \"8080\"\n"),
                "f: document 0: line 8, column 7: spec.containers[0].ports[0].hostPort: invalid type: string \"8080\", expected i32",
            ),
            (
                "apiVersion: v1\nkind: Pod\nspec:\n  hostNetwork: \"false\"\n".to_owned(),
                "f: document 0: line 4, column 3: spec.hostNetwork: invalid type: string \"false\", expected a boolean",
            ),
            // Also off the fast path (an anchor sends the document to serde-saphyr alone).
            (
                "apiVersion: v1\nkind: Pod\nspec: &s\n  hostPID: \"true\"\n".to_owned(),
                "f: document 0: line 4, column 3: spec.hostPID: invalid type: string \"true\", expected a boolean",
            ),
            // Plain scalars are typed as before: YAML 1.1 booleans, octal, hexadecimal.
            (
                pod("    securityContext: {privileged: no, runAsUser: 0644}\n    ports:\n    - {containerPort: 0x50, hostPort: 8080}\n"),
                "ok",
            ),
            (
                "apiVersion: v1\nkind: Pod\nspec: &s\n  hostPID: yes\n  securityContext: {runAsUser: 0}\n".to_owned(),
                "ok",
            ),
        ];
        // Positions are those of the key, where serde-saphyr places a field's errors.
        let (inputs, expected): (Vec<String>, Vec<&str>) = cases.into_iter().unzip();
        let found: Vec<String> = inputs
            .iter()
            .flat_map(|input| decode_objects(input))
            .collect();
        assert_eq!(found, expected);
        // The same documents as JSON are refused with the same words.
        let json = r#"{"kind":"Pod","spec":{"hostNetwork":"false"}}"#;
        let error = serde_json::from_str::<podsec_admission::Object>(json).expect_err("refused");
        assert!(
            error
                .to_string()
                .starts_with(r#"invalid type: string "false", expected a boolean"#),
            "{error}"
        );
    }

    #[test]
    fn stops_alias_bombs() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (name, previous) in ('b'..='j').zip('a'..) {
            let aliases = vec![format!("*{previous}"); 10].join(", ");
            bomb.push_str(&format!("{name}: &{name} [{aliases}]\n"));
        }
        let started = std::time::Instant::now();
        let result = decode_all(Syntax::Yaml, &bomb);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert_eq!(result.len(), 1);
        assert!(
            result[0].starts_with("app.yaml: document 0: line "),
            "{}",
            result[0]
        );
    }
}
