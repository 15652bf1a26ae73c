//! PodSecurityPolicy through the binary: the shared `psp-restrictive` scenario driven exactly as
//! users' CI drives it (`podsec check --psp --as … --as-group … STATE… REQUEST -o json`, then
//! `--psp-messages legacy`, then `podsec psp list`), pod templates, and policy errors.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;
use common::{json, podsec, text, workspace, write_file};

/// The scenario folder, relative to the workspace (so that reports name stable paths).
fn scenario() -> Option<&'static str> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if shared.is_dir() {
        Some("../shared/scenarios/psp-restrictive")
    } else {
        eprintln!("skipping: ../shared not found");
        None
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The arguments contract-check passes for a step (before `-o json`).
fn step_args(scenario: &str, step: &Value) -> Vec<String> {
    let mut args = vec!["check".to_owned(), "--psp".to_owned(), "--as".to_owned()];
    args.push(
        step["user"]["username"]
            .as_str()
            .expect("username")
            .to_owned(),
    );
    for group in step["user"]["groups"].as_array().expect("groups") {
        args.push("--as-group".to_owned());
        args.push(group.as_str().expect("group").to_owned());
    }
    for file in step["state"].as_array().expect("state") {
        args.push(format!("{scenario}/{}", file.as_str().expect("file")));
    }
    args.push(format!(
        "{scenario}/{}",
        step["request"].as_str().expect("request")
    ));
    args
}

/// The `psp` evaluation of the first Pod in a JSON report.
fn psp_evaluation(report: &Value) -> Value {
    let pod = report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["kind"] == "Pod")
        .unwrap_or_else(|| panic!("no Pod in {report:#}"));
    pod["evaluations"]
        .as_array()
        .expect("evaluations")
        .iter()
        .find(|e| e["mode"] == "psp")
        .unwrap_or_else(|| panic!("no psp evaluation in {pod:#}"))
        .clone()
}

fn run_json(args: &[String]) -> Value {
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["-o", "json"]);
    json(&podsec(&args))
}

/// RFC 6902 `add`, `replace` and `remove`: all a defaulting patch uses.
fn apply_patch(document: &mut Value, patch: &Value) {
    for operation in patch.as_array().expect("patch is an array") {
        let path = operation["path"].as_str().expect("path");
        let (parent, last) = path.rsplit_once('/').expect("a pointer");
        let last = last.replace("~1", "/").replace("~0", "~");
        let parent = document
            .pointer_mut(parent)
            .unwrap_or_else(|| panic!("{path}: parent missing"));
        match (operation["op"].as_str(), parent) {
            (Some("add" | "replace"), Value::Object(members)) => {
                members.insert(last, operation["value"].clone());
            }
            (Some("add"), Value::Array(items)) if last == "-" => {
                items.push(operation["value"].clone());
            }
            (Some("add"), Value::Array(items)) => {
                items.insert(last.parse().expect("index"), operation["value"].clone());
            }
            (Some("replace"), Value::Array(items)) => {
                items[last.parse::<usize>().expect("index")] = operation["value"].clone();
            }
            (Some("remove"), Value::Object(members)) => {
                members.remove(&last);
            }
            (Some("remove"), Value::Array(items)) => {
                items.remove(last.parse().expect("index"));
            }
            (op, _) => panic!("unexpected operation {op:?} at {path}"),
        }
    }
}

/// A field named as expected.json names them: `spec.containers[0].securityContext.fsGroup`,
/// `metadata.annotations[kubernetes.io/psp]`.
fn field<'v>(document: &'v Value, dotted: &str) -> &'v Value {
    let mut value = document;
    let mut rest = dotted;
    while !rest.is_empty() {
        let (key, tail) = if let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').expect("closing bracket");
            (&inner[..end], &inner[end + 1..])
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        value = match key.parse::<usize>() {
            Ok(index) if value.is_array() => &value[index],
            _ => &value[key],
        };
        rest = tail.strip_prefix('.').unwrap_or(tail);
    }
    value
}

