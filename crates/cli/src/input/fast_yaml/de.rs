//! The serde side: a `Deserializer` for a node whose first token is read,
//! one for scalars (also used for keys and flow entries), and the accessors
//! of block and flow collections.
//!
//! Each method answers as serde-saphyr's `YamlDeserializer` does for the
//! same node (see `deserializer.rs` there); requests the fast path has no use
//! for are refused rather than guessed.

use std::borrow::Cow;

use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::reader::{FlowCursor, Node, Reader, Slot};
use super::scalar::{
    RawScalar, Resolved, check_skipped_plain, parse_int_signed, parse_int_unsigned,
    parse_yaml11_bool, parse_yaml12_float, resolve_plain,
};
use super::{FastYamlError, Unsupported};

/// serde-saphyr's "last wins" buffers a struct's entries and drops repeated
/// keys before the struct sees them; repeated keys in a struct are refused
/// here instead. Structs with more keys than this are refused too, which
/// keeps the linear search for repeats cheap.
const MAX_STRUCT_KEYS: usize = 256;

/// Visits a string, borrowed from the document when it is.
fn visit_text<'de, V: Visitor<'de>>(
    text: Cow<'de, str>,
    visitor: V,
) -> Result<V::Value, FastYamlError> {
    match text {
        Cow::Borrowed(text) => visitor.visit_borrowed_str(text),
        Cow::Owned(text) => visitor.visit_string(text),
    }
}

/// Requests that serde-saphyr answers in ways the fast path does not
/// reproduce (bytes, chars, tuples, unit structs…).
fn unsupported<T>() -> Result<T, FastYamlError> {
    Err(Unsupported::Request.into())
}

/// Refuses the requests the fast path has no use for, rather than guess
/// serde-saphyr's answer (it reads `char`, bytes, tuples and unit structs
/// in ways of its own).
macro_rules! refuse_requests {
    () => {
        fn deserialize_i128<V: Visitor<'de>>(self, _: V) -> Result<V::Value, FastYamlError> {
            unsupported()
        }

        fn deserialize_u128<V: Visitor<'de>>(self, _: V) -> Result<V::Value, FastYamlError> {
            unsupported()
        }

        fn deserialize_char<V: Visitor<'de>>(self, _: V) -> Result<V::Value, FastYamlError> {
            unsupported()
        }

        fn deserialize_bytes<V: Visitor<'de>>(self, _: V) -> Result<V::Value, FastYamlError> {
            unsupported()
        }

        fn deserialize_byte_buf<V: Visitor<'de>>(self, _: V) -> Result<V::Value, FastYamlError> {
            unsupported()
        }

        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            _: V,
        ) -> Result<V::Value, FastYamlError> {
            unsupported()
        }

        fn deserialize_tuple<V: Visitor<'de>>(
            self,
            _: usize,
            _: V,
        ) -> Result<V::Value, FastYamlError> {
            unsupported()
        }

        fn deserialize_tuple_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            _: usize,
            _: V,
        ) -> Result<V::Value, FastYamlError> {
            unsupported()
        }
    };
}

/// Deserializes one scalar.
pub(super) struct ScalarDeserializer<'de> {
    pub(super) scalar: RawScalar<'de>,
}

impl<'de> ScalarDeserializer<'de> {
    /// The text of a scalar asked for as a string: null is an error there.
    fn string_text(&self) -> Result<Cow<'de, str>, FastYamlError> {
        if self.scalar.is_null() {
            return Err(de::Error::custom("null where a string is expected"));
        }
        Ok(self.scalar.text())
    }

    /// [`Self::string_text`] for a value (not a key): a plain scalar that YAML types as a
    /// boolean or a number is an error too (see `podsec_admission::yaml_strict`), which
    /// serde-saphyr then reports with its position.
    fn string_value(&self) -> Result<Cow<'de, str>, FastYamlError> {
        if let RawScalar::Plain(text) = self.scalar
            && !matches!(resolve_plain(text)?, Resolved::Str(_) | Resolved::Null)
        {
            return Err(de::Error::custom(
                "a boolean or a number where a string is expected",
            ));
        }
        self.string_text()
    }

    fn invalid(&self, expected: &str) -> FastYamlError {
        de::Error::custom(format_args!("invalid {expected}"))
    }

    /// A quoted or block scalar is a string, which a boolean or a number is not (see
    /// `podsec_admission::yaml_strict`): an error here, and serde-saphyr reports it with its
    /// position.
    fn plain(&self, expected: &str) -> Result<(), FastYamlError> {
        if self.scalar.is_plain() {
            Ok(())
        } else {
            Err(self.invalid(expected))
        }
    }

    fn signed<T: TryFrom<i128>>(&self) -> Result<T, FastYamlError> {
        self.plain("integer")?;
        parse_int_signed(&self.scalar.text()).ok_or_else(|| self.invalid("integer"))
    }

    fn unsigned<T: TryFrom<u128>>(&self) -> Result<T, FastYamlError> {
        self.plain("integer")?;
        parse_int_unsigned(&self.scalar.text()).ok_or_else(|| self.invalid("integer"))
    }
}

