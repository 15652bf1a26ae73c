//! PodSecurityPolicy and RBAC objects from JSON: parsing, validation, the table and the RBAC
//! authorizer must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let objects = match &value {
        serde_json::Value::Array(items) => items.iter().collect::<Vec<_>>(),
        other => vec![other],
    };
    let (policies, _) = podsec_psp::policies_from_objects(objects.iter().copied());
    for policy in &policies {
        let _ = podsec_psp::validate_policy(policy);
    }
    let _ = podsec_psp::render_policy_table(&policies);
    let _ = podsec_psp::RbacAuthorizer::from_objects(objects.iter().copied());
});
