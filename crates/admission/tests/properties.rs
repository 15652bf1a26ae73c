//! Properties over generated input: label resolution follows its fallback rules for any label
//! values, and no request body, however malformed, makes decoding or the decision flow panic.

mod common;

use std::collections::BTreeMap;

use podsec_admission::admit::{Admission, RequestContext, admit};
use podsec_admission::object::Object;
use podsec_admission::policy::{Mode, Policy};
use podsec_admission::review::AdmissionRequest;
use podsec_pss::{Level, Version};
use proptest::prelude::*;
use serde_json::{Value, json};

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("privileged".to_owned()),
        Just("baseline".to_owned()),
        Just("restricted".to_owned()),
        Just("latest".to_owned()),
        (0u32..60).prop_map(|m| format!("v1.{m}")),
        "[a-zA-Z0-9.\\- ]{0,8}",
    ]
}

/// Arbitrary JSON, biased towards the keys the decoders look at.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z]{0,6}".prop_map(Value::from),
        Just(json!("Pod")),
        Just(json!("Deployment")),
        Just(json!("List")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("kind".to_owned()),
            Just("spec".to_owned()),
            Just("template".to_owned()),
            Just("items".to_owned()),
            Just("metadata".to_owned()),
            Just("containers".to_owned()),
            Just("labels".to_owned()),
            Just("jobTemplate".to_owned()),
            "[a-z]{1,4}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn label_resolution_follows_the_fallback_rules(
        values in prop::collection::vec(prop::option::of(label_value()), 6)
    ) {
        let keys = ["enforce", "enforce-version", "audit", "audit-version", "warn", "warn-version"];
        let labels: BTreeMap<String, String> = keys
            .iter()
            .zip(&values)
            .filter_map(|(k, v)| v.as_ref().map(|v| (format!("pod-security.kubernetes.io/{k}"), v.clone())))
            .collect();
        let (policy, errors) = Policy::from_labels(&labels, Policy::PRIVILEGED);
        let mut invalid = 0;
        for (i, mode) in [Mode::Enforce, Mode::Audit, Mode::Warn].into_iter().enumerate() {
            let lv = policy.get(mode);
            if let Some(level) = &values[2 * i] {
                match level.parse::<Level>() {
                    Ok(parsed) => prop_assert_eq!(lv.level, parsed),
                    Err(_) => {
                        invalid += 1;
                        let fallback = if mode == Mode::Enforce { Level::Restricted } else { Level::Privileged };
                        prop_assert_eq!(lv.level, fallback);
                    }
                }
            }
            if let Some(version) = &values[2 * i + 1] {
                match version.parse::<Version>() {
                    Ok(parsed) => prop_assert_eq!(lv.version, parsed),
                    Err(_) => {
                        invalid += 1;
                        prop_assert_eq!(lv.version, Version::Latest);
                    }
                }
            }
        }
        prop_assert_eq!(errors.len(), invalid);
        for error in &errors {
            prop_assert!(error.to_string().starts_with("metadata.labels[pod-security.kubernetes.io/"));
        }
        // Warn never ends up laxer than a valid enforce unless the warn label says so.
        let enforce_valid = values[0].as_ref().is_some_and(|v| v.parse::<Level>().is_ok());
        if enforce_valid && values[4].is_none() {
            prop_assert!(policy.warn.level >= policy.enforce.level);
        }
    }

    #[test]
    fn objects_never_panic_the_decoders(value in json_value()) {
        let text = value.to_string();
        let _ = serde_json::from_str::<Object>(&text);
        let _ = serde_saphyr::from_str::<Object>(&text);
        for kind in [("", "v1", "Pod"), ("apps", "v1", "Deployment"), ("batch", "v1", "CronJob"), ("", "v1", "List")] {
            let gvk = podsec_admission::review::GroupVersionKind::new(kind.0, kind.1, kind.2);
            let _ = Object::from_request_json(&text, &gvk);
        }
    }

    #[test]
    fn requests_never_panic_the_flow(
        object in json_value(),
        old in json_value(),
        resource in prop::sample::select(vec!["pods", "namespaces", "deployments", "cronjobs"]),
        kind in prop::sample::select(vec!["Pod", "Namespace", "Deployment", "CronJob", ""]),
        operation in prop::sample::select(vec!["CREATE", "UPDATE", "DELETE"]),
        enforce in label_value(),
    ) {
        let group = match resource { "deployments" => "apps", "cronjobs" => "batch", _ => "" };
        let request: AdmissionRequest = serde_json::from_value(json!({
            "uid": "u", "operation": operation, "namespace": "ns", "name": "n",
            "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": resource},
        }))
        .expect("request");
        // Raw objects only come from JSON text, so splice them in as text.
        let mut text = serde_json::to_string(&request).expect("encodes");
        text.pop();
        let text = format!("{text},\"object\":{object},\"oldObject\":{old}}}");
        let request: AdmissionRequest = serde_json::from_str(&text).expect("request with objects");
        let cluster = common::StaticCluster {
            labels: BTreeMap::from([
                ("pod-security.kubernetes.io/enforce".to_owned(), enforce),
                ("pod-security.kubernetes.io/warn".to_owned(), "restricted".to_owned()),
            ]),
            pods: Vec::new(),
        };
        let outcome = common::block_on(admit(&Admission::default(), &cluster, &request, RequestContext::default()));
        prop_assert_eq!(outcome.response.uid, "u");
    }
}
