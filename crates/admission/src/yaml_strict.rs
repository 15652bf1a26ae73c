//! Booleans and numbers only where YAML writes them as such, and strings only where YAML
//! writes strings.
//!
//! kubectl converts a YAML manifest to JSON with go-yaml's YAML 1.1 types, and the API server's
//! typed decoding of that JSON refuses a value of the wrong type. serde-saphyr is more lenient
//! in both directions, and [`Strict`] wraps its deserializer to refuse what the API server
//! refuses:
//! - A typed request (`bool`, `i64`, …): serde-saphyr gives it the text of any scalar, quoted
//!   or not, so `privileged: "false"` reads as `false`; in JSON a quoted scalar is a string
//!   (`invalid type: string "false", expected a boolean`).
//! - A string request: serde-saphyr gives it the text of any scalar, so `prometheus.io/port:
//!   8080` or a container named `yes` reads as a string; in JSON they are a number and a
//!   boolean (``invalid type: integer `8080`, expected a string``), which is kubectl's familiar
//!   `cannot unmarshal number into Go struct field … of type string`.
//!
//! Both are answered through `deserialize_any`, which types a plain scalar as YAML does (YAML
//! 1.1 booleans, legacy octal, as configured) and leaves a quoted or block scalar a string; the
//! wrong type is then refused with serde's own `invalid type` error, whose text is the one
//! serde_json gives for the same value. serde-saphyr's `no_schema` option is not the same rule:
//! it refuses keys too, where the conversion to JSON keeps the text (`1: a` is the key `"1"`).
//!
//! Everything else is passed through; maps, sequences, options and enums are wrapped so that
//! the rule holds at any depth. Map keys are not wrapped (see above).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};

/// A deserializer whose typed scalar requests refuse strings, and whose string requests refuse
/// booleans and numbers (see the module documentation).
pub struct Strict<D>(pub D);

/// Visitor methods that hand a value on to the inner visitor `self.0` unchanged.
macro_rules! forward_values {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
                self.0.$method(v)
            }
        )*
    };
}

/// Visitor methods that hand a nested deserializer or accessor on to the inner visitor, wrapped
/// in [`Strict`] so that the rule holds below it too.
macro_rules! forward_wrapped {
    ($($method:ident($access:ident: $bound:ident)),* $(,)?) => {
        $(
            fn $method<A: de::$bound<'de>>(self, $access: A) -> Result<V::Value, A::Error> {
                self.0.$method(Strict($access))
            }
        )*
    };
}

/// Which scalar a typed request asks for; strings are refused, everything else goes to the
/// request's own visitor, which checks ranges and types as it would.
struct Scalar<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for Scalar<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_values!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_i128(i128),
        visit_u128(u128),
        visit_f64(f64),
    );

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        Err(de::Error::invalid_type(de::Unexpected::Str(v), &self))
    }
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    forward_wrapped!(
        visit_some(d: Deserializer),
        visit_map(map: MapAccess),
        visit_seq(seq: SeqAccess),
    );
}

/// A string request: strings go to the request's own visitor, a plain scalar that YAML types
/// as a boolean, a number or null is refused as JSON refuses it.
struct Text<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for Text<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_values!(
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
    );

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<V::Value, E> {
        Err(de::Error::invalid_type(de::Unexpected::Bool(v), &self))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<V::Value, E> {
        Err(de::Error::invalid_type(de::Unexpected::Signed(v), &self))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<V::Value, E> {
        Err(de::Error::invalid_type(de::Unexpected::Unsigned(v), &self))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<V::Value, E> {
        let text = format!("integer `{v}`");
        Err(de::Error::invalid_type(de::Unexpected::Other(&text), &self))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<V::Value, E> {
        let text = format!("integer `{v}`");
        Err(de::Error::invalid_type(de::Unexpected::Other(&text), &self))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<V::Value, E> {
        Err(de::Error::invalid_type(de::Unexpected::Float(v), &self))
    }
    /// serde_json's words for a null where a string is expected.
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        Err(de::Error::invalid_type(
            de::Unexpected::Other("null"),
            &self,
        ))
    }
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visit_unit()
    }
}

/// A visitor whose nested deserializers and accessors are wrapped.
struct Wrap<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_values!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    forward_wrapped!(
        visit_some(d: Deserializer),
        visit_newtype_struct(d: Deserializer),
        visit_seq(seq: SeqAccess),
        visit_map(map: MapAccess),
        visit_enum(data: EnumAccess),
    );
}

/// Typed scalar requests go through `deserialize_any` (see [`Scalar`]).
macro_rules! scalar_requests {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                self.0.deserialize_any(Scalar(visitor))
            }
        )*
    };
}