#[test]
fn restrictive_scenario_steps_as_contract_check_drives_them() {
    let Some(scenario) = scenario() else { return };
    let expected: Value =
        serde_json::from_str(&read(&format!("{scenario}/expected.json"))).expect("json");
    for step in expected["steps"].as_array().expect("steps") {
        let number = &step["step"];
        let want = &step["expect"];
        let args = step_args(scenario, step);
        let evaluation = psp_evaluation(&run_json(&args));
        assert_eq!(evaluation["allowed"], want["allowed"], "step {number}");
        assert_eq!(evaluation["policy"], want["policy"], "step {number}");
        if want["allowed"] == false {
            assert_eq!(evaluation["message"], want["message"], "step {number}");
            assert_eq!(evaluation["patch"], Value::Array(vec![]), "step {number}");
        } else {
            let request = read(&format!(
                "{scenario}/{}",
                step["request"].as_str().expect("request")
            ));
            let mut pod: Value = serde_saphyr::from_str(&request).expect("yaml");
            apply_patch(&mut pod, &evaluation["patch"]);
            for (name, value) in want["mutated_fields"].as_object().expect("fields") {
                assert_eq!(field(&pod, name), value, "step {number}: {name}");
            }
            assert!(evaluation.get("message").is_none(), "step {number}");
        }
        if let Some(legacy) = want.get("legacy_message") {
            let mut args = args.clone();
            args.extend(["--psp-messages".to_owned(), "legacy".to_owned()]);
            let evaluation = psp_evaluation(&run_json(&args));
            assert_eq!(&evaluation["message"], legacy, "step {number}, legacy");
        }
    }
}

#[test]
fn denials_list_the_field_errors_in_order() {
    let Some(scenario) = scenario() else { return };
    let expected: Value =
        serde_json::from_str(&read(&format!("{scenario}/expected.json"))).expect("json");
    let step = &expected["steps"][4];
    let report = run_json(&step_args(scenario, step));
    assert_eq!(report["objects"][0]["decision"], "denied");
    let evaluation = psp_evaluation(&report);
    let rebuilt: Vec<String> = evaluation["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            let part = |key: &str| v[key].as_str().expect("a string").to_owned();
            format!("{}: {}: {}", part("check"), part("reason"), part("detail"))
        })
        .collect();
    assert_eq!(
        rebuilt,
        [
            "spec.securityContext.hostNetwork: Invalid value: true: Host network is not allowed to be used",
            "spec.securityContext.hostPID: Invalid value: true: Host PID is not allowed to be used",
            "spec.volumes[0]: Invalid value: \"hostPath\": hostPath volumes are not allowed to be used",
            "spec.containers[0].securityContext.privileged: Invalid value: true: Privileged containers are not allowed",
        ]
    );
    assert_eq!(
        evaluation["serviceAccount"],
        "system:serviceaccount:test-ns:default"
    );
    assert_eq!(evaluation["user"], "jane");
}

