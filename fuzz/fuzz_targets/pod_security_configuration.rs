//! `--config` files: PodSecurityConfiguration / AdmissionConfiguration loading and validation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let no_files = &mut |_: &std::path::Path| Err(std::io::Error::other("no files while fuzzing"));
    if let Ok(config) =
        podsec_admission::config::load_configuration(data, std::path::Path::new("."), no_files)
    {
        let _ = config.complete();
    }
});
