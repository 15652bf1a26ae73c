//! `podsec check` end to end: the binary on real files, its exit codes, and snapshots of both
//! output formats.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;
use common::{json, podsec, text, workspace, write_file};

fn shared() -> Option<PathBuf> {
    let shared = workspace().join("../shared");
    if shared.is_dir() {
        Some(shared)
    } else {
        eprintln!("skipping: ../shared not found beside the checkout");
        None
    }
}

fn podsec_with_stdin(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_podsec"))
        .args(args)
        .current_dir(workspace())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podsec runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("podsec finishes")
}

#[test]
fn examples_text_report() {
    let out = podsec(&["check", "examples/", "--color", "never"]);
    assert_eq!(out.status.code(), Some(1), "some examples are denied");
    insta::assert_snapshot!(text(&out.stdout));
}

#[test]
fn examples_json_report() {
    let out = podsec(&["check", "examples/", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_json_snapshot!(json(&out));
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let plain = podsec(&["check", "examples/rollout"]);
    assert!(
        !text(&plain.stdout).contains('\x1b'),
        "not a terminal: no colour"
    );
    let coloured = podsec(&["check", "examples/rollout", "--color", "always"]);
    assert!(text(&coloured.stdout).contains("\x1b[32m"));
}

#[test]
fn rollout_scenario_reports_the_field_guide_messages() {
    let Some(shared) = shared() else { return };
    let scenario = shared.join("scenarios/pss-namespace-rollout");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(scenario.join("expected-admission-response.json")).expect("read"),
    )
    .expect("json");
    let out = podsec(&[
        "check",
        scenario.join("namespace.yaml").to_str().expect("utf-8"),
        scenario.join("pod.yaml").to_str().expect("utf-8"),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let report = json(&out);
    let pod = &report["objects"][0];
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["decision"], "allowed");
    let message = |mode: &str| -> Vec<Value> {
        pod["evaluations"]
            .as_array()
            .expect("evaluations")
            .iter()
            .filter(|e| e["mode"] == mode)
            .map(|e| e["message"].clone())
            .collect()
    };
    assert_eq!(
        message("warn"),
        expected["response"]["warnings"]
            .as_array()
            .expect("warnings")
            .clone()
    );
    assert_eq!(
        message("audit"),
        vec![expected["response"]["auditAnnotations"]["audit-violations"].clone()]
    );
}

/// Upstream's fixtures through the CLI contract: pass fixtures allowed, fail fixtures denied,
/// and the same pods as Deployment templates warn exactly when the pod fails.
#[test]
fn conformance_fixtures_through_the_cli() {
    let Some(shared) = shared() else { return };
    let root = shared.join("conformance/pss");
    let wrapped = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    for level in ["baseline", "restricted"] {
        for minor in 0..=podsec_pss::MAX_KNOWN_MINOR {
            let version = format!("v1.{minor}");
            for outcome in ["pass", "fail"] {
                let dir = root.join(level).join(&version).join(outcome);
                let deployments = wrapped.path().join(level).join(&version).join(outcome);
                std::fs::create_dir_all(&deployments).expect("mkdir");
                for entry in std::fs::read_dir(&dir).expect("fixture dir") {
                    let path = entry.expect("entry").path();
                    let pod = std::fs::read_to_string(&path).expect("fixture");
                    let indented: String = pod.lines().map(|l| format!("    {l}\n")).collect();
                    let deployment = format!(
                        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: test\nspec:\n  selector:\n    matchLabels:\n      test: \"true\"\n  template:\n{indented}"
                    );
                    std::fs::write(
                        deployments.join(path.file_name().expect("name")),
                        deployment,
                    )
                    .expect("write");
                }
                for (target, is_pod) in [(&dir, true), (&deployments, false)] {
                    let out = podsec(&[
                        "check",
                        "--level",
                        level,
                        "--version",
                        &version,
                        "-o",
                        "json",
                        target.to_str().expect("utf-8"),
                    ]);
                    let report = json(&out);
                    let objects = report["objects"].as_array().expect("objects");
                    assert_eq!(
                        objects.len(),
                        std::fs::read_dir(target).expect("dir").count()
                    );
                    for object in objects {
                        checked += 1;
                        let where_ = format!(
                            "{level}/{version}/{outcome}/{} ({})",
                            object["source"], object["kind"]
                        );
                        let want = if outcome == "pass" {
                            "allowed"
                        } else {
                            "denied"
                        };
                        assert_eq!(object["decision"], want, "{where_}");
                        if !is_pod {
                            let warn: Vec<&Value> = object["evaluations"]
                                .as_array()
                                .expect("evaluations")
                                .iter()
                                .filter(|e| e["mode"] == "warn")
                                .collect();
                            assert_eq!(warn.len(), 1, "{where_}");
                            assert_eq!(warn[0]["allowed"] == true, outcome == "pass", "{where_}");
                            if outcome == "fail" {
                                let message = warn[0]["message"].as_str().expect("message");
                                assert!(message.starts_with(&format!(
                                    "would violate PodSecurity \"{level}:{version}\": "
                                )));
                                assert!(!message.contains("unknown forbidden reason"));
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 2 * 4537);
}

#[test]
fn syntax_errors_name_file_document_and_position_and_the_rest_is_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_file(
        &dir,
        "mixed.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers: [{name: c, image: i}]\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: later}\nspec:\n  hostPID: true\n",
    );
    let path = file.to_str().expect("utf-8");
    let out = podsec(&["check", "--level", "baseline", path, "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "unreadable input wins over denial"
    );
    let report = json(&out);
    let names: Vec<&Value> = report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| &o["name"])
        .collect();
    assert_eq!(names, ["ok", "later"]);
    let errors = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["source"], path);
    assert_eq!(errors[0]["document"], 1);
    assert!(
        errors[0]["message"]
            .as_str()
            .expect("message")
            .starts_with("line 1"),
        "{}",
        errors[0]["message"]
    );

    let out = podsec(&["check", "--level", "baseline", path]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("error: {path}: document 1: line ")),
        "{stderr}"
    );
}

#[test]
fn missing_files_are_reported_and_exit_2() {
    let out = podsec(&["check", "does/not/exist.yaml", "examples/rollout"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("does/not/exist.yaml"));
    assert!(
        text(&out.stdout).contains("ALLOWED"),
        "the readable input is still checked"
    );
}

#[test]
fn an_invalid_level_or_version_is_a_usage_error_listing_valid_values() {
    let out = podsec(&["check", "--level", "strict", "examples/"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("privileged, baseline, restricted"),
        "{stderr}"
    );
    let out = podsec(&[
        "check",
        "--level",
        "baseline",
        "--version",
        "1.29",
        "examples/",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("\"latest\" or \"v1.x\""));
}

#[test]
fn versions_newer_than_known_are_judged_as_latest_and_printed_as_written() {
    let out = podsec(&[
        "check",
        "--level",
        "restricted",
        "--version",
        "v1.99",
        "examples/rollout/pod.yaml",
        "-o",
        "json",
    ]);
    let report = json(&out);
    let enforce = &report["objects"][0]["evaluations"][0];
    assert_eq!(enforce["version"], "v1.99");
    assert!(
        enforce["message"]
            .as_str()
            .expect("message")
            .starts_with("violates PodSecurity \"restricted:v1.99\": ")
    );
}

#[test]
fn standard_input_is_read_with_its_namespaces() {
    let input = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: relaxed}\nspec:\n  containers: [{name: c, image: i}]\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: relaxed\n  labels: {pod-security.kubernetes.io/enforce: baseline}\n";
    let out = podsec_with_stdin(&["check", "-", "-o", "json"], input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["objects"][0]["source"], "-");
    assert_eq!(report["objects"][0]["policy"]["source"], "namespaceLabels");
    assert_eq!(report["objects"][0]["decision"], "allowed");
}

#[test]
fn config_defaults_and_exemptions_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_file(
        &dir,
        "config.yaml",
        "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\ndefaults:\n  enforce: baseline\nexemptions:\n  usernames: [ci-bot]\n  namespaces: [kube-system]\n",
    );
    let config = config.to_str().expect("utf-8");
    let out = podsec(&[
        "check",
        "--config",
        config,
        "examples/workloads/node-escape.yaml",
        "-o",
        "json",
    ]);
    let report = json(&out);
    assert_eq!(report["objects"][0]["policy"]["source"], "config");
    assert_eq!(report["objects"][0]["policy"]["enforce"], "baseline:latest");
    assert_eq!(report["objects"][0]["decision"], "denied");
    let out = podsec(&[
        "check",
        "--config",
        config,
        "--as",
        "ci-bot",
        "examples/workloads/node-escape.yaml",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let report = json(&out);
    assert_eq!(report["objects"][0]["decision"], "exempt");
    assert_eq!(report["objects"][0]["reason"], "user");

    std::fs::write(dir.path().join("bad.yaml"), "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\ndefaults:\n  enforce: strict\n").expect("write");
    let out = podsec(&[
        "check",
        "--config",
        dir.path().join("bad.yaml").to_str().expect("utf-8"),
        "examples/",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("must be one of privileged, baseline, restricted"),
        "{}",
        text(&out.stderr)
    );
}

/// A broken `--config` is named with the place of the problem, in the file that holds it.
#[test]
fn config_errors_name_the_file_and_the_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let path = write_file(&dir, name, text);
        path.to_str().expect("utf-8").to_owned()
    };
    let head =
        "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n";
    let unknown = write(
        "unknown.yaml",
        &format!("{head}exemptions:\n  usernames: []\n  namespaces: []\n  runtimeclasses: []\n"),
    );
    let two = write("two.yaml", &format!("{head}---\n{head}"));
    let inline = write(
        "inline.yaml",
        "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  configuration:\n    apiVersion: pod-security.admission.config.k8s.io/v1\n    kind: PodSecurityConfiguration\n    exemptions:\n      runtimeclasses: []\n",
    );
    let by_path = |name: &str, target: &str| {
        write(
            name,
            &format!(
                "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  path: {target}\n"
            ),
        )
    };
    let to_unknown = by_path("to-unknown.yaml", "unknown.yaml");
    let to_missing = by_path("to-missing.yaml", "missing.yaml");
    let in_dir = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    let field = "strict decoding error: unknown field \"exemptions.runtimeclasses\"";
    let missing = std::fs::read(in_dir("missing.yaml")).expect_err("no such file");
    for (config, expected) in [
        (
            &unknown,
            format!("error: --config {unknown}: line 6, column 3: {field}\n"),
        ),
        (
            &two,
            format!(
                "error: --config {two}: a configuration file must hold exactly one YAML document, but a second one starts on line 3\n"
            ),
        ),
        (
            &inline,
            format!("error: --config {inline}: line 9, column 7: {field}\n"),
        ),
        (
            &to_unknown,
            format!(
                "error: --config {to_unknown}: the PodSecurity plugin configuration {}: line 6, column 3: {field}\n",
                in_dir("unknown.yaml")
            ),
        ),
        (
            &to_missing,
            format!(
                "error: --config {to_missing}: cannot read the PodSecurity plugin configuration {}: {missing}\n",
                in_dir("missing.yaml")
            ),
        ),
    ] {
        let out = podsec(&["check", "--config", config, "examples/rollout/pod.yaml"]);
        assert_eq!(out.status.code(), Some(2), "{config}");
        assert_eq!(text(&out.stderr), expected);
    }
}

#[test]
fn as_a_kubectl_plugin_usage_says_kubectl_podsec() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = dir.path().join("kubectl-podsec");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_podsec"), &plugin).expect("symlink");
    let out = Command::new(&plugin)
        .args(["check", "--help"])
        .output()
        .expect("plugin runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("Usage: kubectl podsec check"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn admission_reviews_and_bare_requests_are_judged_by_the_object_they_carry() {
    let Some(shared) = shared() else { return };
    let review = shared.join("scenarios/pss-namespace-rollout/admission-request.json");
    let out = podsec(&[
        "check",
        "--level",
        "baseline",
        review.to_str().expect("utf-8"),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["objects"][0]["kind"], "Pod");
    assert_eq!(report["objects"][0]["name"], "test-pss");
    assert_eq!(report["objects"][0]["decision"], "allowed");

    let dir = tempfile::tempdir().expect("tempdir");
    let bare = write_file(
        &dir,
        "request.json",
        r#"{"uid": "1", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "namespace": "team-a",
            "operation": "CREATE", "object": {"metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "i", "securityContext": {"privileged": true}}]}}}"#,
    );
    let out = podsec(&[
        "check",
        "--level",
        "baseline",
        bare.to_str().expect("utf-8"),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = json(&out);
    let object = &report["objects"][0];
    assert_eq!(
        (&object["kind"], &object["namespace"], &object["decision"]),
        (
            &Value::from("Pod"),
            &Value::from("team-a"),
            &Value::from("denied")
        )
    );
}

/// An error in the object an admission payload carries is placed in the file, not in the
/// object's own text.
#[test]
fn errors_in_a_request_object_are_placed_in_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let path = write_file(&dir, name, text);
        path.to_str().expect("utf-8").to_owned()
    };
    let review_json = write(
        "review.json",
        "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\",\n \"request\": {\"uid\": \"1\",\n  \"kind\": {\"group\": \"\", \"version\": \"v1\", \"kind\": \"Pod\"},\n  \"operation\": \"UPDATE\",\n  \"oldObject\": {\"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}},\n  \"object\": {\"kind\": \"Pod\", \"apiVersion\": \"v1\",\n    \"metadata\": {\"name\": \"p\", \"labels\": {\"n\": 4000}}}}}\n",
    );
    // By the request's kind: the object names none.
    let bare_json = write(
        "request.json",
        "{\"kind\": {\"group\": \"apps\", \"version\": \"v1\", \"kind\": \"Deployment\"},\n \"operation\": \"CREATE\",\n \"object\": {\"metadata\": {\"name\": \"d\"},\n   \"spec\": {\"template\": {\"spec\": {\"hostPID\": \"yes\"}}}}}\n",
    );
    let review_yaml = write(
        "review.yaml",
        "apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\nrequest:\n  kind: {group: '', version: v1, kind: Pod}\n  operation: CREATE\n  object:\n    apiVersion: v1\n    kind: Pod\n    metadata: {name: p}\n    spec:\n      hostPID: notabool\n",
    );
    for (path, expected) in [
        (
            &review_json,
            "line 7, column 50: request.object.metadata.labels.n: invalid type: integer `4000`, expected a string",
        ),
        (
            &bare_json,
            "line 4, column 50: object.spec.template.spec.hostPID: invalid type: string \"yes\", expected a boolean",
        ),
        (
            &review_yaml,
            "line 11, column 16: request.object.spec.hostPID: invalid boolean",
        ),
    ] {
        let out = podsec(&["check", "--level", "baseline", path, "-o", "json"]);
        assert_eq!(out.status.code(), Some(2), "{path}");
        let report = json(&out);
        assert_eq!(report["errors"][0]["message"], expected, "{path}");
    }

    let Some(shared) = shared() else { return };
    let corpus = shared
        .join("corpus/admissionreview/kubewarden__policy-server__tests__data__pod_sleep_4s.json");
    let out = podsec(&["check", corpus.to_str().expect("utf-8"), "-o", "json"]);
    let report = json(&out);
    assert_eq!(
        report["errors"][0]["message"],
        "line 45, column 56: request.object.metadata.annotations.kubewarden.sleep_duration_milliseconds: invalid type: integer `4000`, expected a string"
    );
}

/// A request without an object (a DELETE) has nothing to judge; it is skipped, and says so.
/// Something that merely decodes as an empty request is not taken for one.
#[test]
fn a_request_without_an_object_is_skipped_with_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let delete = write_file(
        &dir,
        "delete.json",
        r#"{"uid": "2", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "name": "web", "namespace": "team-a", "operation": "DELETE",
            "oldObject": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}}"#,
    );
    let out = podsec(&["check", delete.to_str().expect("utf-8"), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    let object = &report["objects"][0];
    assert_eq!(
        [
            &object["apiVersion"],
            &object["kind"],
            &object["namespace"],
            &object["name"],
            &object["decision"],
            &object["reason"]
        ],
        [
            "apps/v1",
            "Deployment",
            "team-a",
            "web",
            "skipped",
            "the DELETE request carries no object to judge"
        ]
    );
    let out = podsec(&["check", delete.to_str().expect("utf-8")]);
    assert!(
        text(&out.stdout).contains("SKIPPED Deployment team-a/web"),
        "{}",
        text(&out.stdout)
    );

    let broken = write_file(
        &dir,
        "broken.json",
        r#"{"metadata": {"name": ["not", "a", "name"]}}"#,
    );
    let out = podsec(&["check", broken.to_str().expect("utf-8"), "-o", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .expect("message")
            .starts_with("line 1, column "),
        "{report}"
    );

    let Some(shared) = shared() else { return };
    let corpus = shared
        .join("corpus/admissionreview/kubewarden__policies__policies__echo__test_data__delete_reject.json");
    let out = podsec(&["check", corpus.to_str().expect("utf-8"), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["objects"][0]["decision"], "skipped");
    assert_eq!(report["objects"][0]["kind"], "Deployment");
}

/// The first pass skips what cannot hold cluster state, but never state spelled with escapes or
/// tags, nor state written after a long run of other documents, in a file or on standard input.
#[test]
fn namespaces_count_however_they_are_written() {
    let pod = |name: &str, namespace: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  containers: [{{name: c, image: i}}]\n---\n"
        )
    };
    let namespace = |kind: &str, name: &str| {
        format!(
            "apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n  labels: {{pod-security.kubernetes.io/enforce: baseline}}\n---\n"
        )
    };
    let mut input = String::new();
    for i in 0..2000 {
        input.push_str(&pod(&format!("p{i}"), "plain"));
    }
    input.push_str(&pod("escaped", "escaped"));
    input.push_str(&pod("binary", "binary"));
    input.push_str(&namespace("Namespace", "plain"));
    input.push_str(&namespace("\"Name\\u0073pace\"", "escaped"));
    input.push_str(&namespace("!!binary TmFtZXNwYWNl", "binary"));
    input.push_str(&pod("after", "plain"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(&dir, "state.yaml", &input);
    let path = path.to_string_lossy().into_owned();
    for out in [
        podsec(&["check", &path, "-o", "json"]),
        podsec_with_stdin(&["check", "-", "-o", "json"], &input),
    ] {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let report = json(&out);
        let objects = report["objects"].as_array().expect("objects");
        assert_eq!(objects.len(), 2003);
        for object in objects {
            assert_eq!(object["policy"]["source"], "namespaceLabels", "{object}");
        }
    }
}

#[test]
fn workloads_without_a_pod_spec_or_of_another_api_group_are_skipped_not_allowed() {
    let manifests = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: typo}
spec: {tempalte: {spec: {hostPID: true, containers: [{name: c}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: bare}
---
apiVersion: example.com/v1
kind: Deployment
metadata: {name: custom}
spec: {template: {spec: {hostPID: true, containers: [{name: c}]}}}
---
apiVersion: v1
kind: PodList
items:
- metadata: {name: listed}
  spec: {hostPID: true, containers: [{name: c}]}
";
    let output = podsec_with_stdin(
        &["check", "--level", "baseline", "-o", "json", "-"],
        manifests,
    );
    assert_eq!(output.status.code(), Some(1), "the listed pod is denied");
    let report = json(&output);
    let objects = report["objects"].as_array().expect("objects");
    let verdicts: Vec<(&str, &str, &str)> = objects
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap_or_default(),
                o["decision"].as_str().unwrap_or_default(),
                o["reason"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            (
                "typo",
                "skipped",
                "this Deployment has no pod spec at spec.template.spec"
            ),
            ("bare", "skipped", "this Pod has no pod spec at spec"),
            (
                "custom",
                "skipped",
                "example.com/v1 Deployment is not the Kubernetes Deployment, whose API group is \"apps\""
            ),
            ("listed", "denied", ""),
        ]
    );
    assert_eq!(objects[3]["kind"], "Pod", "a PodList's items are Pods");
    assert_eq!(objects[3]["apiVersion"], "v1");
}

/// `podsec check … | head -1`: the reader goes away before the report is written, and the exit
/// status must still tell the verdicts (and errors), quietly, for text and JSON alike. The pipe is
/// closed before podsec starts, so every write fails, the first one already.
#[test]
fn a_closed_output_pipe_does_not_change_the_exit_status() {
    let allowed = "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers: [{name: c, image: i}]\n---\n";
    let denied = "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  hostPID: true\n  containers: [{name: c, image: i}]\n";
    // Enough allowed pods before the denied one that the report outgrows every buffer: the
    // pipe breaks before the denied pod is judged.
    let dir = tempfile::tempdir().expect("tempdir");
    let denied_last = write_file(
        &dir,
        "denied-last.yaml",
        format!("{}{denied}", allowed.repeat(2000)),
    );
    let broken = write_file(&dir, "broken.yaml", format!("{allowed}a: [\n"));
    let run = |args: &[&str]| -> Output {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        Command::new(env!("CARGO_BIN_EXE_podsec"))
            .args(args)
            .current_dir(workspace())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("podsec runs")
    };
    let denied_last = denied_last.to_str().expect("utf-8");
    let broken = broken.to_str().expect("utf-8");
    for format in ["text", "json"] {
        let out = run(&["check", "--level", "baseline", "-o", format, denied_last]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{format}: {}",
            text(&out.stderr)
        );
        assert_eq!(
            text(&out.stderr),
            "",
            "{format}: nothing to say about the pipe"
        );
        let out = run(&["check", "--level", "baseline", "-o", format, broken]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{format}: {}",
            text(&out.stderr)
        );
        let out = run(&[
            "check",
            "--level",
            "baseline",
            "-o",
            format,
            "examples/rollout",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            text(&out.stderr)
        );
    }
    // Standard error closed as well (`2>&1 | head`): the input error cannot be shown, the exit
    // status still says there was one.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_podsec"))
        .args(["check", "--level", "baseline", broken])
        .current_dir(workspace())
        .stdout(writer.try_clone().expect("clone"))
        .stderr(writer)
        .output()
        .expect("podsec runs");
    assert_eq!(out.status.code(), Some(2));
}

/// A manifest must not be able to write to the terminal: in text output every control character
/// that comes from the input (names, namespaces, kinds, details, label values, file names,
/// service accounts, `--as`) is shown escaped, so a crafted manifest cannot fake or hide a
/// verdict line. JSON keeps the input's characters exactly (serde escapes them).
#[test]
fn text_output_escapes_control_characters_from_the_input() {
    let manifest = r#"apiVersion: v1
kind: Namespace
metadata:
  name: "ns\e[2K"
  labels:
    pod-security.kubernetes.io/enforce: "baseline\e[31m"
    pod-security.kubernetes.io/warn: restricted
---
apiVersion: v1
kind: Pod
metadata:
  name: "p\u009b31m\r\u007f\t"
  namespace: "ns\e[2K"
spec:
  serviceAccountName: "sa\e]0;title\a"
  hostPID: true
  containers:
  - name: "x\"y\e[31m"
    image: i
    securityContext: {privileged: true}
---
apiVersion: "v1\u0085"
kind: "Config\eMap"
metadata: {name: "cm\n\u2713 ALLOWED fake"}
---
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata: {name: strict}
spec:
  privileged: false
  seLinux: {rule: RunAsAny}
  runAsUser: {rule: RunAsAny}
  supplementalGroups: {rule: RunAsAny}
  fsGroup: {rule: RunAsAny}
"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write_file(&dir, "in\u{1b}[8m.yaml", manifest);
    let broken = write_file(&dir, "broken\u{9b}.yaml", "a: [\n");
    let (input, broken) = (
        input.to_str().expect("utf-8"),
        broken.to_str().expect("utf-8"),
    );
    let user = "me\u{1b}[0m";

    for colour in ["never", "always"] {
        let out = podsec(&["check", "--as", user, "--color", colour, input, broken]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let mut shown = text(bytes);
            // The report's own colours, and nothing else, may reach the terminal.
            for style in [
                "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[2m", "\x1b[1m", "\x1b[0m",
            ] {
                shown = shown.replace(style, "");
            }
            let raw: Vec<char> = shown
                .chars()
                .filter(|&c| c.is_control() && c != '\n')
                .collect();
            assert!(raw.is_empty(), "{colour} {stream}: {raw:?} in\n{shown}");
        }
        let stdout = text(&out.stdout);
        for escaped in [
            r"Pod ns\u{1b}[2K/p\u{9b}31m\r\u{7f}\t",
            r#"container "x"y\u{1b}[31m" must not"#,
            r#"Invalid value: "baseline\x1b[31m""#,
            r"in\u{1b}[8m.yaml, document 1",
            r"Config\u{1b}Map cm\n✓ ALLOWED fake",
            r"v1\u{85} Config\u{1b}Map has no pod template",
            r"sa\u{1b}]0;title\u{7}",
            r"me\u{1b}[0m",
        ] {
            assert!(stdout.contains(escaped), "{escaped} not in\n{stdout}");
        }
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(r"broken\u{9b}.yaml: document 0"),
            "{stderr}"
        );
    }

    // JSON is an interface: the input's characters, exactly.
    let out = podsec(&["check", "--as", user, "-o", "json", input, broken]);
    let report = json(&out);
    let pod = &report["objects"][0];
    assert_eq!(pod["name"], "p\u{9b}31m\r\u{7f}\t");
    assert_eq!(pod["namespace"], "ns\u{1b}[2K");
    assert_eq!(pod["source"], input);
    let detail = &pod["evaluations"][0]["violations"][1]["detail"];
    assert_eq!(
        detail,
        "container \"x\"y\u{1b}[31m\" must not set securityContext.privileged=true"
    );
    assert_eq!(report["errors"][0]["source"], broken);
    // serde_json's escapes: C0 only; DEL and C1 as they are.
    assert!(
        text(&out.stdout).contains("\"name\": \"p\u{9b}31m\\r\u{7f}\\t\""),
        "{}",
        text(&out.stdout)
    );
}

/// A broken JSON document in a stream spoils only itself: it is reported with its file,
/// document and position, and the documents after it are judged, whether the brackets are left
/// open or a string is, in a `.json` file or on standard input.
#[test]
fn a_broken_json_document_does_not_hide_the_ones_after_it() {
    let pod = |name: &str| {
        format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}"}},"spec":{{"hostPID":true,"containers":[{{"name":"c","image":"i"}}]}}}}"#
        )
    };
    let rest = format!("{}\n{}\n{}\n", pod("p2"), pod("p3"), pod("p4"));
    let unclosed = pod("p1");
    let unclosed = &unclosed[..unclosed.len() - 1];
    let unterminated = pod("p1").replacen(r#""v1""#, r#""v1"#, 1);
    let dir = tempfile::tempdir().expect("tempdir");
    // Standard input is a YAML stream: a document that is not JSON is read as flow YAML, and the
    // YAML parser has the last word.
    for (name, first, as_json, as_yaml) in [
        (
            "unclosed.json",
            unclosed,
            "line 1, column 120: EOF while parsing an object",
            "line 1, column 1: unclosed bracket",
        ),
        (
            "unterminated.json",
            unterminated.as_str(),
            "line 1, column 20: expected `,` or `}`",
            "line 1, column 20: ",
        ),
    ] {
        let input = format!("{first}\n{rest}");
        let path = write_file(&dir, name, &input);
        let path = path.to_str().expect("utf-8");
        for (source, position, out) in [
            (
                path,
                as_json,
                podsec(&["check", "--level", "baseline", path, "-o", "json"]),
            ),
            (
                "-",
                as_yaml,
                podsec_with_stdin(&["check", "--level", "baseline", "-", "-o", "json"], &input),
            ),
        ] {
            assert_eq!(out.status.code(), Some(2), "{name} {source}");
            let report = json(&out);
            let judged: Vec<(&Value, &Value, &Value)> = report["objects"]
                .as_array()
                .expect("objects")
                .iter()
                .map(|o| (&o["name"], &o["document"], &o["decision"]))
                .collect();
            let denied = Value::from("denied");
            assert_eq!(
                judged,
                [
                    (&Value::from("p2"), &Value::from(1), &denied),
                    (&Value::from("p3"), &Value::from(2), &denied),
                    (&Value::from("p4"), &Value::from(3), &denied),
                ],
                "{name} {source}"
            );
            let errors = report["errors"].as_array().expect("errors");
            assert_eq!(errors.len(), 1, "{name} {source}: {errors:?}");
            assert_eq!(errors[0]["source"], source);
            assert_eq!(errors[0]["document"], 0);
            let message = errors[0]["message"].as_str().expect("message");
            assert!(message.starts_with(position), "{name} {source}: {message}");
        }
    }
}

/// A user exemption covers what that user requests: a Pod, and a controller's own warn and
/// audit. The controller's pods are created by its service account, which is not exempt, so
/// their enforce verdict stands.
#[test]
fn a_user_exemption_does_not_exempt_the_pods_a_controller_creates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_file(
        &dir,
        "config.yaml",
        "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\ndefaults: {enforce: baseline, warn: baseline, audit: baseline}\nexemptions: {usernames: [alice]}\n",
    );
    let privileged =
        "spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}";
    let manifests = write_file(
        &dir,
        "workloads.yaml",
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d, namespace: ns}}\nspec:\n  template:\n    {privileged}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: ns}}\n{privileged}\n"
        ),
    );
    let args = |output: &'static str| {
        [
            "check",
            "--config",
            config.to_str().expect("utf-8"),
            "--as",
            "alice",
            manifests.to_str().expect("utf-8"),
            "-o",
            output,
        ]
        .map(str::to_owned)
    };
    let json_args = args("json");
    let out = podsec(&json_args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = json(&out);
    let deployment = &report["objects"][0];
    assert_eq!(deployment["decision"], "denied");
    assert_eq!(deployment["reason"], "user");
    let modes: Vec<&Value> = deployment["evaluations"]
        .as_array()
        .expect("evaluations")
        .iter()
        .map(|e| &e["mode"])
        .collect();
    assert_eq!(modes, ["enforce"]);
    let pod = &report["objects"][1];
    assert_eq!(pod["decision"], "exempt");
    assert_eq!(pod["reason"], "user");

    let text_args = args("text");
    let out = podsec(&text_args.iter().map(String::as_str).collect::<Vec<_>>());
    let shown = text(&out.stdout);
    assert!(
        shown.contains("warn and audit exempt by user (--config exemptions); the pods are created by the controller, which is not exempt"),
        "{shown}"
    );
}

/// Only the six policy labels make a namespace labelled: a typo leaves it to the default for
/// unlabelled namespaces instead of turning every mode privileged.
#[test]
fn a_mistyped_policy_label_does_not_make_a_namespace_privileged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifests = write_file(
        &dir,
        "typo.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1, labels: {pod-security.kubernetes.io/enfroce: restricted}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns1}\nspec: {hostPID: true, containers: [{name: c, image: x}]}\n",
    );
    let out = podsec(&["check", manifests.to_str().expect("utf-8"), "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["objects"][0]["decision"], "denied");
    assert_eq!(report["objects"][0]["policy"]["source"], "builtIn");
    assert_eq!(
        report["objects"][0]["policy"]["enforce"],
        "restricted:latest"
    );
}

/// Since Kubernetes 1.28 the API server defaults `hostPort` under `hostNetwork: true` in Pods
/// only: a template's warn and audit see the ports it declares, while the enforce verdict of
/// the pods the controller creates sees the defaulted ones.
#[test]
fn templates_keep_their_ports_and_their_pods_are_defaulted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifests = write_file(
        &dir,
        "job.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      hostNetwork: true\n      containers:\n      - name: c\n        image: x\n        ports: [{containerPort: 80}, {containerPort: 443, hostPort: 8443}]\n",
    );
    let out = podsec(&[
        "check",
        "--level",
        "baseline",
        manifests.to_str().expect("utf-8"),
        "-o",
        "json",
    ]);
    let report = json(&out);
    let evaluations = report["objects"][0]["evaluations"]
        .as_array()
        .expect("evaluations");
    let host_ports = |mode: &str| -> String {
        let evaluation = evaluations
            .iter()
            .find(|e| e["mode"] == mode)
            .unwrap_or_else(|| panic!("no {mode} evaluation: {evaluations:?}"));
        evaluation["violations"]
            .as_array()
            .expect("violations")
            .iter()
            .find(|v| v["check"] == "hostPorts")
            .map(|v| v["detail"].as_str().expect("detail").to_owned())
            .unwrap_or_default()
    };
    assert_eq!(host_ports("warn"), r#"container "c" uses hostPort 8443"#);
    assert_eq!(
        host_ports("enforce"),
        r#"container "c" uses hostPorts 80, 8443"#
    );
}

/// Writes `files` (name, content) to a temporary folder and runs `podsec check --level baseline
/// -o json` on each: the reports, with the paths as given.
fn check_files(files: &[(&str, &str)]) -> Vec<(String, Output)> {
    let dir = tempfile::tempdir().expect("tempdir");
    files
        .iter()
        .map(|(name, content)| {
            let path = write_file(&dir, name, content);
            let path = path.to_string_lossy().into_owned();
            let out = podsec(&["check", "--level", "baseline", &path, "-o", "json"]);
            (name.to_string(), out)
        })
        .collect()
}

/// `(name, item, itemPath, decision)` of every object of a JSON report.
fn judged(report: &Value) -> Vec<(String, Value, Value, String)> {
    report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap_or_default().to_owned(),
                o["item"].clone(),
                o["itemPath"].clone(),
                o["decision"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn error_messages(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            format!(
                "document {}: {}",
                e["document"],
                e["message"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn one_bad_list_item_spoils_only_itself() {
    let priv_pod = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "priv"}, "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": true}}]}}"#;
    let bad_pod = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad"}, "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"runAsUser": "abc"}}]}}"#;
    let ok_pod = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ok"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}"#;
    let json_list = format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n{priv_pod},\n{bad_pod},\n{ok_pod}\n]}}\n"
    );
    // The API's own lists leave the items' kind out.
    let typed_list = json_list
        .replace(r#""kind": "List""#, r#""kind": "PodList""#)
        .replace(r#""kind": "Pod", "#, "");
    let block_yaml = "# a list\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: priv}\n  spec:\n    containers:\n    - {name: c, image: x, securityContext: {privileged: true}}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: bad}\n  spec:\n    containers:\n    - name: c\n      image: x\n      securityContext: {runAsUser: abc}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: ok}\n  spec:\n    containers: [{name: c, image: x}]\n";
    // Anchors take the YAML document off the fast path.
    let anchored_yaml = block_yaml.replace("metadata: {name: ok}", "metadata: &m {name: ok}");
    let typed_yaml = block_yaml
        .replace("kind: List", "kind: PodList")
        .replace("  kind: Pod\n", "");
    let files = [
        ("list.json", json_list.as_str()),
        ("podlist.json", typed_list.as_str()),
        ("list.yaml", json_list.as_str()),
        ("block.yaml", block_yaml),
        ("anchored.yaml", anchored_yaml.as_str()),
        ("podlist.yaml", typed_yaml.as_str()),
    ];
    // Each parser's own words and places, as for a document that is not a list.
    let json_words = r#"invalid type: string "abc", expected i64"#;
    let expected = |name: &str| match name {
        // The field is named from the document.
        "list.json" | "list.yaml" => format!(
            "line 3, column 155: items[1].spec.containers[0].securityContext.runAsUser: {json_words}"
        ),
        // An item without `kind` is decoded once its end is read (JSON), or from the value
        // its members were held in until then (YAML): the error is placed at its end, or at
        // its start.
        "podlist.json" => format!("line 3, column 145: {json_words}"),
        // Held until its end, the item is named as a whole.
        "podlist.yaml" => format!("line 10, column 3: items[1]: {json_words}"),
        _ => {
            "line 18, column 36: items[1].spec.containers[0].securityContext.runAsUser: invalid i64"
                .to_owned()
        }
    };
    for (name, out) in check_files(&files) {
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out.stderr));
        let report = json(&out);
        assert_eq!(
            judged(&report),
            [
                ("priv".into(), 0.into(), Value::Null, "denied".into()),
                ("ok".into(), 2.into(), Value::Null, "allowed".into()),
            ],
            "{name}"
        );
        assert_eq!(
            error_messages(&report),
            [format!("document 0: item 1: {}", expected(&name))],
            "{name}"
        );
    }
}