#[test]
fn text_report_of_step_3_shows_the_policy_and_its_defaults() {
    let Some(scenario) = scenario() else { return };
    let expected: Value =
        serde_json::from_str(&read(&format!("{scenario}/expected.json"))).expect("json");
    let mut args = step_args(scenario, &expected["steps"][2]);
    args.extend(["--color".to_owned(), "never".to_owned()]);
    let out = podsec(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // Admitted by PodSecurityPolicy, denied by the built-in restricted Pod Security Standard.
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(text(&out.stdout));
}

#[test]
fn text_report_of_step_5_lists_the_errors() {
    let Some(scenario) = scenario() else { return };
    let expected: Value =
        serde_json::from_str(&read(&format!("{scenario}/expected.json"))).expect("json");
    let mut args = step_args(scenario, &expected["steps"][4]);
    args.extend(["--color".to_owned(), "never".to_owned()]);
    let out = podsec(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(text(&out.stdout));
}

#[test]
fn psp_list_prints_kubectls_table() {
    let Some(scenario) = scenario() else { return };
    let expected: Value =
        serde_json::from_str(&read(&format!("{scenario}/expected.json"))).expect("json");
    let out = podsec(&["psp", "list", &format!("{scenario}/restrictive-psp.yaml")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let want: Vec<&str> = expected["kubectl_get_psp"]
        .as_array()
        .expect("table")
        .iter()
        .map(|line| line.as_str().expect("line"))
        .collect();
    assert_eq!(text(&out.stdout), format!("{}\n", want.join("\n")));
}

#[test]
fn psp_list_reports_invalid_policies_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_file(
        &dir,
        "policies.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ignored}\n---\n\
         apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: broken}\n\
         spec:\n  seLinux: {rule: RunAsAny}\n  runAsUser: {rule: MustRunAs}\n  \
         supplementalGroups: {rule: RunAsAny}\n  fsGroup: {rule: Nope}\n---\n\
         apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: fine}\n\
         spec:\n  seLinux: {rule: RunAsAny}\n  runAsUser: {rule: RunAsAny}\n  \
         supplementalGroups: {rule: RunAsAny}\n  fsGroup: {rule: RunAsAny}\n  volumes: ['*']\n",
    );
    let path = file.to_str().expect("utf-8");
    let out = podsec(&["psp", "list", path]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stdout),
        "NAME   PRIV    CAPS   SELINUX    RUNASUSER   FSGROUP    SUPGROUP   READONLYROOTFS   VOLUMES\n\
         fine   false          RunAsAny   RunAsAny    RunAsAny   RunAsAny   false            *\n"
    );
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {path}: document 1: PodSecurityPolicy.policy \"broken\" is invalid: \
             spec.fsGroup.rule: Unsupported value: \"Nope\": supported values: \"MayRunAs\", \"MustRunAs\", \"RunAsAny\"\n"
        )
    );
}

#[test]
fn policies_and_rbac_are_state_and_templates_are_admitted_as_their_pods() {
    let Some(scenario) = scenario() else { return };
    let report = run_json(&[
        "check".to_owned(),
        "--level".to_owned(),
        "privileged".to_owned(),
        format!("{scenario}/restrictive-psp.yaml"),
        format!("{scenario}/nginx-deployment.yaml"),
    ]);
    let objects = report["objects"].as_array().expect("objects");
    assert_eq!(
        objects.len(),
        1,
        "only the Deployment is listed: {report:#}"
    );
    let deployment = &objects[0];
    assert_eq!(deployment["decision"], "allowed");
    let evaluation = deployment["evaluations"]
        .as_array()
        .expect("evaluations")
        .iter()
        .find(|e| e["mode"] == "psp")
        .expect("a PodSecurityPolicy is in the input, so psp is on");
    assert_eq!(evaluation["policy"], "super-restricted-psp");
    // The ReplicaSet controller creates the pods, as step 1 of the scenario says.
    assert_eq!(
        evaluation["user"],
        "system:serviceaccount:kube-system:replicaset-controller"
    );
    // The patch applies to the Deployment as written.
    let mut object: Value =
        serde_saphyr::from_str(&read(&format!("{scenario}/nginx-deployment.yaml"))).expect("yaml");
    apply_patch(&mut object, &evaluation["patch"]);
    assert_eq!(
        field(
            &object,
            "spec.template.spec.containers[0].securityContext.capabilities.drop"
        ),
        &serde_json::json!(["ALL"])
    );
    assert_eq!(
        field(
            &object,
            "spec.template.metadata.annotations[kubernetes.io/psp]"
        ),
        "super-restricted-psp"
    );
}

#[test]
fn without_psp_there_is_no_psp_evaluation() {
    let Some(scenario) = scenario() else { return };
    let report = run_json(&[
        "check".to_owned(),
        format!("{scenario}/nginx-deployment.yaml"),
    ]);
    let evaluations = report["objects"][0]["evaluations"]
        .as_array()
        .expect("evaluations");
    assert!(evaluations.iter().all(|e| e["mode"] != "psp"));
}

