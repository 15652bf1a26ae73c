//! PodSecurityPolicy through the webhook over HTTPS: the `psp-restrictive` scenario's steps 3–5
//! (`shared/scenarios/psp-restrictive/expected.json`) against `/mutate` and `/validate`, with
//! `use` decided offline (`--psp-file` carrying the RBAC objects) and by SubjectAccessReviews
//! replayed through kube-rs's mock transport; the SubjectAccessReview cache; the CRD watcher.

mod common;

use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use kube::client::Body;
use podsec_server::psp::{PolicyStore, PspArgs, PspMessages, policies};
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

use common::{Options, Review, TestServer};

type ApiHandle = Handle<Request<Body>, Response<Body>>;

fn scenario_dir() -> Option<PathBuf> {
    common::shared().map(|shared| shared.join("scenarios/psp-restrictive"))
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/psp")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Namespace state for the Pod Security Standards side: `test-ns` without labels
/// (privileged), so every decision below is PSP's.
const NAMESPACES: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: test-ns\n";

/// One step of expected.json: the pod it creates and the AdmissionReview for it.
struct Step {
    expected: Value,
    pod: Value,
}

fn steps(dir: &Path, numbers: std::ops::RangeInclusive<u64>) -> Vec<Step> {
    let expected = yaml(&dir.join("expected.json"));
    expected["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|step| numbers.contains(&step["step"].as_u64().unwrap_or_default()))
        .map(|step| Step {
            expected: step.clone(),
            pod: yaml(&dir.join(step["request"].as_str().expect("request"))),
        })
        .collect()
}

impl Step {
    fn number(&self) -> u64 {
        self.expected["step"].as_u64().expect("step")
    }

    /// The review the API server sends for creating (or updating to) `pod` as the step's user.
    fn review(&self, pod: &Value, operation: &'static str) -> Value {
        // An UPDATE that changes a label: a no-op update would be ignored as upstream ignores
        // garbage-collector updates.
        let (object, old_object) = if operation == "UPDATE" {
            let mut relabelled = pod.clone();
            relabelled["metadata"]["labels"]["touched"] = json!("yes");
            (relabelled, pod.clone())
        } else {
            (pod.clone(), Value::Null)
        };
        let mut review = Review {
            namespace: "test-ns",
            operation,
            object,
            old_object,
            ..Review::default()
        }
        .json();
        review["request"]["name"] = pod["metadata"]["name"].clone();
        if review["request"]["name"].is_null() {
            review["request"]["name"] = json!("");
        }
        review["request"]["userInfo"] = self.expected["user"].clone();
        review
    }
}

async fn post(server: &TestServer, path: &str, review: &Value) -> Value {
    let response = server
        .client
        .post(server.url(path))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(review).expect("json"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.expect("body");
    let body: Value = serde_json::from_str(&text).expect("JSON answer");
    assert_eq!(body["response"]["uid"], review["request"]["uid"], "{body}");
    body["response"].clone()
}

/// `a.b[0].c` and `metadata.annotations[kubernetes.io/psp]` as JSON pointers.
fn pointer(path: &str) -> String {
    let mut out = String::new();
    for part in path.split('.').scan(String::new(), |open, part| {
        // `[kubernetes.io/psp]` contains dots: glue pieces back until the bracket closes.
        if !open.is_empty() {
            open.push('.');
            open.push_str(part);
            if part.ends_with(']') {
                return Some(Some(std::mem::take(open)));
            }
            return Some(None);
        }
        if part.contains('[') && !part.ends_with(']') {
            open.push_str(part);
            return Some(None);
        }
        Some(Some(part.to_owned()))
    }) {
        let Some(part) = part else { continue };
        match part.split_once('[') {
            Some((name, index)) => {
                let index = index.trim_end_matches(']');
                out.push('/');
                out.push_str(name);
                out.push('/');
                out.push_str(&index.replace('~', "~0").replace('/', "~1"));
            }
            None => {
                out.push('/');
                out.push_str(&part);
            }
        }
    }
    out
}

/// Applies an allowed mutation's patch to `pod`.
fn patched(pod: &Value, response: &Value) -> Value {
    assert_eq!(response["patchType"], "JSONPatch", "{response}");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(response["patch"].as_str().expect("patch"))
        .expect("base64");
    let patch: json_patch::Patch = serde_json::from_slice(&bytes).expect("JSON patch");
    let mut pod = pod.clone();
    json_patch::patch(&mut pod, &patch).expect("patch applies");
    pod
}

/// Runs steps 3–5 through both endpoints and checks them against expected.json.
async fn scenario(server: &TestServer, dir: &Path) {
    for step in steps(dir, 3..=5) {
        let n = step.number();
        let expect = &step.expected["expect"];
        let mutation = post(server, "/mutate", &step.review(&step.pod, "CREATE")).await;
        if expect["allowed"] == true {
            assert_eq!(mutation["allowed"], true, "step {n}: {mutation}");
            assert_eq!(
                mutation["auditAnnotations"]["podsecuritypolicy.policy.k8s.io/admit-policy"],
                expect["policy"],
                "step {n}"
            );
            let pod = patched(&step.pod, &mutation);
            let fields = expect["mutated_fields"].as_object().expect("fields");
            for (path, value) in fields {
                assert_eq!(
                    pod.pointer(&pointer(path)),
                    Some(value),
                    "step {n}: {path} in {pod}"
                );
            }
            // The validating phase accepts the defaulted pod as it is.
            let validation = post(server, "/validate", &step.review(&pod, "CREATE")).await;
            assert_eq!(validation["allowed"], true, "step {n}: {validation}");
            assert_eq!(
                validation["auditAnnotations"]["podsecuritypolicy.policy.k8s.io/validate-policy"],
                expect["policy"],
                "step {n}"
            );
            // ... but not the pod before defaulting: no policy accepts it unchanged.
            let undefaulted = post(server, "/validate", &step.review(&step.pod, "CREATE")).await;
            assert_eq!(undefaulted["allowed"], false, "step {n}: {undefaulted}");
        } else {
            let status_message = expect["status_message"].as_str().expect("message");
            assert_eq!(mutation["allowed"], false, "step {n}: {mutation}");
            assert!(mutation.get("patch").is_none(), "step {n}: {mutation}");
            assert_eq!(mutation["status"]["code"], 403);
            assert_eq!(mutation["status"]["reason"], "Forbidden");
            assert_eq!(mutation["status"]["message"], status_message, "step {n}");
            // The validating phase lists the same errors in its own wording (spec §5.2).
            let validation = post(server, "/validate", &step.review(&step.pod, "CREATE")).await;
            assert_eq!(validation["allowed"], false, "step {n}: {validation}");
            assert_eq!(
                validation["status"]["message"],
                status_message.replace("unable to admit pod", "unable to validate pod"),
                "step {n}"
            );
            // UPDATE runs the validating phase too; /mutate leaves UPDATE alone.
            let update = post(server, "/validate", &step.review(&step.pod, "UPDATE")).await;
            assert_eq!(update["allowed"], false, "step {n}: {update}");
            let update = post(server, "/mutate", &step.review(&step.pod, "UPDATE")).await;
            assert_eq!(update["allowed"], true, "step {n}: {update}");
            assert!(update.get("patch").is_none(), "step {n}: {update}");
        }
    }
}

#[tokio::test]
async fn scenario_steps_3_to_5_offline_from_psp_file_with_rbac() {
    let Some(dir) = scenario_dir() else { return };
    let server = common::start(Options {
        namespaces_yaml: Some(NAMESPACES.to_owned()),
        psp: PspArgs {
            psp_file: Some(dir.join("restrictive-psp.yaml")),
            ..PspArgs::default()
        },
        ..Options::default()
    })
    .await;
    scenario(&server, &dir).await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn rbac_file_apart_from_the_policies() {
    let Some(dir) = scenario_dir() else { return };
    let server = common::start(Options {
        namespaces_yaml: Some(NAMESPACES.to_owned()),
        psp: PspArgs {
            psp_file: Some(dir.join("policy-only.yaml")),
            rbac_file: Some(dir.join("restrictive-psp.yaml")),
            ..PspArgs::default()
        },
        ..Options::default()
    })
    .await;
    scenario(&server, &dir).await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn not_psp_business_is_left_alone() {
    let Some(dir) = scenario_dir() else { return };
    let server = common::start(Options {
        namespaces_yaml: Some(NAMESPACES.to_owned()),
        psp: PspArgs {
            psp_file: Some(dir.join("restrictive-psp.yaml")),
            ..PspArgs::default()
        },
        ..Options::default()
    })
    .await;
    let pod = yaml(&dir.join("blackspy-sudo.yaml"));
    // A subresource (ephemeral containers bypass PSP, as in-tree) and a non-pod resource.
    for (resource, sub_resource, kind) in [
        ("pods", "ephemeralcontainers", "Pod"),
        ("pods", "status", "Pod"),
        ("configmaps", "", "ConfigMap"),
    ] {
        let review = Review {
            namespace: "test-ns",
            name: "blackspy-sudo",
            operation: "UPDATE",
            resource,
            sub_resource,
            kind,
            object: pod.clone(),
            old_object: pod.clone(),
            ..Review::default()
        }
        .json();
        for path in ["/mutate", "/validate"] {
            let response = post(&server, path, &review).await;
            assert_eq!(
                response["allowed"], true,
                "{path} {resource}/{sub_resource}: {response}"
            );
            assert!(response.get("patch").is_none());
        }
    }
    server.stop().await.expect("clean stop");
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).expect("json")))
        .expect("response")
}

/// How the recorded API server answers SubjectAccessReviews.
#[derive(Clone, Copy)]
enum Sar {
    /// The recorded answer whose `spec` equals the request's.
    Replay,
    /// 403: the webhook may not create SubjectAccessReviews.
    Forbidden,
}

/// Answers the webhook's requests from recordings: SubjectAccessReviews as `sar` says, the
/// CRD's list with `crd-list.json` (its watch stays open and silent). Logs the SAR specs.
/// The CRD's list is held back until `list_gate` is notified.
fn replay_api(
    handle: ApiHandle,
    sar: Sar,
    list_gate: Option<Arc<tokio::sync::Notify>>,
) -> Arc<Mutex<Vec<Value>>> {
    let recorded = fixture("subjectaccessreviews.json");
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&asked);
    tokio::spawn(async move {
        let mut handle = pin!(handle);
        let mut open_watches = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            if request
                .uri()
                .path()
                .starts_with("/apis/policy.podsec.dev/v1beta1/podsecuritypolicies")
            {
                if request
                    .uri()
                    .query()
                    .unwrap_or_default()
                    .contains("watch=true")
                {
                    open_watches.push(send);
                } else {
                    if let Some(gate) = &list_gate {
                        gate.notified().await;
                    }
                    send.send_response(json_response(StatusCode::OK, &fixture("crd-list.json")));
                }
                continue;
            }
            assert_eq!(request.method(), http::Method::POST);
            assert_eq!(
                request.uri().path(),
                "/apis/authorization.k8s.io/v1/subjectaccessreviews"
            );
            let body = request
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            let review: Value = serde_json::from_slice(&body).expect("SAR JSON");
            assert_eq!(review["apiVersion"], "authorization.k8s.io/v1");
            assert_eq!(review["kind"], "SubjectAccessReview");
            log.lock().expect("log").push(review["spec"].clone());
            if let Sar::Forbidden = sar {
                send.send_response(json_response(
                    StatusCode::FORBIDDEN,
                    &fixture("forbidden-sar.json"),
                ));
                continue;
            }
            let answer = recorded
                .as_array()
                .expect("recorded answers")
                .iter()
                .find(|answer| answer["spec"] == review["spec"])
                .unwrap_or_else(|| panic!("no recorded answer for {}", review["spec"]));
            send.send_response(json_response(StatusCode::CREATED, answer));
        }
    });
    asked
}