#[test]
fn lists_in_lists_report_each_item_at_its_own_path() {
    let pod = |name: &str, privileged: bool| {
        format!(
            r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{name}"}}, "spec": {{"containers": [{{"name": "c", "image": "x", "securityContext": {{"privileged": {privileged}}}}}]}}}}"#
        )
    };
    let inner = format!(
        r#"{{"apiVersion": "v1", "kind": "List", "items": [{}, {}]}}"#,
        pod("inner0", true),
        r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "inner1"}, "spec": {"hostNetwork": "true"}}"#
    );
    let json_list = format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n{},\n{inner},\n{}\n]}}\n",
        pod("outer0", false),
        pod("outer2", false)
    );
    let yaml_list = format!(
        "apiVersion: v1\nkind: List\nitems:\n- {}\n- apiVersion: v1\n  kind: List\n  items:\n  - {}\n  - {{apiVersion: v1, kind: Pod, metadata: {{name: inner1}}, spec: {{hostNetwork: \"true\"}}}}\n- {}\n",
        pod("outer0", false),
        pod("inner0", true),
        pod("outer2", false)
    );
    for (name, out) in check_files(&[("nested.json", &json_list), ("nested.yaml", &yaml_list)]) {
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out.stderr));
        let report = json(&out);
        assert_eq!(
            judged(&report),
            [
                ("outer0".into(), 0.into(), Value::Null, "allowed".into()),
                (
                    "inner0".into(),
                    1.into(),
                    serde_json::json!([1, 0]),
                    "denied".into()
                ),
                ("outer2".into(), 2.into(), Value::Null, "allowed".into()),
            ],
            "{name}"
        );
        let errors = error_messages(&report);
        assert_eq!(errors.len(), 1, "{name}: {errors:?}");
        assert!(
            errors[0].starts_with("document 0: item 1.1: line ")
                && errors[0].ends_with(r#"invalid type: string "true", expected a boolean"#),
            "{name}: {errors:?}"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(&dir, "nested.yaml", &yaml_list);
    let out = podsec(&[
        "check",
        "--level",
        "baseline",
        path.to_str().expect("utf-8"),
    ]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Pod default/inner0  (") && stdout.contains(", document 0, item 1.0)\n"),
        "{stdout}"
    );
}

#[test]
fn items_of_a_namespace_list_without_kind_are_namespaces() {
    // As `kubectl get --raw /api/v1/namespaces` returns them.
    let input = concat!(
        r#"{"kind":"NamespaceList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"locked","labels":{"pod-security.kubernetes.io/enforce":"restricted"}},"spec":{"finalizers":["kubernetes"]}}]}"#,
        "\n",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"locked"},"spec":{"containers":[{"name":"c","image":"x"}]}}"#,
        "\n"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(&dir, "cluster.json", input);
    let out = podsec(&["check", path.to_str().expect("utf-8"), "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = json(&out);
    let objects = report["objects"].as_array().expect("objects");
    assert_eq!(objects.len(), 1, "{objects:?}");
    assert_eq!(objects[0]["name"], "p");
    assert_eq!(objects[0]["policy"]["source"], "namespaceLabels");
    assert_eq!(objects[0]["policy"]["enforce"], "restricted:latest");
}

#[test]
fn null_documents_are_skipped_as_kubectl_skips_them() {
    let input = "~\n---\nnull\n---\n--- # empty\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n";
    let (_, out) = check_files(&[("nulls.yaml", input)]).remove(0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(error_messages(&report), Vec::<String>::new());
    let objects = report["objects"].as_array().expect("objects");
    assert_eq!(
        (objects.len(), &objects[0]["document"]),
        (1, &Value::from(4))
    );
}

/// Each input, checked as a file of its own, is refused with exactly its expected error (exit 2).
fn assert_each_refused(cases: &[(String, &str)]) {
    let files: Vec<(String, String)> = cases
        .iter()
        .enumerate()
        .map(|(i, (input, _))| (format!("pod{i}.yaml"), input.clone()))
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_str()))
        .collect();
    for ((name, out), (_, expected)) in check_files(&files).into_iter().zip(cases) {
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out.stderr));
        let report = json(&out);
        assert_eq!(
            error_messages(&report),
            [format!("document 0: {expected}")],
            "{name}"
        );
    }
}