#[test]
fn as_group_needs_as() {
    let out = podsec(&["check", "--as-group", "dev", "x.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--as <USER>"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn psp_convert_changes_only_the_api_version_of_policies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_file(
        &dir,
        "mixed.yaml",
        "apiVersion: policy/v1beta1 # was\nkind: PodSecurityPolicy\nmetadata:\n  name: a\n\
         spec:\n  volumes: ['*']   # any\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata: {name: untouched}\n---\n\
         apiVersion: extensions/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: old}\n",
    );
    let out = podsec(&["psp", "convert", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "apiVersion: policy.podsec.dev/v1beta1 # was\nkind: PodSecurityPolicy\nmetadata:\n  name: a\n\
         spec:\n  volumes: ['*']   # any\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata: {name: untouched}\n---\n\
         apiVersion: policy.podsec.dev/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: old}\n"
    );
}

/// Comments before a file's first document (with or without a `---` line after them), empty
/// documents and `...` lines are written out as they are: only the apiVersion changes. A file
/// after another one is separated from it by a `---` line when it does not start with one.
#[test]
fn psp_convert_keeps_every_byte_but_the_api_version() {
    let policy = "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: x}\n\
                  spec: {seLinux: {rule: RunAsAny}, runAsUser: {rule: RunAsAny}, \
                  supplementalGroups: {rule: RunAsAny}, fsGroup: {rule: RunAsAny}}\n";
    let converted = policy.replace("policy/v1beta1", "policy.podsec.dev/v1beta1");
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, content: &str| {
        let path = write_file(&dir, name, content);
        path.to_str().expect("utf-8").to_owned()
    };
    let bare = write("bare.yaml", &format!("# head comment\n{policy}"));
    let opened = write(
        "opened.yaml",
        &format!("# (c) someone\n\n---\n# about x\n{policy}---\n# nothing here\n"),
    );
    let others = write(
        "others.yaml",
        "# a config map\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n...\n# tail\n",
    );
    for (path, want) in [
        (&bare, format!("# head comment\n{converted}")),
        (
            &opened,
            format!("# (c) someone\n\n---\n# about x\n{converted}---\n# nothing here\n"),
        ),
        (
            &others,
            "# a config map\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n...\n# tail\n"
                .to_owned(),
        ),
    ] {
        let out = podsec(&["psp", "convert", path]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), want, "{path}");
    }
    let out = podsec(&["psp", "convert", &bare, &others, &bare]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!(
            "# head comment\n{converted}---\n\
             # a config map\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\n...\n# tail\n\
             ---\n# head comment\n{converted}"
        )
    );
    // The scenario's policy file keeps its header comment.
    let Some(scenario) = scenario() else { return };
    let path = format!("{scenario}/restrictive-psp.yaml");
    let out = podsec(&["psp", "convert", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        read(&path).replacen(
            "apiVersion: policy/v1beta1",
            "apiVersion: policy.podsec.dev/v1beta1",
            1
        )
    );
}

/// RBAC letting every service account use every policy.
const USE_ANY_POLICY: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n\
    metadata: {name: use-psp}\nrules:\n- {apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use]}\n\
    ---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: use-psp}\n\
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: use-psp}\n\
    subjects:\n- {kind: Group, name: 'system:serviceaccounts', apiGroup: rbac.authorization.k8s.io}\n";

const PRIVILEGED_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\n\
    spec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext: {privileged: true}\n";

