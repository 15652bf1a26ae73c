//! The fast JSON path against serde_json, differentially: pods, objects and reviews decoded on
//! the fast path must be exactly what serde_json decodes, and whatever serde_json refuses must
//! stay refused (the fast path may only decline, never disagree).
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsec_admission::object::{Object, Pod};
use podsec_admission::review::AdmissionReview;

fuzz_target!(|data: &[u8]| {
    if let Ok(fast) = podsec_pss::json::from_slice::<Pod>(data) {
        let serde: Pod =
            serde_json::from_slice(data).expect("serde accepts what the fast path accepts");
        assert_eq!(fast, serde);
    }
    match (
        Object::from_json_slice(data),
        serde_json::from_slice::<Object>(data),
    ) {
        (Ok(both), Ok(serde)) => assert_eq!(both, serde),
        (Err(_), Err(_)) => {}
        (both, serde) => panic!("disagree: {both:?} vs {serde:?}"),
    }
    let both = AdmissionReview::from_json_slice(data);
    let serde = serde_json::from_slice::<AdmissionReview>(data);
    assert_eq!(format!("{both:?}"), format!("{serde:?}"));
});
