//! A purpose-built JSON reader for the hot path: decodes the few fields the checks read straight
//! from bytes and skips everything else in one pass, without serde's visitor machinery.
//!
//! It is a *fast path*, not a second JSON implementation to trust on its own: whenever input is
//! unusual (a type mismatch, a duplicate field, a lone surrogate, nesting deeper than
//! [`MAX_DEPTH`], a number that is not a plain integer where one is expected, …) it declines
//! with [`Declined`], and the caller decodes the same bytes with `serde_json`, which then gives
//! the exact result or the exact error message. The one promise it keeps is the reverse:
//! **whatever it accepts, `serde_json` accepts with the same value.** Skipped values are
//! validated with `serde_json`'s rules (grammar, escapes, control characters; UTF-8 only in
//! strings that are kept and in struct keys), so a malformed document never slips through.
//! Differential tests and a fuzz target hold it to that promise.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// The fast reader declines this input; decode it with `serde_json` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declined;

pub type Result<T> = std::result::Result<T, Declined>;

/// Deeper nesting than this is left to `serde_json` (whose own limit for typed values is 128).
pub const MAX_DEPTH: u32 = 100;

/// A type the fast reader can decode. Implementations follow the serde derive of the same type
/// exactly, including how `null` and missing fields decode.
///
/// Values are decoded *into* a default-initialised slot rather than returned: pod structs are
/// large, and building them where they will live (in a list, behind an `Option`) saves the
/// moves that otherwise dominate decoding.
pub trait FromJson: Default {
    fn read_into(reader: &mut Reader<'_>, slot: &mut Self) -> Result<()>;
}

/// Decodes one value.
pub fn read<T: FromJson>(reader: &mut Reader<'_>) -> Result<T> {
    let mut value = T::default();
    T::read_into(reader, &mut value)?;
    Ok(value)
}

/// Decodes a whole document: one value, then only whitespace.
pub fn from_slice<T: FromJson>(bytes: &[u8]) -> Result<T> {
    let mut reader = Reader::new(bytes);
    // Built where it is returned from, not returned from `read` and moved again: a pod is a few
    // hundred bytes, and each move is a copy.
    let mut value = T::default();
    T::read_into(&mut reader, &mut value)?;
    reader.finish()?;
    Ok(value)
}

/// A cursor over JSON bytes.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            pos: 0,
            depth: 0,
        }
    }

    /// Succeeds when only whitespace is left.
    pub fn finish(mut self) -> Result<()> {
        self.skip_whitespace();
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(Declined)
        }
    }

    #[inline]
    fn skip_whitespace(&mut self) {
        self.pos = whitespace(self.bytes, self.pos);
    }

    /// The next significant byte, not consumed.
    #[inline]
    pub fn peek(&mut self) -> Result<u8> {
        significant(self.bytes, &mut self.pos).ok_or(Declined)
    }

    #[inline]
    fn expect(&mut self, byte: u8) -> Result<()> {
        if self.peek()? == byte {
            self.pos += 1;
            Ok(())
        } else {
            Err(Declined)
        }
    }

    #[inline]
    fn literal(&mut self, text: &[u8]) -> Result<()> {
        if self.bytes[self.pos..].starts_with(text) {
            self.pos += text.len();
            Ok(())
        } else {
            Err(Declined)
        }
    }

    /// Consumes a `null` if that is what comes next.
    #[inline]
    pub fn null(&mut self) -> Result<bool> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    pub fn bool(&mut self) -> Result<bool> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|()| true),
            b'f' => self.literal(b"false").map(|()| false),
            _ => Err(Declined),
        }
    }

    /// A plain integer (`-`? digits, no fraction or exponent) that fits an `i64`.
    pub fn i64(&mut self) -> Result<i64> {
        let negative = self.peek()? == b'-';
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        let mut magnitude: i64 = 0;
        while let Some(&b) = self.bytes.get(self.pos) {
            if !b.is_ascii_digit() {
                break;
            }
            let digit = i64::from(b - b'0');
            magnitude = magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(digit))
                .ok_or(Declined)?;
            self.pos += 1;
        }
        let digits = &self.bytes[digits_start..self.pos];
        // No digits, a leading zero, `-0`, or a fraction/exponent: serde_json's business.
        let plain = match digits {
            [] => false,
            [b'0'] => !negative,
            [b'0', ..] => false,
            _ => true,
        };
        if !plain || matches!(self.bytes.get(self.pos), Some(b'.' | b'e' | b'E')) {
            return Err(Declined);
        }
        Ok(if negative { -magnitude } else { magnitude })
    }

    pub fn i32(&mut self) -> Result<i32> {
        i32::try_from(self.i64()?).map_err(|_| Declined)
    }

    /// A string value, unescaped; borrowed from the input when it has no escapes.
    pub fn str(&mut self) -> Result<Cow<'a, str>> {
        self.expect(b'"')?;
        self.string_body()
    }

    /// The rest of a string after its opening quote.
    fn string_body(&mut self) -> Result<Cow<'a, str>> {
        let start = self.pos;
        let (end, ascii) = find_string_special_noting_ascii(self.bytes, start);
        match self.bytes.get(end) {
            Some(b'"') => {
                self.pos = end + 1;
                let text = &self.bytes[start..end];
                Ok(Cow::Borrowed(if ascii {
                    // SAFETY: every byte is ASCII, and ASCII is valid UTF-8.
                    unsafe { std::str::from_utf8_unchecked(text) }
                } else {
                    std::str::from_utf8(text).map_err(|_| Declined)?
                }))
            }
            Some(b'\\') => self.escaped_string(start, end).map(Cow::Owned),
            _ => Err(Declined),
        }
    }

    /// Unescapes a string whose first escape is at `escape`.
    fn escaped_string(&mut self, start: usize, mut escape: usize) -> Result<String> {
        let mut out: Vec<u8> = Vec::with_capacity(escape - start + 16);
        let mut from = start;
        loop {
            out.extend_from_slice(&self.bytes[from..escape]);
            let code = *self.bytes.get(escape + 1).ok_or(Declined)?;
            self.pos = escape + 2;
            match code {
                b'"' => out.push(b'"'),
                b'\\' => out.push(b'\\'),
                b'/' => out.push(b'/'),
                b'b' => out.push(0x08),
                b'f' => out.push(0x0c),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'u' => {
                    let unit = self.hex4()?;
                    // Surrogates (pairs included) are rare in manifests: serde_json decides.
                    let c = char::from_u32(u32::from(unit)).ok_or(Declined)?;
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                _ => return Err(Declined),
            }
            from = self.pos;
            let next = find_string_special(self.bytes, from);
            match self.bytes.get(next) {
                Some(b'"') => {
                    out.extend_from_slice(&self.bytes[from..next]);
                    self.pos = next + 1;
                    return String::from_utf8(out).map_err(|_| Declined);
                }
                Some(b'\\') => escape = next,
                _ => return Err(Declined),
            }
        }
    }

    fn hex4(&mut self) -> Result<u16> {
        let digits = self.bytes.get(self.pos..self.pos + 4).ok_or(Declined)?;
        let mut value = 0u16;
        for &d in digits {
            let v = (d as char).to_digit(16).ok_or(Declined)?;
            value = value << 4 | v as u16;
        }
        self.pos += 4;
        Ok(value)
    }

    /// Skips one value of any type, validating it with serde_json's rules for ignored values.
    ///
    /// A string, the most common value skipped (`"imagePullPolicy":"IfNotPresent"`), is skipped
    /// here without entering the general skip loop.
    #[inline]
    pub fn skip_value(&mut self) -> Result<()> {
        if self.peek()? == b'"' {
            self.pos = skip_string(self.bytes, self.pos + 1)?;
            return Ok(());
        }
        self.pos = skip(self.bytes, self.pos, MAX_DEPTH - self.depth.min(MAX_DEPTH))?;
        Ok(())
    }

    /// Decodes one value with `decode` and also returns its bytes (without surrounding
    /// whitespace).
    pub fn with_text<T>(
        &mut self,
        decode: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<(T, &'a [u8])> {
        self.skip_whitespace();
        let start = self.pos;
        let value = decode(self)?;
        Ok((value, &self.bytes[start..self.pos]))
    }

    /// Skips one value and returns its bytes (without surrounding whitespace).
    pub fn raw_value(&mut self) -> Result<&'a [u8]> {
        self.skip_whitespace();
        let start = self.pos;
        self.skip_value()?;
        Ok(&self.bytes[start..self.pos])
    }

    #[inline]
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(Declined)
        } else {
            Ok(())
        }
    }

    /// Visits the members of an object in order with their raw keys; `member` must consume each
    /// value. A key with an escape declines; a key that is not UTF-8 is left for `member` to
    /// refuse (see [`Reader::unknown_key`]), so that known keys cost no validation.
    pub fn fields(&mut self, member: impl FnMut(&mut Self, &'a [u8]) -> Result<()>) -> Result<()> {
        self.members(Self::raw_key, member)
    }

    /// [`Reader::fields`] for struct decoders ([`json_struct!`](crate::json_struct)): each key
    /// comes as a [`Key`], whose first sixteen bytes are already loaded as two words, so that
    /// matching it against the struct's field names costs integer comparisons, not a string
    /// comparison per name.
    #[inline]
    pub fn struct_fields(
        &mut self,
        mut member: impl FnMut(&mut Self, Key<'a>) -> Result<()>,
    ) -> Result<()> {
        self.container(b'{', b'}', |reader| {
            let key = reader.struct_key()?;
            if reader.bytes.get(reader.pos) == Some(&b':') {
                reader.pos += 1;
            } else {
                reader.expect(b':')?;
            }
            member(reader, key)
        })
    }

    /// A key without escapes, with its words (see [`Key`]). Keys of up to fifteen bytes, most
    /// of them, end within one sixteen-byte comparison ([`special_mask_16`]), not a search.
    #[inline(always)]
    fn struct_key(&mut self) -> Result<Key<'a>> {
        self.expect(b'"')?;
        let start = self.pos;
        let Some((len @ 0..16, [first, second])) = first_special_within_16(self.bytes, start)
        else {
            return self.long_struct_key(start);
        };
        if self.bytes[start + len] != b'"' {
            return Err(Declined);
        }
        self.pos = start + len + 1;
        // Zero past the key's end, as `key_words` computes them.
        let words = if len < 8 {
            [first & low_bytes(len), 0]
        } else {
            [first, second & low_bytes(len - 8)]
        };
        Ok(Key {
            bytes: &self.bytes[start..start + len],
            words,
        })
    }

    /// [`Reader::struct_key`] for keys of sixteen bytes or more, and near the end of the input.
    #[cold]
    fn long_struct_key(&mut self, start: usize) -> Result<Key<'a>> {
        self.pos = start - 1;
        let bytes = self.raw_key()?;
        let words = match bytes.get(..16) {
            Some(head) => [le_word(&head[..8]), le_word(&head[8..])],
            None => key_words(bytes),
        };
        Ok(Key { bytes, words })
    }

    /// Skips the value of a key the caller does not know, after checking the key is UTF-8 (a
    /// struct's serde derive reads every key as a string).
    pub fn unknown_key(&mut self, key: &[u8]) -> Result<()> {
        if !key.is_ascii() && std::str::from_utf8(key).is_err() {
            return Err(Declined);
        }
        self.skip_value()
    }

    /// [`Reader::unknown_key`] for a key from [`Reader::struct_fields`]: a key of at most sixteen
    /// bytes is checked in its two loaded words (one mask test, where a byte loop over the key
    /// costs a branch per byte and, key lengths varying, mispredicts).
    #[inline]
    pub fn unknown_struct_key(&mut self, key: Key<'_>) -> Result<()> {
        const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
        if key.bytes.len() <= 16 && (key.words[0] | key.words[1]) & HIGH_BITS == 0 {
            return self.skip_value();
        }
        self.unknown_key(key.bytes)
    }

    /// Visits the members of an object in order with their keys unescaped; `member` must
    /// consume each value.
    pub fn object(&mut self, mut member: impl FnMut(&mut Self, &str) -> Result<()>) -> Result<()> {
        self.members(Self::str, |reader, key| member(reader, &key))
    }

    /// A key without escapes, as raw bytes.
    fn raw_key(&mut self) -> Result<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.pos;
        let end = find_string_special(self.bytes, start);
        if self.bytes.get(end) != Some(&b'"') {
            return Err(Declined);
        }
        self.pos = end + 1;
        Ok(&self.bytes[start..end])
    }

    /// The object loop shared by [`Reader::fields`] and [`Reader::object`].
    fn members<K>(
        &mut self,
        mut key: impl FnMut(&mut Self) -> Result<K>,
        mut member: impl FnMut(&mut Self, K) -> Result<()>,
    ) -> Result<()> {
        self.container(b'{', b'}', |reader| {
            let name = key(reader)?;
            reader.expect(b':')?;
            member(reader, name)
        })
    }

    /// Visits the items of an array in order; `item` must consume each value.
    pub fn array(&mut self, item: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.container(b'[', b']', item)
    }

    /// `open`, then entries separated by commas (each read by `entry`), then `close`.
    fn container(
        &mut self,
        open: u8,
        close: u8,
        mut entry: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        self.expect(open)?;
        self.enter()?;
        if self.peek()? != close {
            loop {
                entry(self)?;
                match self.peek()? {
                    b',' => self.pos += 1,
                    b if b == close => break,
                    _ => return Err(Declined),
                }
            }
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(())
    }
}