async fn start_with_sar(dir: &Path) -> (TestServer, Arc<Mutex<Vec<Value>>>) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let asked = replay_api(handle, Sar::Replay, None);
    let server = common::start(Options {
        namespaces_yaml: Some(NAMESPACES.to_owned()),
        // Policies from a file without RBAC: `use` goes to the API server.
        psp: PspArgs {
            psp_file: Some(dir.join("policy-only.yaml")),
            ..PspArgs::default()
        },
        client: Some(kube::Client::new(service, "default")),
        ..Options::default()
    })
    .await;
    (server, asked)
}

#[tokio::test]
async fn scenario_steps_3_to_5_with_subject_access_reviews() {
    let Some(dir) = scenario_dir() else { return };
    let (server, asked) = start_with_sar(&dir).await;
    scenario(&server, &dir).await;
    let asked = asked.lock().expect("log").clone();
    // The pod's service account through `policy` (allowed, so never through `extensions`),
    // the users through `policy` and, where refused, `extensions`.
    let user_group = |spec: &Value| {
        format!(
            "{} {}",
            spec["user"].as_str().unwrap_or_default(),
            spec["resourceAttributes"]["group"]
                .as_str()
                .unwrap_or_default()
        )
    };
    let mut seen: Vec<String> = asked.iter().map(user_group).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        [
            "jane extensions",
            "jane policy",
            "kubernetes-admin policy",
            "system:serviceaccount:kube-system:replicaset-controller extensions",
            "system:serviceaccount:kube-system:replicaset-controller policy",
            "system:serviceaccount:test-ns:default policy",
        ]
    );
    for spec in &asked {
        let attributes = &spec["resourceAttributes"];
        assert_eq!(attributes["verb"], "use");
        assert_eq!(attributes["resource"], "podsecuritypolicies");
        assert_eq!(attributes["name"], "super-restricted-psp");
        assert_eq!(attributes["namespace"], "test-ns");
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn identical_requests_within_the_ttl_reuse_the_answers() {
    let Some(dir) = scenario_dir() else { return };
    let (server, asked) = start_with_sar(&dir).await;
    let step = steps(&dir, 3..=5).remove(0);
    assert_eq!(step.number(), 3);
    let review = step.review(&step.pod, "CREATE");

    let first = post(&server, "/mutate", &review).await;
    assert_eq!(first["allowed"], true, "{first}");
    let after_first = asked.lock().expect("log").len();
    // service account via policy; replicaset-controller via policy and extensions
    assert_eq!(after_first, 3);

    let second = post(&server, "/mutate", &review).await;
    assert_eq!(second, first);
    assert_eq!(
        asked.lock().expect("log").len(),
        after_first,
        "a second identical request within the TTL sent SubjectAccessReviews"
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn expired_answers_are_asked_again() {
    let Some(dir) = scenario_dir() else { return };
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let asked = replay_api(handle, Sar::Replay, None);
    let server = common::start(Options {
        namespaces_yaml: Some(NAMESPACES.to_owned()),
        psp: PspArgs {
            psp_file: Some(dir.join("policy-only.yaml")),
            psp_sar_cache_ttl: Duration::from_millis(50),
            ..PspArgs::default()
        },
        client: Some(kube::Client::new(service, "default")),
        ..Options::default()
    })
    .await;
    let step = steps(&dir, 3..=5).remove(0);
    let review = step.review(&step.pod, "CREATE");
    post(&server, "/mutate", &review).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    post(&server, "/mutate", &review).await;
    assert_eq!(asked.lock().expect("log").len(), 6);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn crd_watcher_reads_our_group_and_skips_invalid_policies() {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let store = Arc::new(PolicyStore::new());
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(policies::watch_policies(client, Arc::clone(&store), stop));
    let mut handle = pin!(handle);

    let (request, send) = tokio::time::timeout(Duration::from_secs(10), handle.next_request())
        .await
        .expect("list sent")
        .expect("client alive");
    let uri = request.uri().to_string();
    assert!(
        uri.starts_with("/apis/policy.podsec.dev/v1beta1/podsecuritypolicies?"),
        "{uri}"
    );
    assert!(store.snapshot().is_none(), "answering before the listing");
    send.send_response(
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::to_vec(&fixture("crd-list.json")).expect("json"),
            ))
            .expect("response"),
    );
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    let policies = loop {
        if let Some(policies) = store.snapshot() {
            break policies;
        }
        assert!(tokio::time::Instant::now() < until, "never synced");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let names: Vec<&str> = policies.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["super-restricted-psp"]);
    assert_eq!(policies[0].spec.allow_privilege_escalation, Some(false));

    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("watcher stops")
        .expect("watcher task");
}

#[tokio::test]
async fn policies_from_the_crd_readiness_and_the_users_uid_and_extra() {
    let Some(dir) = scenario_dir() else { return };
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let gate = Arc::new(tokio::sync::Notify::new());
    let asked = replay_api(handle, Sar::Replay, Some(Arc::clone(&gate)));
    let server = common::start(Options {
        namespaces_yaml: Some(NAMESPACES.to_owned()),
        psp: PspArgs {
            enabled: true,
            ..PspArgs::default()
        },
        client: Some(kube::Client::new(service, "default")),
        ..Options::default()
    })
    .await;
    // Not ready, and pods are not judged, until the CRD's list has arrived.
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        "[-]informer-sync failed: the PodSecurityPolicies have not synced yet\n"
    );
    let step = steps(&dir, 3..=5).remove(0);
    let early = post(&server, "/mutate", &step.review(&step.pod, "CREATE")).await;
    assert_eq!(early["allowed"], false, "{early}");
    assert_eq!(early["status"]["code"], 500, "{early}");
    gate.notify_one();
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.get("/readyz").await.0 != 200 {
        assert!(tokio::time::Instant::now() < until, "never ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // crd-list.json: the scenario's policy, and one the object validation refuses (skipped).
    scenario(&server, &dir).await;

    let step = steps(&dir, 3..=5).remove(2);
    assert_eq!(step.number(), 5);
    let mut review = step.review(&step.pod, "CREATE");
    review["request"]["userInfo"]["uid"] = json!("7d3c1f0e-2b4a-4c5d-8e6f-9a0b1c2d3e4f");
    review["request"]["userInfo"]["extra"] =
        json!({"authentication.kubernetes.io/credential-id": ["X509SHA256=4f0c"]});
    let denied = post(&server, "/mutate", &review).await;
    assert_eq!(
        denied["status"]["message"],
        step.expected["expect"]["status_message"]
    );
    let asked = asked.lock().expect("log").clone();
    let with_uid: Vec<&Value> = asked
        .iter()
        .filter(|spec| spec.get("uid").is_some())
        .collect();
    assert_eq!(with_uid.len(), 2, "{asked:?}");
    assert!(
        with_uid
            .iter()
            .all(|spec| spec["user"] == "jane" && spec["extra"].is_object())
    );
    assert!(asked.iter().all(|spec| {
        !spec["user"]
            .as_str()
            .unwrap_or_default()
            .starts_with("system:serviceaccount:test-ns:")
            || (spec.get("uid").is_none() && spec.get("extra").is_none())
    }));
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn failing_subject_access_reviews_authorize_nothing_and_are_not_cached() {
    let Some(dir) = scenario_dir() else { return };
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let asked = replay_api(handle, Sar::Forbidden, None);
    let server = common::start(Options {
        namespaces_yaml: Some(NAMESPACES.to_owned()),
        psp: PspArgs {
            psp_file: Some(dir.join("policy-only.yaml")),
            ..PspArgs::default()
        },
        client: Some(kube::Client::new(service, "default")),
        ..Options::default()
    })
    .await;
    let step = steps(&dir, 3..=5).remove(0);
    let review = step.review(&step.pod, "CREATE");
    for round in 1..=2 {
        let denied = post(&server, "/mutate", &review).await;
        assert_eq!(
            denied["status"]["message"],
            "pods \"nginx-6799fc88d8-\" is forbidden: PodSecurityPolicy: unable to admit pod: []",
            "round {round}"
        );
        // service account and user, each through policy and extensions
        assert_eq!(asked.lock().expect("log").len(), 4 * round);
    }
    server.stop().await.expect("clean stop");
}

/// The CRD's schema (`deploy/psp/crd.yaml`) has exactly the v1beta1 spec fields of the
/// specification's table (§1.1), and requires the four strategies upstream required.
#[test]
fn crd_schema_covers_the_v1beta1_spec() {
    let Some(shared) = common::shared() else {
        return;
    };
    let spec_text = std::fs::read_to_string(shared.join("spec/psp.md")).expect("psp.md");
    let section = spec_text
        .split("### 1.1 ")
        .nth(1)
        .and_then(|rest| rest.split("### 1.2 ").next())
        .expect("section 1.1");
    let mut expected: Vec<&str> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|line| line.split('`').next())
        .collect();
    expected.sort_unstable();

    let crd = yaml(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/psp/crd.yaml"));
    assert_eq!(crd["spec"]["group"], policies::CRD_GROUP);
    assert_eq!(crd["spec"]["names"]["kind"], policies::CRD_KIND);
    assert_eq!(crd["spec"]["names"]["plural"], policies::CRD_PLURAL);
    assert_eq!(crd["spec"]["scope"], "Cluster");
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], policies::CRD_VERSION);
    let spec = &version["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let mut fields: Vec<&str> = spec["properties"]
        .as_object()
        .expect("spec properties")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, expected);
    assert_eq!(
        spec["required"],
        json!(["fsGroup", "runAsUser", "seLinux", "supplementalGroups"])
    );
}

/// Steps 1 and 2 (no policy; a policy nobody may use), in both wordings of `--psp-messages`.
#[tokio::test]
async fn scenario_steps_1_and_2_and_the_legacy_wording() {
    let Some(dir) = scenario_dir() else { return };
    let empty = tempfile::NamedTempFile::new().expect("empty file");
    for (step, psp_file, messages) in [
        (1, empty.path().to_path_buf(), PspMessages::Current),
        (2, dir.join("policy-only.yaml"), PspMessages::Current),
        (2, dir.join("policy-only.yaml"), PspMessages::Legacy),
    ] {
        let server = common::start(Options {
            namespaces_yaml: Some(NAMESPACES.to_owned()),
            psp: PspArgs {
                psp_file: Some(psp_file),
                // No RBAC objects at all: nobody may use anything, decided offline.
                rbac_file: Some(empty.path().to_path_buf()),
                psp_messages: messages,
                ..PspArgs::default()
            },
            ..Options::default()
        })
        .await;
        let step = steps(&dir, step..=step).remove(0);
        let expect = &step.expected["expect"];
        let denied = post(&server, "/mutate", &step.review(&step.pod, "CREATE")).await;
        assert_eq!(denied["allowed"], false, "step {}: {denied}", step.number());
        let status_message = expect["status_message"].as_str().expect("status message");
        let wanted = match messages {
            PspMessages::Current => status_message.to_owned(),
            PspMessages::Legacy => status_message.replace(
                expect["message"].as_str().expect("message"),
                expect["legacy_message"].as_str().expect("legacy message"),
            ),
        };
        assert_eq!(
            denied["status"]["message"],
            wanted.as_str(),
            "step {}",
            step.number()
        );
        server.stop().await.expect("clean stop");
    }
}

/// A typed `PodSecurityPolicyList` (`kubectl get --raw /apis/policy/v1beta1/podsecuritypolicies`,
/// items without apiVersion and kind) in `--psp-file` holds policies of the list's version.
#[tokio::test]
async fn typed_policy_lists_in_the_psp_file_hold_policies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let psp_file = dir.path().join("psp.json");
    let list = json!({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicyList",
        "metadata": {"resourceVersion": "1"},
        "items": [{"metadata": {"name": "typed"},
                   "spec": {"privileged": false, "seLinux": {"rule": "RunAsAny"},
                            "runAsUser": {"rule": "RunAsAny"}, "supplementalGroups": {"rule": "RunAsAny"},
                            "fsGroup": {"rule": "RunAsAny"}, "volumes": ["*"]}}]});
    std::fs::write(&psp_file, list.to_string()).expect("write");
    let files = podsec_server::psp::PspFiles::load(Some(&psp_file), None).expect("valid file");
    let names: Vec<&str> = files.policies.iter().map(|policy| policy.name()).collect();
    assert_eq!(names, ["typed"]);
    assert!(files.rbac.is_none(), "the items are not RBAC objects");
}

/// Two documents of one policy name: the last counts, as with `kubectl apply` (and as
/// `podsec check` reads them). The first copy allows privileged containers, the last does not.
#[tokio::test]
async fn the_last_document_of_a_policy_name_counts() {
    let policy = |privileged: bool| {
        format!(
            "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata:\n  name: a\n\
             spec:\n  privileged: {privileged}\n  seLinux: {{rule: RunAsAny}}\n  runAsUser: {{rule: RunAsAny}}\n\
             \x20 supplementalGroups: {{rule: RunAsAny}}\n  fsGroup: {{rule: RunAsAny}}\n  volumes: ['*']\n"
        )
    };
    let rbac = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: use-psp}\n\
                rules:\n- {apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use]}\n---\n\
                apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: use-psp}\n\
                roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: use-psp}\n\
                subjects:\n- {kind: Group, name: 'system:serviceaccounts', apiGroup: rbac.authorization.k8s.io}\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let psp_file = dir.path().join("psp.yaml");
    std::fs::write(
        &psp_file,
        format!("{}---\n{}---\n{rbac}", policy(true), policy(false)),
    )
    .expect("write");
    let files = podsec_server::psp::PspFiles::load(Some(&psp_file), None).expect("valid file");
    assert_eq!(files.policies.len(), 1);
    let server = common::start(Options {
        namespaces_yaml: Some(NAMESPACES.to_owned()),
        psp: PspArgs {
            psp_file: Some(psp_file),
            ..PspArgs::default()
        },
        ..Options::default()
    })
    .await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": "p", "namespace": "test-ns"},
                     "spec": {"containers": [{"name": "c", "image": "nginx",
                                               "securityContext": {"privileged": true}}]}});
    let review = Review {
        namespace: "test-ns",
        name: "p",
        object: pod,
        ..Review::default()
    }
    .json();
    for path in ["/mutate", "/validate"] {
        let response = post(&server, path, &review).await;
        assert_eq!(response["allowed"], false, "{path}: {response}");
        let message = response["status"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("Privileged containers are not allowed"),
            "{path}: {message}"
        );
    }
    server.stop().await.expect("clean stop");
}

/// An object `--psp-file` cannot use is named by its document, as `--namespaces-file` names it.
#[test]
fn a_psp_file_error_names_the_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let psp_file = dir.path().join("psp.yaml");
    std::fs::write(
        &psp_file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unrelated}\n---\n\
         apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: broken}\nspec: {}\n",
    )
    .expect("write");
    let error = podsec_server::psp::PspFiles::load(Some(&psp_file), None)
        .expect_err("a policy without its required strategies");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}: document 1: ", psp_file.display())),
        "{message}"
    );
}
