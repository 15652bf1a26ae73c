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
    pub mod saphyr_options;
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(fast) = input::fast_yaml::from_str::<serde_json::Value>(text) {
        let slow: serde_json::Value = serde_saphyr::from_str_with_options(
            text,
            input::saphyr_options::yaml_options(text.len()),
        )
        .expect("serde-saphyr rejects a document the fast path accepts");
        assert_eq!(fast, slow);
    }
    if let Ok(fast) = input::fast_yaml::from_str::<Object>(text) {
        let slow: Object = serde_saphyr::from_str_with_options(
            text,
            input::saphyr_options::yaml_options(text.len()),
        )
        .expect("serde-saphyr rejects a document the fast path accepts");
        assert_eq!(fast, slow);
    }
});
