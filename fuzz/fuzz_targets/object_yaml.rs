//! Manifests as YAML (serde-saphyr): decoding a lean object and judging it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsec_admission::Object;
use podsec_pss::{Level, LevelVersion, Version, evaluate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(object) = serde_saphyr::from_str::<Object>(text)
        && let Some(pod) = object.pod()
    {
        let _ = evaluate(LevelVersion::new(Level::Restricted, Version::Latest), pod.metadata, pod.spec);
    }
});
