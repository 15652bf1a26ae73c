//! The log lines of the real binary (the serve example, with standard error piped as under a
//! log collector): JSON lines whose keys each appear once, text lines without colour codes.

mod common;

use common::{Process, Review, pod};
use serde::Deserialize as _;

/// Two namespaces: `default` enforces baseline (a privileged pod is denied there).
const NAMESPACES: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n  labels:\n    pod-security.kubernetes.io/enforce: baseline\n";

/// PodSecurityPolicy from a file holding no policy, only RBAC (so `use` is decided offline):
/// every pod is denied by the mutating phase.
const NO_POLICIES: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: nothing\nrules: []\n";

/// Denies a privileged pod on `/validate` (Pod Security Standards) and any pod on `/mutate`
/// (PodSecurityPolicy without policies), then stops the process and returns its logs.
async fn denials_logged_as(format: &str) -> String {
    let mut process = Process::start(
        NAMESPACES,
        &[("psp.yaml", NO_POLICIES)],
        &["--log-format", format, "--psp-file", "psp.yaml"],
    )
    .await;
    let client = common::client(&[&process.pki.ca_pem]);
    for (path, privileged) in [("/validate", true), ("/mutate", false)] {
        let review = Review {
            name: "web",
            object: pod("web", "default", privileged),
            ..Review::default()
        }
        .json();
        let response = client
            .post(process.url(path))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&review).expect("json"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200);
        let answer: serde_json::Value =
            serde_json::from_str(&response.text().await.expect("body")).expect("json");
        assert_eq!(answer["response"]["allowed"], false, "{path}: {answer}");
    }
    // Its idle connection would otherwise hold the shutdown for the whole drain.
    drop(client);
    process.sigterm();
    let (code, logs) = process.stop().await;
    assert_eq!(code, Some(0), "{logs}");
    logs
}

/// The keys of a JSON object in the order written, duplicates kept (serde_json's `Value` would
/// keep only the last of two equal keys).
struct Keys(Vec<String>);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Keys, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

#[tokio::test]
async fn json_denial_lines_hold_each_key_once() {
    let logs = denials_logged_as("json").await;
    for event in ["denied", "mutation denied"] {
        let line = logs
            .lines()
            .find(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .is_ok_and(|value| value["message"] == event)
            })
            .unwrap_or_else(|| panic!("no {event:?} line in {logs}"));
        let mut deserializer = serde_json::Deserializer::from_str(line);
        let Keys(keys) = Keys::deserialize(&mut deserializer).expect("an object");
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "a key twice: {line}");
        // The denial's text is there, under its own key.
        let value: serde_json::Value = serde_json::from_str(line).expect("json");
        let status_message = value["status_message"].as_str().unwrap_or_default();
        let expected = if event == "denied" {
            "pods \"web\" is forbidden: violates PodSecurity \"baseline:latest\": privileged"
        } else {
            "PodSecurityPolicy: "
        };
        assert!(status_message.contains(expected), "{line}");
    }
}

#[tokio::test]
async fn text_lines_are_not_coloured_when_standard_error_is_not_a_terminal() {
    let logs = denials_logged_as("text").await;
    assert!(logs.contains(" denied "), "{logs}");
    assert!(logs.contains("status_message="), "{logs}");
    assert!(!logs.contains('\u{1b}'), "colour codes in {logs:?}");
}