/// A typed `PodSecurityPolicyList` (what `kubectl get --raw /apis/policy/v1beta1/podsecuritypolicies`
/// returns: items without apiVersion and kind) holds policies of the list's version, for
/// `check`, `psp list` and `psp convert`; so does a plain `kind: List`.
#[test]
fn typed_podsecuritypolicy_lists_hold_policies() {
    let spec = r#"{"privileged":false,"seLinux":{"rule":"RunAsAny"},"runAsUser":{"rule":"RunAsAny"},"supplementalGroups":{"rule":"RunAsAny"},"fsGroup":{"rule":"RunAsAny"},"volumes":["*"]}"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, content: &str| {
        let path = write_file(&dir, name, content);
        path.to_str().expect("utf-8").to_owned()
    };
    let typed_json = write(
        "typed.json",
        &format!(
            r#"{{"apiVersion":"policy/v1beta1","kind":"PodSecurityPolicyList","metadata":{{"resourceVersion":"1"}},"items":[{{"metadata":{{"name":"typed"}},"spec":{spec}}}]}}"#
        ),
    );
    let typed_yaml = write(
        "typed.yaml",
        &format!(
            "# from the API\napiVersion: extensions/v1beta1\nkind: PodSecurityPolicyList\nitems:\n\
             - metadata: {{name: old}}\n  spec: {spec}\n"
        ),
    );
    let plain = write(
        "plain.yaml",
        &format!(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: policy/v1beta1\n  kind: PodSecurityPolicy\n\
             \x20 metadata: {{name: plain}}\n  spec: {spec}\n"
        ),
    );
    let rbac = write("rbac.yaml", USE_ANY_POLICY);
    let pod = write("pod.yaml", PRIVILEGED_POD);

    let out = podsec(&["psp", "list", &typed_json, &typed_yaml, &plain]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let names: Vec<String> = text(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    assert_eq!(names, ["old", "plain", "typed"]);

    for policies in [&typed_json, &typed_yaml, &plain] {
        let report = run_json(&[
            "check".to_owned(),
            "--level".to_owned(),
            "privileged".to_owned(),
            policies.clone(),
            rbac.clone(),
            pod.clone(),
        ]);
        let objects = report["objects"].as_array().expect("objects");
        assert_eq!(objects.len(), 1, "only the pod is listed: {report:#}");
        assert_eq!(objects[0]["decision"], "denied", "{policies}: {report:#}");
        assert_eq!(psp_evaluation(&report)["allowed"], false);
    }

    // The list's version is what its items inherit: converting it converts them, and block
    // YAML keeps its text.
    let out = podsec(&["psp", "convert", &typed_yaml]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!(
            "# from the API\napiVersion: policy.podsec.dev/v1beta1\nkind: PodSecurityPolicyList\nitems:\n\
             - metadata: {{name: old}}\n  spec: {spec}\n"
        )
    );
    let out = podsec(&["psp", "convert", &typed_json]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let converted: Value = serde_saphyr::from_str(&text(&out.stdout)).expect("yaml");
    assert_eq!(converted["apiVersion"], "policy.podsec.dev/v1beta1");
    assert_eq!(converted["kind"], "PodSecurityPolicyList");
    assert_eq!(converted["items"][0]["metadata"]["name"], "typed");
}

/// An AdmissionReview's Pod is admitted as the webhook admits it: with the request's
/// operation (an UPDATE is validated, never defaulted, so a policy that would have to mutate the
/// pod does not admit it), its oldObject, and its userInfo as the requesting user.
#[test]
fn admission_reviews_are_admitted_with_their_operation_and_user() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, content: &str| {
        let path = write_file(&dir, name, content);
        path.to_str().expect("utf-8").to_owned()
    };
    // It defaults allowPrivilegeEscalation: a pod that does not say so needs mutating.
    let policy = write(
        "policy.yaml",
        "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: mutating}\n\
         spec:\n  allowPrivilegeEscalation: false\n  seLinux: {rule: RunAsAny}\n  \
         runAsUser: {rule: RunAsAny}\n  supplementalGroups: {rule: RunAsAny}\n  \
         fsGroup: {rule: RunAsAny}\n  volumes: ['*']\n",
    );
    // Only the user jane may use it, not the pod's service account.
    let rbac = write(
        "rbac.yaml",
        &USE_ANY_POLICY.replace(
            "{kind: Group, name: 'system:serviceaccounts', apiGroup: rbac.authorization.k8s.io}",
            "{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}",
        ),
    );
    let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ns", "labels": {"touched": "yes"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let mut old_pod = pod.clone();
    old_pod["metadata"]
        .as_object_mut()
        .expect("metadata")
        .remove("labels");
    let review = |operation: &str, old_object: &Value| {
        serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "name": "p", "namespace": "ns", "operation": operation,
                "userInfo": {"username": "jane", "groups": ["system:authenticated"]},
                "object": pod, "oldObject": old_object}})
        .to_string()
    };
    let check = |file: &str| {
        run_json(&[
            "check".to_owned(),
            "--level".to_owned(),
            "privileged".to_owned(),
            policy.clone(),
            rbac.clone(),
            file.to_owned(),
        ])
    };

    let created = check(&write("create.json", &review("CREATE", &Value::Null)));
    let evaluation = psp_evaluation(&created);
    assert_eq!(evaluation["allowed"], true, "{created:#}");
    assert_eq!(evaluation["user"], "jane");
    assert_eq!(evaluation["policy"], "mutating");
    assert!(!evaluation["patch"].as_array().expect("patch").is_empty());

    let updated = check(&write("update.json", &review("UPDATE", &old_pod)));
    assert_eq!(updated["objects"][0]["decision"], "denied", "{updated:#}");
    let evaluation = psp_evaluation(&updated);
    assert_eq!(evaluation["allowed"], false);
    assert_eq!(
        evaluation["message"],
        "PodSecurityPolicy: unable to validate pod: []"
    );
    assert_eq!(evaluation["patch"], serde_json::json!([]));

    // The same pod as a manifest is a CREATE by nobody (no --as): jane's grant does not count.
    let manifest = check(&write("pod.json", &pod.to_string()));
    assert_eq!(psp_evaluation(&manifest)["allowed"], false, "{manifest:#}");
    assert_eq!(psp_evaluation(&manifest)["user"], Value::Null);
}