/// An object key as [`Reader::struct_fields`] hands it over: its bytes, and its first sixteen
/// bytes as two little-endian words, zero past its end. Keys never contain a zero byte (a
/// control character declines), so words and length together tell any two keys of up to
/// sixteen bytes apart.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub bytes: &'a [u8],
    pub words: [u64; 2],
}

impl Key<'_> {
    /// True when this is `name`, whose words are `words` (from [`key_words`], computed at
    /// compile time by [`json_struct!`](crate::json_struct)).
    #[inline(always)]
    pub fn is(&self, name: &str, words: [u64; 2]) -> bool {
        self.words == words
            && self.bytes.len() == name.len()
            && (name.len() <= 16 || self.bytes[16..] == name.as_bytes()[16..])
    }
}

/// The words of a key (see [`Key`]); a `const fn`, so that [`json_struct!`](crate::json_struct)
/// computes its field names' words at compile time.
pub const fn key_words(key: &[u8]) -> [u64; 2] {
    let mut words = [0u64; 2];
    let mut i = 0;
    while i < key.len() && i < 16 {
        words[i / 8] |= (key[i] as u64) << (8 * (i % 8));
        i += 1;
    }
    words
}

/// The eight bytes of `chunk` (exactly eight long) as a little-endian word.
#[inline(always)]
fn le_word(chunk: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk);
    u64::from_le_bytes(word)
}

