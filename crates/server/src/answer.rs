//! The answer's HTTP body: the AdmissionReview response as JSON and a newline, byte for byte
//! what `serde_json` writes for it, without going through serde for the common answers.
//!
//! An answer is mostly text to escape: a warning and the `audit-violations` annotation each
//! repeat the violation list, full of quotes. `serde_json` looks at that text a byte at a time;
//! here it is copied eight bytes at a time, each word checked at once for the three things JSON
//! escapes (`"`, `\` and control characters), which is most of what writing an answer costs,
//! and a warning that repeats the annotation's text is copied from the annotation's escaped
//! bytes. Answers with a patch or status causes (mutations, invalid namespace labels) go
//! through `serde_json` itself. Every field is destructured without `..`, so a field added to the
//! response types fails to compile here instead of being left out of answers.

use std::cell::RefCell;
use std::ops::Range;

use axum::body::Bytes;
use podsec_admission::AdmissionReview;
use podsec_admission::admit::ANNOTATION_AUDIT_VIOLATIONS;
use podsec_admission::review::{AdmissionResponse, Status, StatusDetails};

/// `reply` as JSON plus a newline (as Go's `json.Encoder` ends it), in one allocation of exactly
/// its size.
///
/// It is written into a buffer kept per thread and copied out once: a `Vec` grown by doubling
/// from a guess costs several reallocations, and a `Bytes` made from a `Vec` with spare
/// capacity allocates again to share it.
pub fn encode(reply: &AdmissionReview) -> Result<Bytes, serde_json::Error> {
    /// A buffer grown beyond this (a large patch) is not kept for the next answer.
    const KEEP: usize = 64 * 1024;
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(4096));
    }
    BUFFER.with(|buffer| {
        // Encoding never comes back here, so the buffer is never already borrowed; were it,
        // a fresh one does the job.
        let mut own = Vec::new();
        let mut borrowed = buffer.try_borrow_mut();
        let out = match borrowed.as_deref_mut() {
            Ok(out) => out,
            Err(_) => &mut own,
        };
        out.clear();
        let encoded = write(out, reply).map(|()| {
            out.push(b'\n');
            Bytes::copy_from_slice(out)
        });
        if out.capacity() > KEEP {
            *out = Vec::new();
        }
        encoded
    })
}

/// Appends `reply` as JSON (no newline) to `out`.
fn write(out: &mut Vec<u8>, reply: &AdmissionReview) -> Result<(), serde_json::Error> {
    let AdmissionReview {
        api_version,
        kind,
        request,
        response,
    } = reply;
    let simple = request.is_none()
        && response.as_ref().is_some_and(|response| {
            response.patch.is_none()
                && response.patch_type.is_none()
                && response.status.as_ref().is_none_or(|status| {
                    status
                        .details
                        .as_ref()
                        .is_none_or(|details| details.causes.is_empty())
                })
        });
    if !simple {
        return serde_json::to_writer(out, reply);
    }
    out.extend_from_slice(b"{\"apiVersion\":");
    string(out, api_version);
    out.extend_from_slice(b",\"kind\":");
    string(out, kind);
    if let Some(response) = response {
        out.extend_from_slice(b",\"response\":");
        write_response(out, response);
    }
    out.push(b'}');
    Ok(())
}

/// A response without patch or status details (see [`write`]).
fn write_response(out: &mut Vec<u8>, response: &AdmissionResponse) {
    let AdmissionResponse {
        uid,
        allowed,
        status,
        patch: _,
        patch_type: _,
        audit_annotations,
        warnings,
    } = response;
    out.extend_from_slice(b"{\"uid\":");
    string(out, uid);
    out.extend_from_slice(if *allowed {
        b",\"allowed\":true"
    } else {
        b",\"allowed\":false"
    });
    if let Some(status) = status {
        out.extend_from_slice(b",\"status\":");
        write_status(out, status);
    }
    // With audit and warn at the same level and version (the usual configuration), the
    // `audit-violations` annotation and the warning are one text: escaped once, copied once.
    let mut audit_violations: Option<(&str, Range<usize>)> = None;
    if !audit_annotations.is_empty() {
        out.extend_from_slice(b",\"auditAnnotations\":{");
        for (i, (key, value)) in audit_annotations.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            string(out, key);
            out.push(b':');
            let start = out.len();
            string(out, value);
            if key == ANNOTATION_AUDIT_VIOLATIONS {
                audit_violations = Some((value, start..out.len()));
            }
        }
        out.push(b'}');
    }
    if !warnings.is_empty() {
        out.extend_from_slice(b",\"warnings\":[");
        for (i, warning) in warnings.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match &audit_violations {
                Some((text, escaped)) if text == warning => out.extend_from_within(escaped.clone()),
                _ => string(out, warning),
            }
        }
        out.push(b']');
    }
    out.push(b'}');
}