#[test]
fn plain_booleans_and_numbers_are_refused_where_strings_are_expected_as_in_json() {
    let yaml = |metadata: &str, container: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n{metadata}spec:\n  containers:\n  - name: c\n    image: x\n{container}"
        )
    };
    let cases = [
        (
            yaml("  annotations:\n    prometheus.io/port: 8080\n", ""),
            "line 6, column 5: metadata.annotations.prometheus.io/port: invalid type: integer `8080`, expected a string",
        ),
        (
            yaml("  annotations:\n    automountServiceAccountToken: false\n", ""),
            "line 6, column 5: metadata.annotations.automountServiceAccountToken: invalid type: boolean `false`, expected a string",
        ),
        (
            yaml("", "    securityContext:\n      procMount: 1.5\n"),
            "line 10, column 7: spec.containers[0].securityContext.procMount: invalid type: floating point `1.5`, expected a string",
        ),
        (
            // YAML 1.1, as kubectl reads it: `yes` is a boolean.
            yaml("", "  - name: yes\n    image: x\n"),
            "line 9, column 5: spec.containers[1].name: invalid type: boolean `true`, expected a string",
        ),
        (
            // A YAML infinity has no JSON form: kubectl's conversion fails on it.
            yaml("", "  - name: .inf\n    image: x\n"),
            "line 9, column 11: unsupported value: `.inf` is not a finite number, which JSON cannot hold",
        ),
        (
            r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": {"a": 1}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}"#.to_owned(),
            "line 1, column 84: metadata.annotations.a: invalid type: integer `1`, expected a string",
        ),
    ];
    assert_each_refused(&cases);
    // Strings written as strings are strings, whatever they look like; keys keep their text, as
    // the conversion to JSON keeps it.
    let strings = yaml(
        "  annotations:\n    a: \"8080\"\n    b: !!str true\n    c: |\n      1.5\n    1: one\n    true: yes-as-text\n",
        "",
    )
    .replace("yes-as-text", "'yes'");
    let (_, out) = check_files(&[("strings.yaml", &strings)]).remove(0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(error_messages(&json(&out)), Vec::<String>::new());
}

