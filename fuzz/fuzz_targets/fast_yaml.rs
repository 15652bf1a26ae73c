//! The YAML fast path of `podsec check` against serde-saphyr: whatever the fast path accepts,
//! serde-saphyr (configured as `decode` configures it) must accept and decode to the same value,
//! as a `serde_json::Value` and as the lean `Object`; and neither may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsec_admission::Object;

// The fast path lives in the CLI binary; its files are compiled here as they are.
#[path = "../../crates/cli/src/input"]
#[allow(dead_code)]
mod input {
    pub mod fast_yaml;
}

/// The options of `decode_yaml` in crates/cli/src/input/decode.rs.
fn options(length: usize) -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 128,
            max_events: length.max(1_000_000),
            max_nodes: length.max(250_000),
            max_total_scalar_bytes: length.max(64 * 1024 * 1024),
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 250_000,
        },
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        legacy_octal_numbers: true,
        emit_comments: false,
        with_snippet: false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(fast) = input::fast_yaml::from_str::<serde_json::Value>(text) {
        let slow: serde_json::Value = serde_saphyr::from_str_with_options(text, options(text.len()))
            .expect("serde-saphyr rejects a document the fast path accepts");
        assert_eq!(fast, slow);
    }
    if let Ok(fast) = input::fast_yaml::from_str::<Object>(text) {
        let slow: Object = serde_saphyr::from_str_with_options(text, options(text.len()))
            .expect("serde-saphyr rejects a document the fast path accepts");
        assert_eq!(fast, slow);
    }
});