/// Where the first `"`, `\` or control character is among the sixteen bytes from `i` (16 when
/// none is), with those bytes as two words: the short-string fast path of keys and skipped
/// strings. `None` when fewer than sixteen bytes are left.
#[inline(always)]
fn first_special_within_16(bytes: &[u8], i: usize) -> Option<(usize, [u64; 2])> {
    let chunk: &[u8; 16] = bytes.get(i..i + 16)?.try_into().ok()?;
    let (first, second) = (le_word(&chunk[..8]), le_word(&chunk[8..]));
    let offset = (special_mask_16(chunk) | 1 << 16).trailing_zeros() as usize;
    Some((offset, [first, second]))
}

/// Bit `n` set when byte `n` of `chunk` is a `"`, a `\` or a control character: one SSE2
/// comparison of all sixteen bytes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn special_mask_16(chunk: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of every x86_64 target, so these intrinsics are always available;
    // the unaligned load reads exactly the sixteen bytes of `chunk`.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // min(v, 0x1f) == v exactly for the bytes 0x00..=0x1f, compared unsigned.
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
    }
}

/// [`special_mask_16`] without SIMD.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn special_mask_16(chunk: &[u8; 16]) -> u32 {
    special_mask_16_portable(chunk)
}

/// Bit `n` set when byte `n` of `chunk` is not ASCII.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn non_ascii_mask_16(chunk: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{_mm_loadu_si128, _mm_movemask_epi8};
    // SAFETY: as in `special_mask_16`.
    unsafe { _mm_movemask_epi8(_mm_loadu_si128(chunk.as_ptr().cast())) as u32 }
}