#[test]
fn a_pod_security_standards_exemption_does_not_exempt_from_podsecuritypolicy() {
    let Some(scenario) = scenario() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_file(
        &dir,
        "config.yaml",
        "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n\
         exemptions:\n  namespaces: [test-ns]\n",
    );
    let report = run_json(&[
        "check".to_owned(),
        "--config".to_owned(),
        config.to_str().expect("utf-8").to_owned(),
        format!("{scenario}/restrictive-psp.yaml"),
        format!("{scenario}/blackspy-sudo.yaml"),
    ]);
    let pod = &report["objects"][0];
    assert_eq!(pod["decision"], "denied");
    assert_eq!(pod["reason"], "namespace");
    assert_eq!(psp_evaluation(&report)["allowed"], false);
}

/// `podsec psp … | head`: a reader that goes away does not hide errors from the exit status,
/// and nothing is said about the pipe.
#[test]
fn a_closed_output_pipe_does_not_hide_errors() {
    let policy = |name: &str| {
        format!(
            "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {{name: {name}}}\nspec:\n  seLinux: {{rule: RunAsAny}}\n  runAsUser: {{rule: RunAsAny}}\n  supplementalGroups: {{rule: RunAsAny}}\n  fsGroup: {{rule: RunAsAny}}\n---\n"
        )
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // Enough output before the broken document that it outgrows every buffer.
    let many: String = (0..2000).map(|i| policy(&format!("p{i}"))).collect();
    let file = write_file(
        &dir,
        "policies.yaml",
        format!("{many}kind: PodSecurityPolicy\nspec: [\n"),
    );
    let file = file.to_str().expect("utf-8");
    for command in ["convert", "list"] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_podsec"))
            .args(["psp", command, file])
            .current_dir(workspace())
            .stdout(writer)
            .output()
            .expect("podsec runs");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{command}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("error: "), "{command}: {stderr}");
        assert!(
            !stderr.to_lowercase().contains("pipe"),
            "{command}: {stderr}"
        );
    }
}

