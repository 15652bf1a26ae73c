//! Scalars: decoding quoted and block scalars, and resolving their text into
//! the types serde asks for.
//!
//! The resolution functions are ports of serde-saphyr's (2.1, `parse_scalars.rs`
//! and `deserialize_any`) for the options `decode` uses: YAML 1.1 booleans,
//! legacy octal numbers, non-finite floats rejected where no type is asked for.
//! They are kept literal on purpose: the fast path must resolve every scalar
//! exactly as serde-saphyr does.

use std::borrow::Cow;

use super::{FastYamlError, Unsupported};

/// A scalar as written, validated but not yet decoded (decoding quoted and
/// block scalars may allocate, which skipping a value must not).
#[derive(Clone, Copy, Debug)]
pub(super) enum RawScalar<'de> {
    /// A plain scalar, trimmed; the empty string for an empty value.
    Plain(&'de str),
    /// The text between single quotes; `escaped` when it holds `''`.
    SingleQuoted { inner: &'de str, escaped: bool },
    /// The text between double quotes; `escaped` when it holds a `\`.
    DoubleQuoted { inner: &'de str, escaped: bool },
    /// A block scalar: its content lines (from the first to the end of the
    /// last, line break included) and their indentation.
    Block {
        body: &'de str,
        indent: usize,
        folded: bool,
        strip: bool,
    },
}

impl<'de> RawScalar<'de> {
    /// The text of the scalar, borrowed from the document when it needs no
    /// decoding.
    pub(super) fn text(self) -> Cow<'de, str> {
        match self {
            RawScalar::Plain(text)
            | RawScalar::SingleQuoted {
                inner: text,
                escaped: false,
            }
            | RawScalar::DoubleQuoted {
                inner: text,
                escaped: false,
            } => Cow::Borrowed(text),
            RawScalar::SingleQuoted { inner, .. } => Cow::Owned(inner.replace("''", "'")),
            RawScalar::DoubleQuoted { inner, .. } => Cow::Owned(unescape_double_quoted(inner)),
            RawScalar::Block {
                body,
                indent,
                folded,
                strip,
            } => Cow::Owned(block_text(body, indent, folded, strip)),
        }
    }

    pub(super) fn is_plain(self) -> bool {
        matches!(self, RawScalar::Plain(_))
    }

    /// True for a plain scalar that YAML reads as null (serde-saphyr's
    /// `scalar_is_nullish`).
    pub(super) fn is_null(self) -> bool {
        matches!(self, RawScalar::Plain("" | "~" | "null" | "Null" | "NULL"))
    }
}

/// What a plain scalar means when no type is asked for (`deserialize_any`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Resolved<'de> {
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Str(&'de str),
}

/// Resolves a plain scalar in serde-saphyr's order: null, YAML 1.1 boolean,
/// integer (legacy octal), float, string. A non-finite float is an error
/// there (`NonFiniteFloatPolicy::Reject`), so it is refused here.
pub(super) fn resolve_plain(text: &str) -> Result<Resolved<'_>, FastYamlError> {
    if !may_be_other_than_string(text) {
        return Ok(Resolved::Str(text));
    }
    if RawScalar::Plain(text).is_null() {
        return Ok(Resolved::Null);
    }
    if let Some(b) = parse_yaml11_bool(text) {
        return Ok(Resolved::Bool(b));
    }
    let t = yaml_trim(text);
    if t.starts_with('-') {
        if let Some(v) = parse_int_signed::<i64>(t) {
            return Ok(Resolved::Signed(v));
        }
    } else if let Some(v) = parse_int_unsigned::<u64>(t) {
        return Ok(Resolved::Unsigned(v));
    }
    match try_parse_float_incl_overflow(text) {
        Some(v) if v.is_finite() => Ok(Resolved::Float(v)),
        Some(_) => Err(Unsupported::NonFiniteFloat.into()),
        None => Ok(Resolved::Str(text)),
    }
}

/// False for plain scalars that can only be strings, which is most of them:
/// nulls, booleans and numbers start with `~`, a digit, `.`, `+` or `-`, or
/// are words of at most five letters starting with `n`, `t`, `f`, `y` or `o`
/// (`null`, `true`, `off`…). Rust's float parser also reads `inf` and `nan`,
/// but serde-saphyr keeps those as strings.
fn may_be_other_than_string(text: &str) -> bool {
    match text.as_bytes().first() {
        None | Some(b'0'..=b'9' | b'.' | b'+' | b'-' | b'~') => true,
        Some(b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'y' | b'Y' | b'o' | b'O') => {
            text.len() <= 5
        }
        Some(_) => false,
    }
}