/// [`non_ascii_mask_16`] without SIMD.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn non_ascii_mask_16(chunk: &[u8; 16]) -> u32 {
    non_ascii_mask_16_portable(chunk)
}

/// A byte that ends or interrupts a string's plain text: `"`, `\\` or a control character
/// (which JSON does not allow unescaped).
#[inline(always)]
fn is_string_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// [`special_mask_16`] a byte at a time: the version off x86_64, and on x86_64 the reference
/// the SSE2 version is tested against.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn special_mask_16_portable(chunk: &[u8; 16]) -> u32 {
    let mut mask = 0;
    for (n, &b) in chunk.iter().enumerate() {
        if is_string_special(b) {
            mask |= 1 << n;
        }
    }
    mask
}

/// [`non_ascii_mask_16`] a byte at a time (see [`special_mask_16_portable`]).
#[cfg(any(test, not(target_arch = "x86_64")))]
fn non_ascii_mask_16_portable(chunk: &[u8; 16]) -> u32 {
    let mut mask = 0;
    for (n, &b) in chunk.iter().enumerate() {
        mask |= u32::from(b >> 7) << n;
    }
    mask
}

/// A mask of the low `n` bytes of a word, `n < 8`.
#[inline(always)]
fn low_bytes(n: usize) -> u64 {
    (1u64 << (8 * n)) - 1
}

/// Skips whitespace from `i`.
#[inline(always)]
fn whitespace(bytes: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(i) {
        i += 1;
    }
    i
}

/// The first byte at or after `*i` that is not whitespace, with `*i` moved to it; `None` at the
/// end of the input. The API server sends compact JSON, where the byte at `*i` is nearly always
/// it: one comparison (whitespace and control characters are all at or below the space) settles
/// that before any whitespace is looked for.
#[inline(always)]
fn significant(bytes: &[u8], i: &mut usize) -> Option<u8> {
    let byte = *bytes.get(*i)?;
    if byte > b' ' {
        return Some(byte);
    }
    *i = whitespace(bytes, *i);
    bytes.get(*i).copied()
}

/// Skips one value starting at `i` (after optional whitespace), validating it with serde_json's
/// rules for ignored values; returns where it ends. Containers may nest `depth` deep.
///
/// Skipping is most of the work on large requests (managed fields, status, env), so this is one
/// loop over local state: a bit stack records whether each open container is an object.
fn skip(bytes: &[u8], mut i: usize, depth: u32) -> Result<usize> {
    // Bit 0 of `objects` is set when the innermost open container is an object.
    let mut objects: u128 = 0;
    let mut open: u32 = 0;
    loop {
        // A value is expected here.
        match significant(bytes, &mut i) {
            Some(b'"') => i = skip_string(bytes, i + 1)?,
            Some(opening @ (b'{' | b'[')) => {
                if open >= depth {
                    return Err(Declined);
                }
                i += 1;
                let object = opening == b'{';
                let close = if object { b'}' } else { b']' };
                if significant(bytes, &mut i) == Some(close) {
                    i += 1;
                } else {
                    objects = objects << 1 | u128::from(object);
                    open += 1;
                    if object {
                        i = skip_key(bytes, i)?;
                    }
                    continue;
                }
            }
            Some(b't') => i = skip_literal(bytes, i, b"true")?,
            Some(b'f') => i = skip_literal(bytes, i, b"false")?,
            Some(b'n') => i = skip_literal(bytes, i, b"null")?,
            Some(b'-' | b'0'..=b'9') => i = skip_number(bytes, i)?,
            _ => return Err(Declined),
        }
        // After a value: a separator, or the ends of enclosing containers.
        loop {
            if open == 0 {
                return Ok(i);
            }
            let in_object = objects & 1 == 1;
            match significant(bytes, &mut i) {
                Some(b',') => {
                    i += 1;
                    if in_object {
                        significant(bytes, &mut i);
                        i = skip_key(bytes, i)?;
                    }
                    break;
                }
                Some(b'}') if in_object => {}
                Some(b']') if !in_object => {}
                _ => return Err(Declined),
            }
            i += 1;
            objects >>= 1;
            open -= 1;
        }
    }
}