/// The pods of a template are requested by the controller, so a grant to the `--as` user does
/// not admit them, while it does admit the same pod created by that user; and a grant to a
/// group the controller is in (`system:serviceaccounts:kube-system`, the classic way to let
/// system pods run privileged) admits every pod any controller creates.
#[test]
fn template_pods_are_requested_by_their_controller_not_by_the_as_user() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = |subject: &str| {
        format!(
            "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {{name: privileged}}\n\
             spec:\n  privileged: true\n  seLinux: {{rule: RunAsAny}}\n  runAsUser: {{rule: RunAsAny}}\n  \
             supplementalGroups: {{rule: RunAsAny}}\n  fsGroup: {{rule: RunAsAny}}\n  volumes: ['*']\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: use-privileged}}\n\
             rules: [{{apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use], resourceNames: [privileged]}}]\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: use-privileged}}\n\
             roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: use-privileged}}\n\
             subjects: [{subject}]\n"
        )
    };
    let spec = "spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}";
    let workloads = write_file(
        &dir,
        "workloads.yaml",
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: app}}\n{spec}\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d, namespace: app}}\n\
             spec:\n  template:\n    {spec}\n"
        ),
    );
    let admitted = |subject: &str| -> Vec<Value> {
        let file = write_file(&dir, "state.yaml", state(subject));
        let report = run_json(&[
            "check".to_owned(),
            "--level".to_owned(),
            "privileged".to_owned(),
            "--as".to_owned(),
            "jane".to_owned(),
            file.to_str().expect("utf-8").to_owned(),
            workloads.to_str().expect("utf-8").to_owned(),
        ]);
        report["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .map(|object| {
                object["evaluations"]
                    .as_array()
                    .expect("evaluations")
                    .iter()
                    .find(|e| e["mode"] == "psp")
                    .expect("psp")["allowed"]
                    .clone()
            })
            .collect()
    };
    assert_eq!(
        admitted("{kind: User, apiGroup: rbac.authorization.k8s.io, name: jane}"),
        [true, false]
    );
    assert_eq!(
        admitted(
            "{kind: Group, apiGroup: rbac.authorization.k8s.io, name: 'system:serviceaccounts:kube-system'}"
        ),
        [false, true]
    );
}

/// A pod in a YAML list whose document cannot become JSON (a complex mapping key, which only
/// the whole document's JSON form refuses): its one item is the document's failure.
const UNDECODABLE_LIST: &str = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  x-extra: {? [k] : v}\n  spec: {containers: [{name: c, image: i}]}\n";

/// `podsec check --psp --level privileged` over a list file: the run, and its stderr.
fn check_list_with_psp(list: &str) -> (std::process::Output, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let list = write_file(&dir, "list.yaml", list);
    let out = podsec(&[
        "check",
        "--psp",
        "--level",
        "privileged",
        list.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    (out, stderr)
}

/// A YAML list item whose PodSecurityPolicy input cannot be read is an input error, never
/// judged without PodSecurityPolicy: that admitted it.
#[test]
fn a_list_item_policy_cannot_read_is_an_input_error_not_admitted() {
    let (out, stderr) = check_list_with_psp(UNDECODABLE_LIST);
    assert!(
        stderr.contains("document 0: item 0: line 7, column 15:"),
        "{stderr}"
    );
    assert!(
        text(&out.stdout).contains("0 allowed"),
        "{}",
        text(&out.stdout)
    );
}

/// The document's decoding failure is told once, at the item that first needed it: the
/// other items are not checked either, but the position is not repeated as if it were theirs.
#[test]
fn a_list_whose_document_policy_cannot_read_tells_the_failure_once() {
    let more = "- apiVersion: v1\n  kind: Pod\n  metadata: {name: q}\n  spec: {containers: [{name: c, image: i}]}\n";
    let (out, stderr) = check_list_with_psp(&format!("{UNDECODABLE_LIST}{more}{more}"));
    assert_eq!(stderr.matches("line 7, column 15").count(), 1, "{stderr}");
    assert!(
        stderr.contains("document 0: item 0: line 7, column 15:"),
        "{stderr}"
    );
    for item in [1, 2] {
        assert!(
            stderr.contains(&format!("document 0: item {item}: not checked: PodSecurityPolicy reads the document as JSON, and decoding it failed (the error above)")),
            "{stderr}"
        );
    }
    assert!(
        text(&out.stdout).contains("0 objects: 0 allowed, 0 denied; 3 input errors"),
        "{}",
        text(&out.stdout)
    );
}
