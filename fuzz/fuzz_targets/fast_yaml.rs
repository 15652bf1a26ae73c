//! The YAML fast path of `podsec check` against serde-saphyr: whatever the fast path accepts,
//! serde-saphyr (configured as `decode` configures it: its options, and quoted scalars read as
//! strings through `Strict`) must accept and decode to the same value, as a `serde_json::Value`
//! and as the lean `Object`; and neither may panic.
#![no_main]

use std::marker::PhantomData;

use libfuzzer_sys::fuzz_target;
use podsec_admission::Object;
use podsec_admission::yaml_strict::Strict;
use serde::Deserialize;

// The fast path lives in the CLI binary; its files are compiled here as they are.
#[path = "../../crates/cli/src/input"]
#[allow(dead_code)]
mod input {
    pub mod fast_yaml;
    pub mod saphyr_options;
}

/// serde-saphyr as `decode` runs it when the fast path refuses (`decode::saphyr_seed_with`
/// with `strict`).
fn saphyr<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, serde_saphyr::Error> {
    serde_saphyr::with_deserializer_from_str_with_options(
        text,
        input::saphyr_options::yaml_options(text.len()),
        |de| T::deserialize(Strict(de)),
    )
}

/// The fast path as `decode` runs it (`from_str` is only compiled for the CLI's tests).
fn fast<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, input::fast_yaml::FastYamlError> {
    input::fast_yaml::from_str_seed(text, PhantomData::<T>)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(fast) = fast::<serde_json::Value>(text) {
        let slow: serde_json::Value =
            saphyr(text).expect("serde-saphyr rejects a document the fast path accepts");
        assert_eq!(fast, slow);
    }
    if let Ok(fast) = fast::<Object>(text) {
        let slow: Object =
            saphyr(text).expect("serde-saphyr rejects a document the fast path accepts");
        assert_eq!(fast, slow);
    }
});
