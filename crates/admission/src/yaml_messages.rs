//! serde-saphyr's error messages as a user should read them: where the library speaks to the
//! programmer (a Rust type to use, a parser event it expected), say what serde_json says for
//! the same mistake in the same document. Shared by `podsec check`'s manifests and the
//! `--config` files, so that one mistake reads the same in both.

use std::borrow::Cow;

use serde_saphyr::MessageFormatter;

/// The [`MessageFormatter`] for errors shown to users.
pub struct UserMessages;

impl MessageFormatter for UserMessages {
    fn format_message<'a>(&self, error: &'a serde_saphyr::Error) -> Cow<'a, str> {
        match original(error) {
            // serde-saphyr's own text ends `…; use Option<String>`: advice about Rust types.
            serde_saphyr::Error::NullIntoString { .. } => {
                Cow::Borrowed("invalid type: null, expected a string")
            }
            serde_saphyr::Error::InvalidCharNull { .. } => {
                Cow::Borrowed("invalid type: null, expected a character")
            }
            // `expected sequence start` names a parser event; serde_json's wording for the
            // same mistake names what the field holds.
            serde_saphyr::Error::Unexpected {
                expected: "sequence start",
                ..
            } => Cow::Borrowed("invalid type, expected a sequence"),
            serde_saphyr::Error::Unexpected {
                expected: "mapping start",
                ..
            } => Cow::Borrowed("invalid type, expected a map"),
            // serde-saphyr's text speaks of its own configuration. kubectl converts YAML to
            // JSON first, and Go's JSON encoder refuses the value as unsupported.
            serde_saphyr::Error::NonFiniteFloat { value, .. } => Cow::Owned(format!(
                "unsupported value: `{value}` is not a finite number, which JSON cannot hold"
            )),
            _ => serde_saphyr::DefaultMessageFormatter.format_message(error),
        }
    }
}

/// The error itself, under the source excerpt and the alias that led there, if any.
pub fn original(mut error: &serde_saphyr::Error) -> &serde_saphyr::Error {
    while let serde_saphyr::Error::WithSnippet { error: inner, .. }
    | serde_saphyr::Error::AliasError { error: inner, .. } = error
    {
        error = inner;
    }
    error
}