/// Requests passed through with their visitor wrapped.
macro_rules! wrapped_requests {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                self.0.$method(Wrap(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    scalar_requests!(
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
    );

    wrapped_requests!(
        deserialize_any,
        deserialize_char,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(Text(visitor))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(Text(visitor))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, Wrap(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, Wrap(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, Wrap(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, Wrap(visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_struct(name, fields, Wrap(visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, Wrap(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Strict<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(deserializer))
    }
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        // Keys keep their text (see the module documentation).
        self.0.next_key_seed(seed)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(Strict(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Strict(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for Strict<A> {
    type Error = A::Error;
    type Variant = Strict<A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(Strict(seed))?;
        Ok((value, Strict(variant)))
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Strict(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Wrap(visitor))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::Deserialize;

    use super::Strict;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Fields {
        s: Option<String>,
        b: Option<bool>,
        n: Option<i64>,
    }

    /// `field: scalar` read with [`Strict`].
    fn strict(document: &str) -> Result<Fields, String> {
        serde_saphyr::with_deserializer_from_str_with_options(
            document,
            serde_saphyr::Options::default(),
            |de| Fields::deserialize(Strict(de)),
        )
        .map_err(|e| e.to_string())
    }

    /// What the API server decodes: the document converted to JSON (plain scalars typed by
    /// YAML, the rest strings), then decoded as JSON.
    fn through_json(document: &str) -> Result<Fields, String> {
        let json: serde_json::Value =
            serde_saphyr::from_str(document).map_err(|e| e.to_string())?;
        serde_json::from_value(json).map_err(|e| e.to_string())
    }

    #[test]
    fn scalars_read_as_their_json_conversion_reads() {
        let ok = |s: Option<&str>, b: Option<bool>, n: Option<i64>| {
            Ok::<_, String>(Fields {
                s: s.map(str::to_owned),
                b,
                n,
            })
        };
        let refused = |document: &str| strict(document).map_err(|_| ());
        for (document, expected) in [
            ("s: text", ok(Some("text"), None, None)),
            ("s: \"8080\"", ok(Some("8080"), None, None)),
            ("s: 'yes'", ok(Some("yes"), None, None)),
            ("s: !!str 1.5", ok(Some("1.5"), None, None)),
            ("s: |\n  true\n", ok(Some("true\n"), None, None)),
            ("s: 1.2.3", ok(Some("1.2.3"), None, None)),
            ("s: ~", ok(None, None, None)),
            ("b: yes", ok(None, Some(true), None)),
            ("b: Off", ok(None, Some(false), None)),
            ("n: 0x10", ok(None, None, Some(16))),
            ("n: -7", ok(None, None, Some(-7))),
        ] {
            assert_eq!(
                strict(document).map_err(|_| ()),
                expected.map_err(|_| ()),
                "{document}"
            );
        }
        for document in [
            "s: 8080",
            "s: -1",
            "s: 1.5",
            "s: 1e3",
            "s: yes",
            "s: false",
            "s: [a]",
            "b: 'true'",
            "b: \"no\"",
            "n: '1'",
            "n: 1.5",
        ] {
            assert!(refused(document).is_err(), "{document}");
        }
        let error = strict("s: 8080").expect_err("a number");
        assert!(
            error.contains("invalid type: integer `8080`, expected a string"),
            "{error}"
        );
    }

    /// Plain, quoted and tagged spellings of numbers, booleans, nulls and words.
    fn scalar() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            Just("8080".to_owned()),
            Just("-12".to_owned()),
            Just("+3".to_owned()),
            Just("0".to_owned()),
            Just("007".to_owned()),
            Just("0x1F".to_owned()),
            Just("0o17".to_owned()),
            Just("1.5".to_owned()),
            Just("-0.25".to_owned()),
            Just("1e3".to_owned()),
            Just("true".to_owned()),
            Just("False".to_owned()),
            Just("yes".to_owned()),
            Just("No".to_owned()),
            Just("on".to_owned()),
            Just("OFF".to_owned()),
            Just("null".to_owned()),
            Just("~".to_owned()),
            Just("1.2.3".to_owned()),
            Just("v1.30".to_owned()),
            "[a-z][a-z0-9-]{0,8}",
            "[0-9]{1,6}",
        ];
        (word, 0..4).prop_map(|(word, style)| match style {
            0 => word,
            1 => format!("\"{word}\""),
            2 => format!("'{word}'"),
            _ => format!("!!str {word}"),
        })
    }

    proptest! {
        /// Whatever the spelling, a field reads with [`Strict`] exactly as the API server reads
        /// the document's conversion to JSON: the same value, or an error in both.
        #[test]
        fn strict_reading_agrees_with_the_json_conversion(
            field in prop_oneof![Just("s"), Just("b"), Just("n")],
            value in scalar(),
        ) {
            let document = format!("{field}: {value}\n");
            prop_assert_eq!(strict(&document).ok(), through_json(&document).ok(), "{}", document);
        }
    }
}