/// Skips `"key"` and its colon, `i` being at the opening quote.
#[inline(always)]
fn skip_key(bytes: &[u8], i: usize) -> Result<usize> {
    if bytes.get(i) != Some(&b'"') {
        return Err(Declined);
    }
    let mut i = skip_string(bytes, i + 1)?;
    if significant(bytes, &mut i) == Some(b':') {
        Ok(i + 1)
    } else {
        Err(Declined)
    }
}

#[inline(always)]
fn skip_literal(bytes: &[u8], i: usize, literal: &[u8]) -> Result<usize> {
    if bytes[i..].starts_with(literal) {
        Ok(i + literal.len())
    } else {
        Err(Declined)
    }
}

/// Skips a string from just after its opening quote, checking escapes and control characters
/// as serde_json does for ignored strings (it does not check UTF-8 there, and neither does
/// this); returns the index after the closing quote.
///
/// Most skipped strings are short keys and values (`"f:name"`, `"IfNotPresent"`): when the
/// closing quote is within the next sixteen bytes, with nothing special before it, one
/// sixteen-byte comparison settles it here; everything else takes the general loop.
#[inline(always)]
fn skip_string(bytes: &[u8], i: usize) -> Result<usize> {
    match first_special_within_16(bytes, i) {
        Some((16, _)) => skip_long_string(bytes, i + 16),
        Some((len, _)) if bytes[i + len] == b'"' => Ok(i + len + 1),
        _ => skip_long_string(bytes, i),
    }
}

/// [`skip_string`] from `i` inside the string, for what its fast path leaves.
#[inline(never)]
fn skip_long_string(bytes: &[u8], mut i: usize) -> Result<usize> {
    loop {
        i = find_string_special(bytes, i);
        match bytes.get(i) {
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => match bytes.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => {
                    let digits = bytes.get(i + 2..i + 6).ok_or(Declined)?;
                    if !digits.iter().all(u8::is_ascii_hexdigit) {
                        return Err(Declined);
                    }
                    i += 6;
                }
                _ => return Err(Declined),
            },
            _ => return Err(Declined),
        }
    }
}

/// Skips a number with serde_json's grammar (`-`? int frac? exp?, no leading zeros).
fn skip_number(bytes: &[u8], mut i: usize) -> Result<usize> {
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    match bytes.get(i) {
        Some(b'0') => {
            i += 1;
            if bytes.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(Declined);
            }
        }
        Some(b'1'..=b'9') => {
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return Err(Declined),
    }
    // One or more digits, or a decline.
    let digits = |mut i: usize| -> Result<usize> {
        let first = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == first { Err(Declined) } else { Ok(i) }
    };
    if bytes.get(i) == Some(&b'.') {
        i = digits(i + 1)?;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(i)?;
    }
    Ok(i)
}

/// The index of the first `"`, `\` or control character at or after `from` (or the length).
/// Sixteen bytes at a time with [`special_mask_16`], the last few one by one.
#[inline]
fn find_string_special(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 16) {
        // Exactly sixteen bytes: the conversion cannot fail.
        let chunk: &[u8; 16] = chunk.try_into().expect("sixteen bytes");
        let found = special_mask_16(chunk);
        if found != 0 {
            return i + found.trailing_zeros() as usize;
        }
        i += 16;
    }
    while let Some(&b) = bytes.get(i) {
        if is_string_special(b) {
            return i;
        }
        i += 1;
    }
    i
}

/// [`find_string_special`], also telling whether the bytes before that index are all ASCII:
/// strings that are kept must be UTF-8, and for the short ASCII strings of manifests noting it
/// during the search is cheaper than a second pass.
#[inline]
fn find_string_special_noting_ascii(bytes: &[u8], from: usize) -> (usize, bool) {
    let mut non_ascii = 0;
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 16) {
        // Exactly sixteen bytes: the conversion cannot fail.
        let chunk: &[u8; 16] = chunk.try_into().expect("sixteen bytes");
        let found = special_mask_16(chunk);
        if found != 0 {
            let before = (1 << found.trailing_zeros()) - 1;
            non_ascii |= non_ascii_mask_16(chunk) & before;
            return (i + found.trailing_zeros() as usize, non_ascii == 0);
        }
        non_ascii |= non_ascii_mask_16(chunk);
        i += 16;
    }
    while let Some(&b) = bytes.get(i) {
        if is_string_special(b) {
            break;
        }
        non_ascii |= u32::from(b & 0x80);
        i += 1;
    }
    (i, non_ascii == 0)
}

/// Scalars: each is one reader call.
macro_rules! scalar {
    ($($ty:ty => $read:expr),* $(,)?) => {
        $(impl FromJson for $ty {
            fn read_into(reader: &mut Reader<'_>, slot: &mut Self) -> Result<()> {
                *slot = $read(reader)?;
                Ok(())
            }
        })*
    };
}

scalar! {
    bool => Reader::bool,
    i32 => Reader::i32,
    i64 => Reader::i64,
    String => |reader: &mut Reader<'_>| reader.str().map(Cow::into_owned),
    compact_str::CompactString => |reader: &mut Reader<'_>| reader.str().map(|text| match text {
        Cow::Borrowed(s) => compact_str::CompactString::from(s),
        Cow::Owned(s) => compact_str::CompactString::from(s),
    }),
}

impl FromJson for serde::de::IgnoredAny {
    fn read_into(reader: &mut Reader<'_>, _: &mut Self) -> Result<()> {
        reader.skip_value()
    }
}

