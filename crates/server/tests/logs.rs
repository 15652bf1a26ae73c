//! The log lines of the real binary (the serve example, with standard error piped as under a
//! log collector): text lines without colour codes.

mod common;

use common::{Process, Review, pod};

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

#[tokio::test]
async fn text_lines_are_not_coloured_when_standard_error_is_not_a_terminal() {
    let logs = denials_logged_as("text").await;
    assert!(logs.contains(" denied "), "{logs}");
    assert!(!logs.contains('\u{1b}'), "colour codes in {logs:?}");
}
