//! Manifests as YAML (serde-saphyr): decoding a lean object and judging it must never panic,
//! read with serde-saphyr's defaults or as `podsec check` reads it (its options, scalars typed
//! by `yaml_strict::Strict`). `Strict` only refuses: whatever it reads, the same options read
//! without it to the same object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsec_admission::Object;
use podsec_admission::yaml_strict::Strict;
use podsec_pss::{Level, LevelVersion, Version, evaluate};
use serde::Deserialize;

// The CLI's serde-saphyr options, compiled here as they are.
#[path = "../../crates/cli/src/input/saphyr_options.rs"]
mod saphyr_options;

fn judge(object: &Object) {
    if let Some(pod) = object.pod() {
        let _ = evaluate(
            LevelVersion::new(Level::Restricted, Version::Latest),
            pod.metadata,
            pod.spec,
        );
    }
}

fn with_options(text: &str, strict: bool) -> Result<Object, serde_saphyr::Error> {
    serde_saphyr::with_deserializer_from_str_with_options(
        text,
        saphyr_options::yaml_options(text.len()),
        |de| {
            if strict {
                Object::deserialize(Strict(de))
            } else {
                Object::deserialize(de)
            }
        },
    )
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(object) = serde_saphyr::from_str::<Object>(text) {
        judge(&object);
    }
    if let Ok(strict) = with_options(text, true) {
        let lenient =
            with_options(text, false).expect("Strict reads what the lenient reading refuses");
        assert_eq!(strict, lenient);
        judge(&strict);
    }
});