/// Whether a plain scalar that is skipped would still be an error for
/// serde-saphyr, which resolves skipped values too: only a non-finite float
/// is. Most skipped scalars start with a letter and are let through at once.
pub(super) fn check_skipped_plain(text: &str) -> Result<(), FastYamlError> {
    match text.as_bytes().first() {
        Some(b'0'..=b'9' | b'.' | b'+' | b'-') => resolve_plain(text).map(|_| ()),
        _ => Ok(()),
    }
}

/// serde-saphyr's `yaml_trim`. It trims ASCII characters only, so bytes can be compared
/// directly (`str::trim_matches` with a set of chars decodes every char and is a hot spot).
pub(super) fn yaml_trim(s: &str) -> &str {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let bytes = s.as_bytes();
    let start = bytes
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |i| i + 1);
    // Both ends sit next to ASCII bytes, hence on character boundaries.
    s.get(start..end).unwrap_or_default()
}

/// serde-saphyr's `parse_yaml11_bool`: `y`, `yes`, `true`, `on` and their
/// negations, in any case.
pub(super) fn parse_yaml11_bool(s: &str) -> Option<bool> {
    let t = yaml_trim(s);
    let is = |word: &str| t.eq_ignore_ascii_case(word);
    if is("true") || is("yes") || is("y") || is("on") {
        Some(true)
    } else if is("false") || is("no") || is("n") || is("off") {
        Some(false)
    } else {
        None
    }
}

/// serde-saphyr's `parse_int_signed` with legacy octal numbers.
pub(super) fn parse_int_signed<T: TryFrom<i128>>(s: &str) -> Option<T> {
    let t = yaml_trim(s);
    let (negative, rest) = match t.strip_prefix('+') {
        Some(r) => (false, r),
        None => match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t),
        },
    };
    let (radix, digits) = radix_and_digits(rest);
    if radix == 10 {
        if digits.starts_with('0') && digits != "0" {
            return None;
        }
        let magnitude = parse_digits(digits, 10)?;
        let value = if negative {
            0i128.checked_sub_unsigned(magnitude)?
        } else {
            i128::try_from(magnitude).ok()?
        };
        return T::try_from(value).ok();
    }
    let magnitude = parse_digits(digits, radix)?;
    let value: i128 = if negative {
        if magnitude == (i128::MAX as u128) + 1 {
            i128::MIN
        } else {
            i128::try_from(magnitude).ok()?.checked_neg()?
        }
    } else {
        i128::try_from(magnitude).ok()?
    };
    T::try_from(value).ok()
}

/// serde-saphyr's `parse_int_unsigned` with legacy octal numbers.
pub(super) fn parse_int_unsigned<T: TryFrom<u128>>(s: &str) -> Option<T> {
    let t = yaml_trim(s);
    if t.starts_with('-') {
        return None;
    }
    let rest = t.strip_prefix('+').unwrap_or(t);
    let (radix, digits) = radix_and_digits(rest);
    if radix == 10 && digits.starts_with('0') && digits != "0" {
        return None;
    }
    T::try_from(parse_digits(digits, radix)?).ok()
}

/// serde-saphyr's `radix_and_digits` with legacy octal numbers: `0x`, `0o`,
/// `0b` and a bare leading `0` (octal) pick the radix, and one underscore
/// may follow the prefix.
fn radix_and_digits(rest: &str) -> (u32, &str) {
    fn after_prefix(r: &str) -> &str {
        r.strip_prefix('_').unwrap_or(r)
    }
    if let Some(r) = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
        (16, after_prefix(r))
    } else if let Some(r) = rest.strip_prefix("0o").or_else(|| rest.strip_prefix("0O")) {
        (8, after_prefix(r))
    } else if let Some(r) = rest.strip_prefix("0b").or_else(|| rest.strip_prefix("0B")) {
        (2, after_prefix(r))
    } else if let Some(r) = rest.strip_prefix('0') {
        if r.is_empty() {
            (8, "0")
        } else {
            (8, after_prefix(r))
        }
    } else {
        (10, rest)
    }
}

/// serde-saphyr's `parse_digits_u128` (and its decimal twins, which accept
/// the same spellings): digits of `radix`, single underscores between them.
fn parse_digits(digits: &str, radix: u32) -> Option<u128> {
    let bytes = digits.as_bytes();
    let mut value: u128 = 0;
    let mut saw_digit = false;
    for (i, &b) in bytes.iter().enumerate() {
        let digit = match b {
            b'_' => {
                let previous_ok = i > 0 && bytes[i - 1] != b'_';
                let next_ok = bytes.get(i + 1).is_some_and(|&n| n != b'_');
                if !previous_ok || !next_ok {
                    return None;
                }
                continue;
            }
            b'0'..=b'9' => u32::from(b - b'0'),
            b'a'..=b'f' if radix > 10 => 10 + u32::from(b - b'a'),
            b'A'..=b'F' if radix > 10 => 10 + u32::from(b - b'A'),
            _ => return None,
        };
        if digit >= radix {
            return None;
        }
        value = value
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(digit))?;
        saw_digit = true;
    }
    saw_digit.then_some(value)
}