impl<'de> de::Deserializer<'de> for ScalarDeserializer<'de> {
    type Error = FastYamlError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        if !self.scalar.is_plain() {
            return visit_text(self.scalar.text(), visitor);
        }
        let RawScalar::Plain(text) = self.scalar else {
            return unsupported();
        };
        match resolve_plain(text)? {
            Resolved::Null => visitor.visit_unit(),
            Resolved::Bool(b) => visitor.visit_bool(b),
            Resolved::Unsigned(n) => visitor.visit_u64(n),
            Resolved::Signed(n) => visitor.visit_i64(n),
            Resolved::Float(x) => visitor.visit_f64(x),
            Resolved::Str(text) => visitor.visit_borrowed_str(text),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, FastYamlError> {
        if let RawScalar::Plain(text) = self.scalar {
            check_skipped_plain(text)?;
        }
        visitor.visit_unit()
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        self.plain("boolean")?;
        let b = parse_yaml11_bool(&self.scalar.text()).ok_or_else(|| self.invalid("boolean"))?;
        visitor.visit_bool(b)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        visitor.visit_i8(self.signed()?)
    }

    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        visitor.visit_i16(self.signed()?)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        visitor.visit_i32(self.signed()?)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        visitor.visit_i64(self.signed()?)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        visitor.visit_u8(self.unsigned()?)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        visitor.visit_u16(self.unsigned()?)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        visitor.visit_u32(self.unsigned()?)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        visitor.visit_u64(self.unsigned()?)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, FastYamlError> {
        // serde-saphyr parses an `f32` directly, not through `f64`.
        unsupported()
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        self.plain("float")?;
        let x = parse_yaml12_float(&self.scalar.text()).ok_or_else(|| self.invalid("float"))?;
        visitor.visit_f64(x)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        visit_text(self.string_value()?, visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        visit_text(self.string_value()?, visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, FastYamlError> {
        visit_text(self.string_text()?, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        if self.scalar.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        if self.scalar.is_null() {
            visitor.visit_unit()
        } else {
            Err(self.invalid("unit"))
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, FastYamlError> {
        // serde-saphyr's own wrappers (`Spanned`, `Commented`…) are named so.
        if name.starts_with("__yaml") {
            return unsupported();
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FastYamlError> {
        visitor.visit_enum(UnitVariant {
            name: self.scalar.text(),
        })
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, FastYamlError> {
        Err(self.invalid("sequence"))
    }

    fn deserialize_map<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, FastYamlError> {
        Err(self.invalid("mapping"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, FastYamlError> {
        Err(self.invalid("mapping"))
    }

    refuse_requests!();
}

/// An enum written as a scalar: a unit variant named by its text.
struct UnitVariant<'de> {
    name: Cow<'de, str>,
}

impl<'de> de::EnumAccess<'de> for UnitVariant<'de> {
    type Error = FastYamlError;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self), FastYamlError> {
        let variant = match &self.name {
            Cow::Borrowed(name) => {
                seed.deserialize(BorrowedStrDeserializer::<FastYamlError>::new(name))?
            }
            Cow::Owned(name) => {
                let deserializer: StringDeserializer<FastYamlError> =
                    name.clone().into_deserializer();
                seed.deserialize(deserializer)?
            }
        };
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariant<'de> {
    type Error = FastYamlError;

    fn unit_variant(self) -> Result<(), FastYamlError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        _seed: T,
    ) -> Result<T::Value, FastYamlError> {
        unsupported()
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, FastYamlError> {
        unsupported()
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, FastYamlError> {
        unsupported()
    }
}

/// Deserializes any node; the reader is just past its first token.
pub(super) struct NodeDeserializer<'r, 'de> {
    pub(super) reader: &'r mut Reader<'de>,
    pub(super) node: Node<'de>,
}

impl<'de> NodeDeserializer<'_, 'de> {
    fn visit_map<V: Visitor<'de>>(
        self,
        visitor: V,
        is_struct: bool,
    ) -> Result<V::Value, FastYamlError> {
        let seen = is_struct.then(SeenKeys::new);
        match self.node {
            Node::BlockMapping { indent } => {
                self.reader.enter()?;
                let mut access = BlockMapAccess {
                    reader: &mut *self.reader,
                    indent,
                    first: true,
                    value_due: false,
                    seen,
                };
                let value = visitor.visit_map(&mut access)?;
                // serde-saphyr insists that a map visitor reads every entry.
                if access.value_due || access.reader.next_key(indent, &mut access.first)?.is_some()
                {
                    return Err(de::Error::custom("mapping not read to its end"));
                }
                self.reader.leave();
                Ok(value)
            }
            Node::FlowMapping(inner) => {
                self.reader.enter()?;
                let mut access = FlowMapAccess {
                    cursor: FlowCursor::new(inner, true),
                    value: None,
                    seen,
                };
                let value = visitor.visit_map(&mut access)?;
                if access.value.is_some() || access.cursor.next_entry()?.is_some() {
                    return Err(de::Error::custom("mapping not read to its end"));
                }
                self.reader.leave();
                Ok(value)
            }
            Node::Scalar(_) | Node::BlockSequence { .. } | Node::FlowSequence(_) => {
                Err(de::Error::custom("expected a mapping"))
            }
        }
    }

    fn visit_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        match self.node {
            Node::BlockSequence { indent } => {
                self.reader.enter()?;
                let value = visitor.visit_seq(BlockSeqAccess {
                    reader: &mut *self.reader,
                    indent,
                })?;
                // Like serde-saphyr, entries the visitor did not read are
                // skipped (and checked).
                while self.reader.next_entry(indent)? {
                    let entry = self.reader.resolve(indent, Slot::SequenceEntry)?;
                    self.reader.skip(entry)?;
                }
                self.reader.leave();
                Ok(value)
            }
            Node::FlowSequence(inner) => {
                self.reader.enter()?;
                let value = visitor.visit_seq(FlowSeqAccess {
                    cursor: FlowCursor::new(inner, false),
                })?;
                self.reader.leave();
                Ok(value)
            }
            Node::Scalar(_) | Node::BlockMapping { .. } | Node::FlowMapping(_) => {
                Err(de::Error::custom("expected a sequence"))
            }
        }
    }

    fn scalar(&self) -> Result<ScalarDeserializer<'de>, FastYamlError> {
        match self.node {
            Node::Scalar(scalar) => Ok(ScalarDeserializer { scalar }),
            _ => Err(de::Error::custom("expected a scalar")),
        }
    }
}

/// Forwards typed requests to [`ScalarDeserializer`] for scalars; they are
/// errors for collections, as in serde-saphyr.
macro_rules! forward_to_scalar {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
                self.scalar()?.$method(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'_, 'de> {
    type Error = FastYamlError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        match self.node {
            Node::Scalar(scalar) => ScalarDeserializer { scalar }.deserialize_any(visitor),
            Node::BlockMapping { .. } | Node::FlowMapping(_) => self.visit_map(visitor, false),
            Node::BlockSequence { .. } | Node::FlowSequence(_) => self.visit_seq(visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, FastYamlError> {
        self.reader.skip(self.node)?;
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        match self.node {
            Node::Scalar(scalar) if scalar.is_null() => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, FastYamlError> {
        if name.starts_with("__yaml") {
            return unsupported();
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FastYamlError> {
        match self.node {
            Node::Scalar(scalar) => {
                ScalarDeserializer { scalar }.deserialize_enum(name, variants, visitor)
            }
            _ => unsupported(),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        self.visit_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FastYamlError> {
        self.visit_map(visitor, false)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FastYamlError> {
        self.visit_map(visitor, true)
    }

    forward_to_scalar! {
        deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64, deserialize_f32,
        deserialize_f64, deserialize_str, deserialize_string, deserialize_identifier,
        deserialize_unit,
    }

    refuse_requests!();
}

/// Records a key of a struct; refuses a repeated one (see
/// [`MAX_STRUCT_KEYS`]).
fn remember_key<'de>(
    seen: &mut Option<SeenKeys<'de>>,
    key: RawScalar<'de>,
) -> Result<(), FastYamlError> {
    let Some(seen) = seen else { return Ok(()) };
    let text = key.text();
    if seen.len() >= MAX_STRUCT_KEYS || seen.contains(&text) {
        return Err(Unsupported::RepeatedKey.into());
    }
    seen.push(text);
    Ok(())
}

/// How many keys of a struct [`SeenKeys`] holds without allocating: more than most structs of
/// a manifest have. Growing a `Vec` for every struct was a sixth of all allocations of a check.
const INLINE_KEYS: usize = 16;

/// The keys of a struct read so far.
struct SeenKeys<'de> {
    inline: [Cow<'de, str>; INLINE_KEYS],
    /// How many of `inline` are in use.
    len: usize,
    /// The keys after the first [`INLINE_KEYS`].
    more: Vec<Cow<'de, str>>,
}

impl<'de> SeenKeys<'de> {
    fn new() -> Self {
        SeenKeys {
            inline: std::array::from_fn(|_| Cow::Borrowed("")),
            len: 0,
            more: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.len + self.more.len()
    }

    fn contains(&self, key: &str) -> bool {
        let same = |seen: &Cow<'de, str>| seen.as_ref() == key;
        self.inline[..self.len].iter().any(same) || self.more.iter().any(same)
    }

    fn push(&mut self, key: Cow<'de, str>) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = key;
                self.len += 1;
            }
            None => self.more.push(key),
        }
    }
}

struct BlockMapAccess<'r, 'de> {
    reader: &'r mut Reader<'de>,
    indent: usize,
    first: bool,
    value_due: bool,
    seen: Option<SeenKeys<'de>>,
}

impl<'de> de::MapAccess<'de> for BlockMapAccess<'_, 'de> {
    type Error = FastYamlError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, FastYamlError> {
        if self.value_due {
            return Err(de::Error::custom("key requested before the value"));
        }
        let Some(key) = self.reader.next_key(self.indent, &mut self.first)? else {
            return Ok(None);
        };
        remember_key(&mut self.seen, key)?;
        self.value_due = true;
        seed.deserialize(ScalarDeserializer { scalar: key })
            .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, FastYamlError> {
        if !self.value_due {
            return Err(de::Error::custom("value requested before a key"));
        }
        self.value_due = false;
        let node = self.reader.resolve(self.indent, Slot::MappingValue)?;
        seed.deserialize(NodeDeserializer {
            reader: &mut *self.reader,
            node,
        })
    }
}

struct BlockSeqAccess<'r, 'de> {
    reader: &'r mut Reader<'de>,
    indent: usize,
}

impl<'de> de::SeqAccess<'de> for BlockSeqAccess<'_, 'de> {
    type Error = FastYamlError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, FastYamlError> {
        if !self.reader.next_entry(self.indent)? {
            return Ok(None);
        }
        let node = self.reader.resolve(self.indent, Slot::SequenceEntry)?;
        seed.deserialize(NodeDeserializer {
            reader: &mut *self.reader,
            node,
        })
        .map(Some)
    }
}

struct FlowMapAccess<'de> {
    cursor: FlowCursor<'de>,
    value: Option<RawScalar<'de>>,
    seen: Option<SeenKeys<'de>>,
}

impl<'de> de::MapAccess<'de> for FlowMapAccess<'de> {
    type Error = FastYamlError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, FastYamlError> {
        if self.value.is_some() {
            return Err(de::Error::custom("key requested before the value"));
        }
        let Some((key, value)) = self.cursor.next_entry()? else {
            return Ok(None);
        };
        remember_key(&mut self.seen, key)?;
        self.value = value;
        seed.deserialize(ScalarDeserializer { scalar: key })
            .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, FastYamlError> {
        let scalar = self
            .value
            .take()
            .ok_or_else(|| <FastYamlError as de::Error>::custom("value requested before a key"))?;
        seed.deserialize(ScalarDeserializer { scalar })
    }
}

struct FlowSeqAccess<'de> {
    cursor: FlowCursor<'de>,
}

impl<'de> de::SeqAccess<'de> for FlowSeqAccess<'de> {
    type Error = FastYamlError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, FastYamlError> {
        match self.cursor.next_entry()? {
            Some((scalar, _)) => seed.deserialize(ScalarDeserializer { scalar }).map(Some),
            None => Ok(None),
        }
    }
}
