//! Manifests as JSON: decoding a lean object and judging its pod at every level must never
//! panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsec_admission::Object;
use podsec_pss::{Level, LevelVersion, Version, evaluate};

fuzz_target!(|data: &[u8]| {
    if let Ok(mut object) = serde_json::from_slice::<Object>(data) {
        object.apply_api_defaults();
        if let Some(pod) = object.pod() {
            for level in Level::ALL {
                for version in [Version::Minor(0), Version::Minor(25), Version::Latest] {
                    let _ = evaluate(LevelVersion::new(level, version), pod.metadata, pod.spec);
                }
            }
        }
    }
});