#[test]
fn quoted_booleans_and_numbers_are_refused_in_yaml_as_in_json() {
    let yaml = |fields: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n    image: x\n{fields}"
        )
    };
    let cases = [
        (
            yaml("    securityContext: {privileged: \"false\"}\n"),
            r#"line 8, column 23: spec.containers[0].securityContext.privileged: invalid type: string "false", expected a boolean"#,
        ),
        (
            yaml("    ports: [{containerPort: 80, hostPort: \"8080\"}]\n"),
            r#"line 8, column 33: spec.containers[0].ports[0].hostPort: invalid type: string "8080", expected i32"#,
        ),
        (
            yaml("    securityContext:\n      runAsUser: \"0\"\n"),
            r#"line 9, column 7: spec.containers[0].securityContext.runAsUser: invalid type: string "0", expected i64"#,
        ),
        (
            yaml("  hostNetwork: 'false'\n"),
            r#"line 8, column 3: spec.hostNetwork: invalid type: string "false", expected a boolean"#,
        ),
        (
            r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"hostNetwork": "false", "containers": [{"name": "c", "image": "x"}]}}"#.to_owned(),
            r#"line 1, column 94: spec.hostNetwork: invalid type: string "false", expected a boolean"#,
        ),
    ];
    assert_each_refused(&cases);
    // Plain scalars are typed as YAML types them, as before.
    let plain = yaml(
        "    securityContext: {privileged: no, runAsUser: 1000}\n    ports: [{containerPort: 80, hostPort: 0}]\n  hostNetwork: false\n",
    );
    let (_, out) = check_files(&[("plain.yaml", &plain)]).remove(0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// An input error names the field whose value has the wrong shape, in the report's `field` and
/// in its message, as kubectl does: in a document, in an item of a list (the path from the
/// document), in YAML and in JSON. A syntax error is placed by its line and column only.
#[test]
fn input_errors_name_the_field() {
    let cases = [
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n  - name: d\n    ports: {containerPort: 80}\n",
            Some("spec.containers[1].ports"),
            "line 9, column 12: spec.containers[1].ports: invalid type, expected a sequence",
        ),
        (
            r#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": []}}, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}, "spec": {"hostPID": "yes"}}]}"#,
            Some("items[1].spec.hostPID"),
            r#"item 1: line 1, column 227: items[1].spec.hostPID: invalid type: string "yes", expected a boolean"#,
        ),
        (
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: []}}\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: b}\n    spec: {hostPID: \"yes\"}\n",
            Some("items[0].items[1].spec.hostPID"),
            r#"item 0.1: line 11, column 12: items[0].items[1].spec.hostPID: invalid type: string "yes", expected a boolean"#,
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p\n",
            None,
            "line 3, column 11: unclosed bracket '{'",
        ),
    ];
    let files: Vec<(String, &str)> = cases
        .iter()
        .enumerate()
        .map(|(i, (input, _, _))| (format!("input{i}.yaml"), *input))
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    for ((name, out), (_, field, message)) in check_files(&files).into_iter().zip(&cases) {
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out.stderr));
        let report = json(&out);
        let error = &report["errors"][0];
        assert_eq!(error["field"].as_str(), *field, "{name}: {error}");
        assert_eq!(error["message"], *message, "{name}");
    }
}