/// A status whose details name no causes (see [`write`]; a pod's Forbidden status is one): its
/// members in declaration order, empty strings and a zero code left out, as the serde
/// attributes say.
fn write_status(out: &mut Vec<u8>, status: &Status) {
    let Status {
        status,
        message,
        reason,
        details,
        code,
    } = status;
    out.push(b'{');
    let mut first = true;
    for (name, value) in [
        (&b"status"[..], status),
        (b"message", message),
        (b"reason", reason),
    ] {
        string_member(out, &mut first, name, value);
    }
    if let Some(details) = details {
        let StatusDetails {
            name,
            group,
            kind,
            causes: _,
        } = details;
        member_name(out, &mut first, b"details");
        out.push(b'{');
        let mut first = true;
        for (member, value) in [(&b"name"[..], name), (b"group", group), (b"kind", kind)] {
            string_member(out, &mut first, member, value);
        }
        out.push(b'}');
    }
    if *code != 0 {
        member_name(out, &mut first, b"code");
        out.extend_from_slice(code.to_string().as_bytes());
    }
    out.push(b'}');
}

/// `"name":` after a comma unless it is the object's `first` member.
fn member_name(out: &mut Vec<u8>, first: &mut bool, name: &[u8]) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(name);
    out.extend_from_slice(b"\":");
}

/// A string member, left out when the string is empty (`skip_serializing_if = "String::is_empty"`).
fn string_member(out: &mut Vec<u8>, first: &mut bool, name: &[u8], value: &str) {
    if !value.is_empty() {
        member_name(out, first, name);
        string(out, value);
    }
}

/// `value` as a JSON string, escaped as `serde_json` escapes: `"` and `\` with a backslash,
/// the control characters U+0000 to U+001F as `\b`, `\t`, `\n`, `\f`, `\r` or `\u00xx`
/// (lower-case hex), nothing else.
///
/// The text is copied eight bytes at a time: a word is appended whole (one store, no call to
/// `memcpy`) and, when it holds a byte to escape, cut back to just before that byte, which is
/// escaped; the next word starts right after it. Violation texts have a quote every ten bytes or
/// so, so copying runs between escapes with `extend_from_slice` spent most of its time in calls
/// for a few bytes each.
fn string(out: &mut Vec<u8>, value: &str) {
    let mut rest = value.as_bytes();
    // The quotes, the text, and a few escapes without growing again.
    out.reserve(rest.len() + 16);
    out.push(b'"');
    while let Some((word, after)) = rest.split_first_chunk::<8>() {
        out.extend_from_slice(word);
        let found = to_escape(u64::from_le_bytes(*word));
        if found == 0 {
            rest = after;
            continue;
        }
        // The lowest flagged byte is the first to escape (the bytes above it may be flagged
        // wrongly, see `to_escape`, and are looked at again from the next word on).
        let clean = (found.trailing_zeros() / 8) as usize;
        out.truncate(out.len() - 8 + clean);
        escape(out, word[clean]);
        rest = &rest[clean + 1..];
    }
    for &byte in rest {
        if byte < 0x20 || byte == b'"' || byte == b'\\' {
            escape(out, byte);
        } else {
            out.push(byte);
        }
    }
    out.push(b'"');
}