/// `null` is `None`, as serde's `Option`.
impl<T: FromJson> FromJson for Option<T> {
    fn read_into(reader: &mut Reader<'_>, slot: &mut Self) -> Result<()> {
        if reader.null()? {
            *slot = None;
            Ok(())
        } else {
            // Matching first spares the `None` arm (the usual one) a drop of the old value.
            let value = match slot {
                Some(value) => {
                    *value = T::default();
                    value
                }
                None => slot.insert(T::default()),
            };
            T::read_into(reader, value)
        }
    }
}

impl<T: FromJson> FromJson for Box<T> {
    fn read_into(reader: &mut Reader<'_>, slot: &mut Self) -> Result<()> {
        T::read_into(reader, slot)
    }
}

/// `null` is empty: every list in the pod view is declared with `null_as_default`.
impl<T: FromJson> FromJson for Vec<T> {
    fn read_into(reader: &mut Reader<'_>, items: &mut Self) -> Result<()> {
        items.clear();
        if reader.null()? {
            return Ok(());
        }
        reader.array(|reader| {
            // The default is written straight into the list: `push` would build it on the stack
            // and copy it (a container is a few hundred bytes).
            if items.len() == items.capacity() {
                grow(items);
            }
            items.spare_capacity_mut()[0].write(T::default());
            // SAFETY: the slot just past the end was initialised on the line above.
            unsafe { items.set_len(items.len() + 1) };
            let last = items.len() - 1;
            T::read_into(reader, &mut items[last])
        })
    }
}

/// Room for one more item. A list's first allocation, for four items (`Vec`'s own choice for
/// items of 2 to 1,024 bytes, which all of the pod view's are), is made directly: nearly every
/// list in a pod is short, and the general growth path costs more than the allocation.
#[inline]
fn grow<T>(items: &mut Vec<T>) {
    if items.capacity() == 0 {
        *items = Vec::with_capacity(4);
    } else {
        items.reserve(1);
    }
}

/// `null` is empty, as for lists; a repeated key keeps the last value, as serde's map.
impl<K, V> FromJson for BTreeMap<K, V>
where
    K: Ord + for<'k> From<&'k str>,
    V: FromJson,
{
    fn read_into(reader: &mut Reader<'_>, map: &mut Self) -> Result<()> {
        map.clear();
        if reader.null()? {
            return Ok(());
        }
        reader.object(|reader, key| {
            map.insert(key.into(), read(reader)?);
            Ok(())
        })
    }
}

/// Position of `key` in `keys`, at compile time (used by [`json_struct!`] to track duplicates).
#[doc(hidden)]
pub const fn key_index(keys: &[&str], key: &str) -> u32 {
    let mut i = 0;
    while i < keys.len() {
        let candidate = keys[i].as_bytes();
        let wanted = key.as_bytes();
        if candidate.len() == wanted.len() {
            let mut j = 0;
            while j < wanted.len() && candidate[j] == wanted[j] {
                j += 1;
            }
            if j == wanted.len() {
                return i as u32;
            }
        }
        i += 1;
    }
    panic!("key not in the list")
}