/// `null` where a string is read decodes as the API server decodes it (Go leaves the field
/// empty): a container named `""`, an empty label value, which the namespace's policy then
/// refuses as upstream refuses it.
#[test]
fn a_null_where_a_string_is_expected_reads_as_empty_as_in_the_api_server() {
    let input = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    a:\nspec:\n  containers:\n  - name:\n    image: x\n    ports: [{containerPort: null}]\n    securityContext: {capabilities: {add: [null]}}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n  labels:\n    pod-security.kubernetes.io/enforce: ~\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: ns}\nspec: {containers: [{name: c, image: x}]}\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(&dir, "nulls.yaml", input);
    // The namespace's labels decide, not `--level`.
    let out = podsec(&["check", path.to_str().expect("utf-8"), "-o", "json"]);
    let report = json(&out);
    assert_eq!(error_messages(&report), Vec::<String>::new());
    let objects = report["objects"].as_array().expect("objects");
    let messages = |object: &Value| object.to_string();
    assert!(
        messages(&objects[0]).contains(
            r#"container \"\" must not include \"\" in securityContext.capabilities.add"#
        ),
        "{}",
        objects[0]
    );
    assert!(
        messages(&objects[1])
            .contains(r#"Invalid value: \"\": must be one of privileged, baseline, restricted"#),
        "{}",
        objects[1]
    );
}

