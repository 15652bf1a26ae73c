//! The webhook's request body: an AdmissionReview (v1, v1beta1) or a bare request. Decoding and
//! the pod's lean object must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsec_admission::Object;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = podsec_admission::review::request_from_slice(data)
        && let Some(raw) = request.object.as_ref()
    {
        let _ = Object::from_request_json(raw.get(), &request.kind);
    }
});
