//! The fast JSON path against serde: whatever `podsec_pss::json` accepts, serde_json accepts
//! with the same value. Checked over upstream's conformance pods (compact and indented) and over
//! generated documents, valid and damaged.

use std::path::PathBuf;

use podsec_pss::json::{self, Declined};
use podsec_pss::pod::{PodMetadata, PodSpec};
use proptest::prelude::*;
use serde_json::Value;

#[derive(Debug, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
struct Pod {
    metadata: PodMetadata,
    spec: PodSpec,
}
podsec_pss::json_struct!(Pod { "metadata" => metadata, "spec" => spec });

/// Fast and serde decoding agree: the fast path may decline, but never disagree.
fn agrees(bytes: &[u8]) -> std::result::Result<bool, String> {
    let fast: Result<Pod, Declined> = json::from_slice(bytes);
    let serde: Result<Pod, _> = serde_json::from_slice(bytes);
    match (fast, serde) {
        (Ok(fast), Ok(serde)) if fast == serde => Ok(true),
        (Ok(fast), Ok(serde)) => Err(format!("fast {fast:?}\nserde {serde:?}")),
        (Ok(fast), Err(e)) => Err(format!("fast accepted what serde refuses ({e}): {fast:?}")),
        (Err(Declined), _) => Ok(false),
    }
}

fn fixtures() -> Option<Vec<PathBuf>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/pss");
    let mut files = Vec::new();
    for level in std::fs::read_dir(&root).ok()? {
        for version in std::fs::read_dir(level.ok()?.path()).ok()? {
            for outcome in std::fs::read_dir(version.ok()?.path()).ok()? {
                for file in std::fs::read_dir(outcome.ok()?.path()).ok()? {
                    files.push(file.ok()?.path());
                }
            }
        }
    }
    Some(files)
}

#[test]
fn every_conformance_pod_decodes_as_serde_decodes_it() {
    let Some(files) = fixtures() else {
        eprintln!("skipping: ../shared/conformance/pss not found beside the checkout");
        return;
    };
    assert!(files.len() > 4000, "found only {} fixtures", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("fixture readable");
        let value: Value = serde_saphyr::from_str(&text).expect("fixture YAML");
        for bytes in [
            serde_json::to_vec(&value).expect("JSON"),
            serde_json::to_vec_pretty(&value).expect("JSON"),
        ] {
            assert_eq!(agrees(&bytes), Ok(true), "{}", file.display());
        }
    }
}

#[test]
fn unusual_input_is_declined_not_misread() {
    let declined = [
        // Duplicate field (serde's derive refuses it).
        r#"{"spec":{"hostPID":true,"hostPID":false}}"#,
        // Escaped key: serde matches the unescaped name; the fast path leaves it to serde.
        r#"{"spec":{"host\u0050ID":true}}"#,
        // Wrong types.
        r#"{"spec":{"hostPID":"true"}}"#,
        r#"{"spec":{"containers":[{"name":null}]}}"#,
        r#"{"spec":{"containers":[{"name":"c","ports":[{"containerPort":8.0}]}]}}"#,
        // Damaged documents.
        r#"{"spec":{"containers":[{"name":"c"}]}"#,
        r#"{"spec":{"dnsPolicy":"a\u12"}}"#,
        r#"{"spec":{"x":[1,,2]}}"#,
        r#"{"spec":{}} trailing"#,
    ];
    for json in declined {
        assert_eq!(agrees(json.as_bytes()), Ok(false), "{json}");
    }
    // The surprises serde also allows are decoded the same way.
    for json in [
        r#"{"spec":{"containers":null,"volumes":[{"name":"v","hostPath":null}]}}"#,
        r#"{"metadata":{"annotations":{"a":"1","a":"2"}}}"#,
        r#"{"spec":{"unknown":{"deep":[{"x":"\u00e9\n"}]},"hostIPC":false}}"#,
    ] {
        assert_eq!(agrees(json.as_bytes()), Ok(true), "{json}");
    }
}

/// Pod-shaped JSON built from the keys the pod view reads, plus a few it does not.
fn pod_like_json() -> impl Strategy<Value = Value> {
    let keys = proptest::sample::select(vec![
        "metadata",
        "spec",
        "name",
        "annotations",
        "ownerReferences",
        "uid",
        "controller",
        "containers",
        "initContainers",
        "ephemeralContainers",
        "securityContext",
        "capabilities",
        "add",
        "drop",
        "volumes",
        "hostPath",
        "emptyDir",
        "ports",
        "containerPort",
        "hostPort",
        "sysctls",
        "seccompProfile",
        "appArmorProfile",
        "seLinuxOptions",
        "type",
        "os",
        "hostNetwork",
        "hostUsers",
        "runAsUser",
        "runAsNonRoot",
        "livenessProbe",
        "lifecycle",
        "postStart",
        "httpGet",
        "host",
        "image",
        "other",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-zA-Z_\"\\\\ é\n\u{1F600}]{0,30}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 96, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(keys.clone().prop_map(String::from), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn generated_documents_never_disagree(value in pod_like_json(), pretty in any::<bool>()) {
        let bytes = if pretty {
            serde_json::to_vec_pretty(&value)
        } else {
            serde_json::to_vec(&value)
        }.expect("JSON");
        if let Err(e) = agrees(&bytes) {
            prop_assert!(false, "{}", e);
        }
    }

    #[test]
    fn damaged_documents_never_disagree(value in pod_like_json(), cut in any::<prop::sample::Index>(), byte in any::<u8>(), insert in any::<bool>()) {
        let mut bytes = serde_json::to_vec(&value).expect("JSON");
        let at = cut.index(bytes.len() + 1);
        if insert {
            bytes.insert(at, byte);
        } else if at < bytes.len() {
            bytes[at] = byte;
        } else {
            bytes.truncate(at / 2);
        }
        if let Err(e) = agrees(&bytes) {
            prop_assert!(false, "{}", e);
        }
    }
}