/// A check that fails in two modes for different reasons gets the fix of each: the seccomp
/// annotation forbidden at v1.18 and the field forbidden today are fixed in different places.
#[test]
fn each_mode_gets_the_fix_its_own_violation_needs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifests = write_file(
        &dir,
        "two-modes.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n  labels:\n    pod-security.kubernetes.io/enforce: baseline\n    pod-security.kubernetes.io/enforce-version: v1.18\n    pod-security.kubernetes.io/warn: baseline\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: ns1}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata:\n      labels: {a: b}\n      annotations: {seccomp.security.alpha.kubernetes.io/pod: unconfined}\n    spec:\n      securityContext: {seccompProfile: {type: Unconfined}}\n      containers: [{name: c, image: x}]\n",
    );
    let out = podsec(&["check", manifests.to_str().expect("utf-8")]);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("fix [seccompProfile_baseline]: set the seccomp annotations to runtime/default, docker/default or localhost/<profile>, or remove them (in spec.template.metadata.annotations)"),
        "{shown}"
    );
    assert!(
        shown.contains("fix [seccompProfile_baseline]: set seccompProfile.type to RuntimeDefault or Localhost (or leave it unset) (in spec.template.spec)"),
        "{shown}"
    );
}

/// Username exemptions name whoever makes the request: the user of an AdmissionReview in the
/// input (not `--as`), and for a template's pods the controller's service account.
#[test]
fn exemptions_look_at_the_user_who_makes_the_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_file(
        &dir,
        "config.yaml",
        "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\ndefaults: {enforce: baseline, warn: baseline, audit: baseline}\nexemptions: {usernames: [alice, \"system:serviceaccount:kube-system:replicaset-controller\"]}\n",
    );
    let review = write_file(
        &dir,
        "review.json",
        r#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "1",
            "kind": {"group": "", "version": "v1", "kind": "Pod"}, "namespace": "ns", "operation": "CREATE",
            "userInfo": {"username": "alice"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                       "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": true}}]}}}}"#,
    );
    let deployment = write_file(
        &dir,
        "deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: ns}\nspec:\n  template:\n    spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}\n",
    );
    let config = config.to_str().expect("utf-8");
    let out = podsec(&[
        "check",
        "--config",
        config,
        review.to_str().expect("utf-8"),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["objects"][0]["decision"], "exempt");
    assert_eq!(report["objects"][0]["reason"], "user");

    // The review's own user decides, whatever --as says: bob is not exempt, alice would be.
    let bobs = std::fs::read_to_string(&review)
        .expect("review")
        .replace(r#""username": "alice""#, r#""username": "bob""#);
    let bobs = write_file(&dir, "bobs-review.json", &bobs);
    let out = podsec(&[
        "check",
        "--config",
        config,
        "--as",
        "alice",
        bobs.to_str().expect("utf-8"),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(json(&out)["objects"][0]["decision"], "denied");

    // The ReplicaSet controller is exempt: the Deployment's pods are, its own warning is not.
    let out = podsec(&[
        "check",
        "--config",
        config,
        deployment.to_str().expect("utf-8"),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["objects"][0]["decision"], "allowed");
    let modes: Vec<&Value> = report["objects"][0]["evaluations"]
        .as_array()
        .expect("evaluations")
        .iter()
        .map(|e| &e["mode"])
        .collect();
    assert!(!modes.contains(&&Value::from("enforce")), "{modes:?}");
    assert!(modes.contains(&&Value::from("warn")), "{modes:?}");
    // An allowed workload that violates its namespace's policy says why.
    assert_eq!(report["objects"][0]["reason"], "controller");
    let out = podsec(&[
        "check",
        "--config",
        config,
        deployment.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains(
            "pods exempt from the Pod Security Standards by user (--config exemptions): the controller's service account, which creates them, is exempt; warn and audit are judged"
        ),
        "{shown}"
    );
}

/// A list with two `items` keys is refused, in JSON and in YAML: its items are judged as they
/// are read, so the second list could not replace the first as a decoder keeping the last key
/// would, and judging both would report two items at each position.
#[test]
fn a_list_with_two_items_keys_is_an_input_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pod = |name: &str| {
        format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"{name}\"}},\"spec\":{{\"containers\":[{{\"name\":\"c\",\"image\":\"i\"}}]}}}}"
        )
    };
    let json_list = write_file(
        &dir,
        "twice.json",
        format!(
            "{{\"kind\":\"List\",\"apiVersion\":\"v1\",\"items\":[{}],\"items\":[{}]}}\n",
            pod("a"),
            pod("b")
        ),
    );
    let yaml_list = write_file(
        &dir,
        "twice.yaml",
        format!(
            "kind: List\napiVersion: v1\nitems:\n- {}\nitems:\n- {}\n",
            pod("a"),
            pod("b")
        ),
    );
    for list in [json_list, yaml_list] {
        let out = podsec(&["check", list.to_str().expect("utf-8")]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("duplicate field `items`"), "{stderr}");
        assert!(
            !text(&out.stdout).contains("default/b"),
            "{}",
            text(&out.stdout)
        );
    }
}

/// Each YAML list item that cannot be read costs passes over the whole document; after ten
/// the rest of the list is reported as not checked, rather than read again for every item.
#[test]
fn a_yaml_list_stops_after_ten_items_that_cannot_be_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = "- {apiVersion: v1, kind: Pod, metadata: {name: bad}, spec: {hostPID: \"true\", containers: [{name: c, image: i}]}}\n";
    let good = "- {apiVersion: v1, kind: Pod, metadata: {name: good}, spec: {containers: [{name: c, image: i}]}}\n";
    let list = write_file(
        &dir,
        "broken.yaml",
        format!(
            "kind: List\napiVersion: v1\nitems:\n{good}{}{good}",
            bad.repeat(12)
        ),
    );
    let out = podsec(&["check", list.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr
            .matches("invalid type: string \"true\", expected a boolean")
            .count(),
        10,
        "{stderr}"
    );
    assert!(
        stderr.contains("document 0: 10 items of this list could not be read; the items after item 10, if any, are not checked"),
        "{stderr}"
    );
    assert!(
        text(&out.stdout).contains("1 object: 0 allowed, 1 denied; 11 input errors"),
        "{}",
        text(&out.stdout)
    );
}