/// Implements [`FromJson`] for a struct whose serde derive has container-level `default`: each
/// listed JSON key decodes into its field with that field's [`FromJson`], a repeated key
/// declines (serde's derive rejects duplicates), and unknown keys are skipped.
#[macro_export]
macro_rules! json_struct {
    ($ty:ty { $($json:literal => $field:ident),* $(,)? }) => {
        impl $crate::json::FromJson for $ty {
            // A hint, so that small nested structs (a security context's capabilities, a
            // seccomp profile) are decoded inside their parent's loop, with the reader's
            // position kept in a register rather than stored and reloaded around every call:
            // 8% faster decoding and evaluating of the conformance pods, measured in pairs.
            #[inline]
            fn read_into(
                reader: &mut $crate::json::Reader<'_>,
                out: &mut Self,
            ) -> $crate::json::Result<()> {
                const KEYS: &[&str] = &[$($json),*];
                const _: () = assert!(KEYS.len() <= 64);
                let mut seen: u64 = 0;
                reader.struct_fields(|reader, key| {
                    $(if key.is($json, const { $crate::json::key_words($json.as_bytes()) }) {
                        const BIT: u64 = 1 << $crate::json::key_index(KEYS, $json);
                        if seen & BIT != 0 {
                            return Err($crate::json::Declined);
                        }
                        seen |= BIT;
                        return $crate::json::FromJson::read_into(reader, &mut out.$field);
                    })*
                    reader.unknown_struct_key(key)
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IgnoredAny;

    fn skips(json: &str) -> bool {
        let mut reader = Reader::new(json.as_bytes());
        reader.skip_value().is_ok() && reader.finish().is_ok()
    }

    #[test]
    fn skipping_accepts_exactly_what_serde_json_accepts() {
        let cases = [
            "null",
            "true",
            " false ",
            "0",
            "-0",
            "12",
            "-1.5e+3",
            "1E5",
            "0.0",
            "01",
            "1.",
            "1e",
            "-",
            ".5",
            "+1",
            r#""a\"b\\c\/\b\f\n\r\t\u00e9""#,
            r#""\x""#,
            r#""\u12""#,
            "\"tab\there\"",
            r#""unterminated"#,
            "[]",
            "[1,]",
            "[,1]",
            "[1 2]",
            r#"{"a":1,"b":[true,{"c":null}]}"#,
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{1:2}"#,
            "{",
            "[[[[]]]]",
            "nul",
            "truth",
            "[1] x",
            "",
        ];
        for json in cases {
            let serde = serde_json::from_str::<IgnoredAny>(json).is_ok();
            assert_eq!(skips(json), serde, "{json:?}");
        }
    }

    #[test]
    fn strings_unescape_like_serde_json() {
        for json in [
            r#""plain""#,
            r#""é and \u00e9 and \n \"q\" \\ \/""#,
            r#""a long string that spans several eight-byte words, with an escape at the end\t""#,
        ] {
            let want: String = serde_json::from_str(json).unwrap();
            let mut reader = Reader::new(json.as_bytes());
            assert_eq!(reader.str().unwrap(), want, "{json}");
        }
        // Surrogates, control characters and invalid UTF-8 are left to serde_json.
        for bad in [&br#""\ud83d\ude00""#[..], b"\"a\x01\"", b"\"\xff\""] {
            assert_eq!(Reader::new(bad).str(), Err(Declined));
        }
    }

    #[test]
    fn integers_are_plain_or_declined() {
        let int = |s: &str| Reader::new(s.as_bytes()).i64();
        assert_eq!(int("0"), Ok(0));
        assert_eq!(int("-42"), Ok(-42));
        assert_eq!(int("9223372036854775807"), Ok(i64::MAX));
        for declined in [
            "9223372036854775808",
            "1.0",
            "1e3",
            "-0",
            "007",
            "-",
            "\"1\"",
        ] {
            assert_eq!(int(declined), Err(Declined), "{declined}");
        }
        assert_eq!(Reader::new(b"2147483648").i32(), Err(Declined));
    }

    #[test]
    fn depth_beyond_the_limit_is_declined() {
        let deep = "[".repeat(MAX_DEPTH as usize + 1) + &"]".repeat(MAX_DEPTH as usize + 1);
        assert!(!skips(&deep));
        let ok = "[".repeat(MAX_DEPTH as usize) + &"]".repeat(MAX_DEPTH as usize);
        assert!(skips(&ok));
    }

    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    #[serde(default)]
    struct Sample {
        a: Option<bool>,
        b: Vec<compact_str::CompactString>,
        #[serde(rename = "c-c")]
        c: i32,
    }
    json_struct!(Sample { "a" => a, "b" => b, "c-c" => c });

    /// Field names around the word boundaries of [`Key`], several sharing prefixes.
    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    #[serde(default)]
    struct Boundaries {
        #[serde(rename = "k")]
        one: Option<i32>,
        #[serde(rename = "abcdefg")]
        seven: Option<i32>,
        #[serde(rename = "abcdefgh")]
        eight: Option<i32>,
        #[serde(rename = "abcdefghi")]
        nine: Option<i32>,
        #[serde(rename = "abcdefghijklmno")]
        fifteen: Option<i32>,
        #[serde(rename = "abcdefghijklmnop")]
        sixteen: Option<i32>,
        #[serde(rename = "abcdefghijklmnopq")]
        seventeen: Option<i32>,
        #[serde(rename = "abcdefghijklmnopqrstuvwx")]
        twenty_four: Option<i32>,
    }
    json_struct!(Boundaries {
        "k" => one,
        "abcdefg" => seven,
        "abcdefgh" => eight,
        "abcdefghi" => nine,
        "abcdefghijklmno" => fifteen,
        "abcdefghijklmnop" => sixteen,
        "abcdefghijklmnopq" => seventeen,
        "abcdefghijklmnopqrstuvwx" => twenty_four,
    });

    #[test]
    fn struct_keys_are_told_apart_at_every_length() {
        let known = [
            "k",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "abcdefghijklmno",
            "abcdefghijklmnop",
            "abcdefghijklmnopq",
            "abcdefghijklmnopqrstuvwx",
        ];
        let mut keys: Vec<String> = Vec::new();
        for key in known {
            keys.push(key.to_string());
            // Near misses: one byte shorter, longer, or different at the end or the start.
            keys.push(key[..key.len() - 1].to_string());
            keys.push(format!("{key}z"));
            keys.push(format!("{}Z", &key[..key.len() - 1]));
            keys.push(format!("Z{}", &key[1..]));
        }
        for key in &keys {
            // Alone (the key ends near the end of the input), first of several (far from it),
            // and after a long member.
            for json in [
                format!(r#"{{"{key}":1}}"#),
                format!(r#"{{"{key}":2,"other":3,"padding-padding-padding":[1,2,3]}}"#),
                format!(r#"{{"abcdefghijklmnopqrstuvwxyz":null,"{key}":4}}"#),
            ] {
                let fast = from_slice::<Boundaries>(json.as_bytes());
                let serde = serde_json::from_str::<Boundaries>(&json);
                match (&fast, &serde) {
                    (Ok(fast), Ok(serde)) => assert_eq!(fast, serde, "{json}"),
                    _ => panic!("{json}: fast {fast:?}, serde {serde:?}"),
                }
            }
        }
        // Escapes, control characters and quotes inside a key, at every offset: the fast path
        // declines or agrees with serde, never accepts what serde refuses.
        for offset in 0..20 {
            for special in ["\\u0061", "\\\"", "\t", "\u{1}", "\u{7f}", "é"] {
                let mut key = "abcdefghijklmnopqrstuvwx"[..offset].to_string();
                key.push_str(special);
                let json = format!(r#"{{"{key}":5,"k":6}}"#);
                if let Ok(fast) = from_slice::<Boundaries>(json.as_bytes()) {
                    assert_eq!(
                        Ok(fast),
                        serde_json::from_str::<Boundaries>(&json).map_err(|_| ()),
                        "{json}"
                    );
                }
            }
        }
    }

    #[test]
    fn string_searches_find_every_byte_at_every_offset() {
        // The test's own oracle, not `is_string_special`, which the code under test uses.
        let special = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
        for len in [0, 1, 7, 15, 16, 17, 31, 40] {
            for at in 0..=len {
                for byte in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    if at < len {
                        bytes[at] = byte;
                    }
                    let want = bytes.iter().position(|&b| special(b)).unwrap_or(len);
                    let ascii = bytes[..want].is_ascii();
                    assert_eq!(find_string_special(&bytes, 0), want, "{bytes:?}");
                    assert_eq!(
                        find_string_special_noting_ascii(&bytes, 0),
                        (want, ascii),
                        "{bytes:?}"
                    );
                    if let Some((offset, words)) = first_special_within_16(&bytes, 0) {
                        assert_eq!(offset, want.min(16), "{bytes:?}");
                        assert_eq!(words, [le_word(&bytes[..8]), le_word(&bytes[8..16])]);
                    }
                }
            }
        }
    }

    #[test]
    fn only_the_bytes_before_the_end_of_a_string_count_as_non_ascii() {
        // A quote at `end`, one byte 0xc3 at `high`, from offsets 0 and 3: ASCII exactly when
        // the high byte lies at or past the quote.
        for len in [16, 20, 33, 48] {
            for end in 0..len {
                for high in 0..len {
                    if high == end {
                        continue;
                    }
                    let mut bytes = vec![b'a'; len];
                    bytes[end] = b'"';
                    bytes[high] = 0xc3;
                    for from in [0, 3] {
                        if from > end {
                            continue;
                        }
                        let ascii = !(from..end).contains(&high);
                        assert_eq!(
                            find_string_special_noting_ascii(&bytes, from),
                            (end, ascii),
                            "end {end}, high {high}, from {from}, len {len}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn simd_masks_match_the_portable_ones_for_every_byte_at_every_position() {
        for byte in 0..=255u8 {
            for at in 0..16 {
                let mut chunk = [b'a'; 16];
                chunk[at] = byte;
                assert_eq!(
                    special_mask_16(&chunk),
                    special_mask_16_portable(&chunk),
                    "{chunk:?}"
                );
                assert_eq!(
                    non_ascii_mask_16(&chunk),
                    non_ascii_mask_16_portable(&chunk),
                    "{chunk:?}"
                );
            }
            let chunk = [byte; 16];
            assert_eq!(
                special_mask_16(&chunk),
                special_mask_16_portable(&chunk),
                "{byte}"
            );
            assert_eq!(
                non_ascii_mask_16(&chunk),
                non_ascii_mask_16_portable(&chunk),
                "{byte}"
            );
        }
    }

    #[test]
    fn structs_match_the_serde_derive_and_decline_duplicates() {
        let json = r#"{"x":{"y":[1,2]},"a":true,"b":["p","q"],"c-c":-3}"#;
        let fast: Sample = from_slice(json.as_bytes()).unwrap();
        assert_eq!(fast, serde_json::from_str::<Sample>(json).unwrap());
        assert_eq!(
            from_slice::<Sample>(br#"{"a":true,"a":false}"#),
            Err(Declined)
        );
        assert!(serde_json::from_str::<Sample>(r#"{"a":true,"a":false}"#).is_err());
        assert_eq!(from_slice::<Sample>(br#"{"c-c":null}"#), Err(Declined));
        assert_eq!(from_slice::<Sample>(br#"{} {}"#), Err(Declined));
    }

    /// An unknown key is skipped when it is UTF-8 and declined when it is not, at every length
    /// either side of the sixteen bytes checked in words.
    #[test]
    fn structs_skip_unknown_utf8_keys_and_decline_others() {
        for len in [1, 7, 8, 15, 16, 17, 40] {
            let ascii = "k".repeat(len);
            let accented = format!("{}é", "k".repeat(len - 1));
            for key in [ascii, accented] {
                let json = format!(r#"{{"{key}":[{{"z":1}}],"a":true}}"#);
                let fast: Sample = from_slice(json.as_bytes()).unwrap();
                assert_eq!(
                    fast,
                    serde_json::from_str::<Sample>(&json).unwrap(),
                    "{json}"
                );
            }
            for at in [0, len - 1] {
                let mut json = format!(r#"{{"{}":1,"a":true}}"#, "k".repeat(len)).into_bytes();
                json[2 + at] = 0xff;
                assert_eq!(
                    from_slice::<Sample>(&json),
                    Err(Declined),
                    "key length {len}"
                );
            }
        }
    }
}