/// The bytes of `word` (little-endian) that JSON escapes: each such byte's high bit is set.
/// The lowest set bit is always right; bits above it may be set for bytes that need no escape
/// (borrows between bytes), so only the lowest may be used.
fn to_escape(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Below 0x20 (`!word` clears the flag of bytes from 0x80 on), `"`, or `\`: a byte equal
    // to the pattern is zero after the xor, and zero is below one.
    let lows = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    let quote = word ^ (ONES * u64::from(b'"'));
    let quotes = quote.wrapping_sub(ONES) & !quote & HIGHS;
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let backslashes = backslash.wrapping_sub(ONES) & !backslash & HIGHS;
    lows | quotes | backslashes
}

/// Writes the escape of a byte [`to_escape`] flags. Quotes and backslashes, the escapes of
/// violation texts, are written here; control characters in [`escape_control`], out of line.
#[inline]
fn escape(out: &mut Vec<u8>, byte: u8) {
    if byte == b'"' || byte == b'\\' {
        out.extend_from_slice(&[b'\\', byte]);
    } else {
        escape_control(out, byte);
    }
}

#[cold]
fn escape_control(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use podsec_admission::review::{StatusCause, StatusDetails};

    use super::*;

    fn reply(response: AdmissionResponse, api_version: &str) -> AdmissionReview {
        AdmissionReview {
            api_version: api_version.to_owned(),
            kind: "AdmissionReview".to_owned(),
            request: None,
            response: Some(response),
        }
    }

    fn same_as_serde(review: &AdmissionReview) {
        let mut expected = serde_json::to_vec(review).expect("serde encodes");
        expected.push(b'\n');
        let got = encode(review).expect("encodes");
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected)
        );
    }

    /// Every byte value that can start or sit in UTF-8 text, and the characters JSON escapes,
    /// at every offset within an eight-byte word.
    fn awkward_texts() -> Vec<String> {
        let mut texts = vec![
            String::new(),
            "plain".to_owned(),
            "would violate PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false (containers \"a\", \"b\" must set securityContext.allowPrivilegeEscalation=false)".to_owned(),
            "back\\slash \\\\ \"\" é ü 日本 \u{2028} \u{2029} \u{7f} \u{80} 😀 </script> &".to_owned(),
        ];
        let all: String = (0u32..0x80).filter_map(char::from_u32).collect();
        texts.push(all.clone());
        texts.push(all.chars().rev().collect());
        for special in [
            '"', '\\', '\0', '\u{1f}', '\n', '\u{8}', '\u{c}', '\r', '\t', ' ', '!', '#', '[', ']',
            'é',
        ] {
            for offset in 0..17 {
                let mut text = "x".repeat(offset);
                text.push(special);
                text.push_str(&"y".repeat(17 - offset));
                texts.push(text);
            }
        }
        // Every length around the word size (whole words, a tail, only a tail), with the
        // character to escape at every position, alone or in a run up to the end.
        for special in ['"', '\\', '\u{1}', '\u{1f}', '\u{7f}', 'é', '\u{2028}'] {
            for len in 1..=20 {
                for at in 0..len {
                    let text: String = (0..len)
                        .map(|i| if i == at { special } else { 'a' })
                        .collect();
                    texts.push(text);
                    let run: String = (0..len)
                        .map(|i| if i >= at { special } else { 'a' })
                        .collect();
                    texts.push(run);
                }
            }
        }
        texts.extend(pseudo_random_texts());
        texts
    }

    /// Texts of up to 40 characters drawn from characters JSON escapes, characters next to them
    /// in value (which carry or borrow differently in the word-wide test), multi-byte UTF-8 and
    /// characters some encoders escape and serde_json does not (HTML, U+2028).
    fn pseudo_random_texts() -> Vec<String> {
        const ALPHABET: [char; 24] = [
            '"', '\\', '\0', '\u{1}', '\u{8}', '\t', '\n', '\u{c}', '\r', '\u{1f}', ' ', '!', '#',
            '[', ']', '\u{7f}', '\u{80}', 'é', '\u{2028}', '\u{2029}', '😀', '<', '&', '\'',
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            // xorshift64: reproducible, and enough to mix characters and lengths.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..2000)
            .map(|_| {
                let len = next() % 41;
                (0..len)
                    .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for text in awkward_texts() {
            let mut got = b"prefix".to_vec();
            string(&mut got, &text);
            let expected = format!("prefix{}", serde_json::to_string(&text).expect("encodes"));
            assert_eq!(String::from_utf8_lossy(&got), expected, "{text:?}");
        }
    }

    #[test]
    fn a_warning_repeating_the_audit_annotation_is_what_serde_json_writes() {
        let text = "would violate PodSecurity \"restricted:latest\": runAsNonRoot != true (pod or containers \"a\" must set securityContext.runAsNonRoot=true)";
        let annotations = BTreeMap::from([
            ("audit-violations".to_owned(), text.to_owned()),
            ("enforce-policy".to_owned(), "baseline:v1.29".to_owned()),
        ]);
        let prefix = &text[..text.len() - 1];
        let differing = text.replace("\"a\"", "\"b\"");
        for warnings in [
            vec![text.to_owned()],
            vec![prefix.to_owned(), text.to_owned()],
            vec![differing, text.to_owned(), text.to_owned()],
            vec!["enforce-policy".to_owned(), "baseline:v1.29".to_owned()],
        ] {
            same_as_serde(&reply(
                AdmissionResponse {
                    uid: "u".to_owned(),
                    allowed: true,
                    audit_annotations: annotations.clone(),
                    warnings,
                    ..Default::default()
                },
                "admission.k8s.io/v1",
            ));
        }
    }

    #[test]
    fn answers_are_what_serde_json_writes() {
        let texts = awkward_texts();
        for text in &texts {
            let mut annotations = BTreeMap::new();
            annotations.insert("audit-violations".to_owned(), text.clone());
            annotations.insert(text.clone(), "enforce".to_owned());
            annotations.insert("enforce-policy".to_owned(), "baseline:v1.29".to_owned());
            for allowed in [true, false] {
                same_as_serde(&reply(
                    AdmissionResponse {
                        uid: text.clone(),
                        allowed,
                        audit_annotations: annotations.clone(),
                        warnings: vec![text.clone(), "second".to_owned()],
                        ..Default::default()
                    },
                    text,
                ));
            }
        }
        same_as_serde(&reply(AdmissionResponse::allowed(), "admission.k8s.io/v1"));
        same_as_serde(&reply(AdmissionResponse::default(), ""));
        same_as_serde(&AdmissionReview::default());
    }

    #[test]
    fn statuses_are_what_serde_json_writes() {
        for text in awkward_texts() {
            for code in [0, 403, -1, i32::MAX, i32::MIN] {
                for (status, message, reason) in [
                    ("Failure", text.as_str(), "Forbidden"),
                    ("", "", ""),
                    ("", text.as_str(), ""),
                    (text.as_str(), "", text.as_str()),
                ] {
                    // No details; empty ones; and names, groups and kinds, present or not
                    // (a pod's Forbidden status names the pod, the group and the resource).
                    let details = [
                        None,
                        Some(StatusDetails::default()),
                        Some(StatusDetails {
                            name: text.clone(),
                            group: String::new(),
                            kind: "pods".to_owned(),
                            causes: Vec::new(),
                        }),
                        Some(StatusDetails {
                            name: String::new(),
                            group: "apps".to_owned(),
                            kind: text.clone(),
                            causes: Vec::new(),
                        }),
                    ];
                    for details in details {
                        let status = Status {
                            status: status.to_owned(),
                            message: message.to_owned(),
                            reason: reason.to_owned(),
                            details,
                            code,
                        };
                        same_as_serde(&reply(
                            AdmissionResponse::denied(status),
                            "admission.k8s.io/v1beta1",
                        ));
                    }
                }
            }
        }
    }

    #[test]
    fn patches_and_causes_go_through_serde_json() {
        let details = Status {
            status: "Failure".to_owned(),
            message: "bad \"pod\"".to_owned(),
            reason: "Invalid".to_owned(),
            details: Some(StatusDetails {
                name: "web".to_owned(),
                kind: "Pod".to_owned(),
                causes: vec![StatusCause {
                    reason: "FieldValueInvalid".to_owned(),
                    message: "no\n".to_owned(),
                    field: "spec".to_owned(),
                }],
                ..Default::default()
            }),
            code: 422,
        };
        same_as_serde(&reply(
            AdmissionResponse::denied(details),
            "admission.k8s.io/v1",
        ));
        same_as_serde(&reply(
            AdmissionResponse {
                allowed: true,
                patch: Some(br#"[{"op":"add","path":"/x","value":"\u00e9"}]"#.to_vec()),
                patch_type: Some("JSONPatch".to_owned()),
                warnings: vec!["w".to_owned()],
                ..Default::default()
            },
            "admission.k8s.io/v1",
        ));
    }
}