/// serde-saphyr's `parse_yaml12_float`: `.inf`, `.nan` and their signed and
/// capitalised spellings, else Rust's parser for finite values only.
pub(super) fn parse_yaml12_float(s: &str) -> Option<f64> {
    let t = yaml_trim(s);
    let (negative, unsigned) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    match unsigned {
        ".nan" | ".NaN" | ".NAN" => Some(f64::NAN),
        ".inf" | ".Inf" | ".INF" if negative => Some(f64::NEG_INFINITY),
        ".inf" | ".Inf" | ".INF" => Some(f64::INFINITY),
        _ => t.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

/// serde-saphyr's `try_parse_float_incl_overflow`: a finite or YAML
/// non-finite float, or a numeral that overflows to infinity.
fn try_parse_float_incl_overflow(s: &str) -> Option<f64> {
    if let Some(v) = parse_yaml12_float(s) {
        return Some(v);
    }
    let t = yaml_trim(s);
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if !unsigned.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_infinite())
}

/// Checks the text between double quotes (up to the closing quote, which the
/// caller found) and says whether it holds escapes. Refuses escapes that are
/// not YAML's and those whose meaning the fast path does not vouch for.
pub(super) fn check_double_quoted(inner: &str) -> Result<bool, FastYamlError> {
    let bytes = inner.as_bytes();
    let mut escaped = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            escaped = true;
            let digits = match bytes.get(i + 1) {
                Some(b'0' | b'a' | b'b' | b't' | b'n' | b'v' | b'f' | b'r' | b'e' | b' ') => 0,
                Some(b'"' | b'/' | b'\\' | b'N' | b'_' | b'L' | b'P') => 0,
                Some(b'x') => 2,
                Some(b'u') => 4,
                Some(b'U') => 8,
                _ => return Err(Unsupported::Escape.into()),
            };
            let hex = inner
                .get(i + 2..i + 2 + digits)
                .ok_or(Unsupported::Escape)?;
            if digits > 0 {
                let code = u32::from_str_radix(hex, 16).map_err(|_| Unsupported::Escape)?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) || char::from_u32(code).is_none() {
                    return Err(Unsupported::Escape.into());
                }
            }
            i += 2 + digits;
        } else {
            i += 1;
        }
    }
    Ok(escaped)
}

/// Decodes the text between double quotes, checked by
/// [`check_double_quoted`].
fn unescape_double_quoted(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let mut chars = after.chars();
        let Some(kind) = chars.next() else { break };
        let digits = match kind {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        let decoded = match kind {
            '0' => Some('\0'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            't' => Some('\t'),
            'n' => Some('\n'),
            'v' => Some('\u{b}'),
            'f' => Some('\u{c}'),
            'r' => Some('\r'),
            'e' => Some('\u{1b}'),
            'N' => Some('\u{85}'),
            '_' => Some('\u{a0}'),
            'L' => Some('\u{2028}'),
            'P' => Some('\u{2029}'),
            'x' | 'u' | 'U' => after
                .get(1..1 + digits)
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .and_then(char::from_u32),
            other => Some(other),
        };
        out.extend(decoded);
        rest = after.get(1 + digits..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Builds the value of a block scalar from its checked content lines: a
/// literal keeps its line breaks, a folded scalar joins adjacent lines with a
/// space; `clip` keeps one final line break, `strip` none.
fn block_text(body: &str, indent: usize, folded: bool, strip: bool) -> String {
    let mut out = String::with_capacity(body.len());
    // Empty lines seen since the last content line, written before the next.
    let mut pending_empty = 0usize;
    let mut first = true;
    for line in body.split_inclusive('\n') {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let Some(content) = line.get(indent..).filter(|c| !c.is_empty()) else {
            pending_empty += 1;
            continue;
        };
        if !first {
            if folded {
                if pending_empty == 0 {
                    out.push(' ');
                }
            } else {
                out.push('\n');
            }
        }
        out.extend(std::iter::repeat_n('\n', pending_empty));
        pending_empty = 0;
        first = false;
        out.push_str(content);
    }
    if !strip {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod trim_tests {
    use super::yaml_trim;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn trims_like_trim_matches(s in "[ \t\r\n]{0,3}[ \t\r\na-zé\u{2003}\u{85}]{0,8}[ \t\r\n]{0,3}") {
            prop_assert_eq!(yaml_trim(&s), s.trim_matches([' ', '\t', '\r', '\n']));
        }
    }
}
