//! The real webhook on loopback over HTTPS, answering real AdmissionReviews: the field guide's
//! rollout scenario exactly, denials, controllers, ephemeral containers, namespace relabels,
//! exemptions, v1beta1, the probes and the metrics.

mod common;

use common::{Options, Review, namespace_object, pod, restricted_pod, start};
use serde_json::{Value, json};

const NAMESPACES: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels:
    pod-security.kubernetes.io/enforce: baseline
    pod-security.kubernetes.io/warn: restricted
---
apiVersion: v1
kind: Namespace
metadata:
  name: locked
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: v1
kind: Namespace
metadata:
  name: open
---
apiVersion: v1
kind: Namespace
metadata:
  name: sandbox
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: v1
kind: Pod
metadata:
  name: old-privileged
  namespace: open
spec:
  containers:
  - name: app
    image: nginx
    securityContext:
      privileged: true
---
apiVersion: v1
kind: Pod
metadata:
  name: old-fine
  namespace: open
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: nginx
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
";

fn options() -> Options {
    Options {
        namespaces_yaml: Some(NAMESPACES.to_owned()),
        ..Options::default()
    }
}

#[tokio::test]
async fn rollout_scenario_is_answered_exactly() {
    let Some(shared) = common::shared() else {
        return;
    };
    let scenario = shared.join("scenarios/pss-namespace-rollout");
    let server = start(Options {
        namespaces_path: Some(scenario.join("namespace.yaml")),
        ..Options::default()
    })
    .await;
    let request = std::fs::read(scenario.join("admission-request.json")).expect("request");
    let want: Value = serde_json::from_slice(
        &std::fs::read(scenario.join("expected-admission-response.json")).expect("expected"),
    )
    .expect("expected json");
    let (status, got) = server.post(request).await;
    assert_eq!(status, 200);
    assert_eq!(got, want);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn the_same_review_in_v1beta1_is_answered_in_v1beta1() {
    let Some(shared) = common::shared() else {
        return;
    };
    let scenario = shared.join("scenarios/pss-namespace-rollout");
    let server = start(Options {
        namespaces_path: Some(scenario.join("namespace.yaml")),
        ..Options::default()
    })
    .await;
    let mut review: Value = serde_json::from_slice(
        &std::fs::read(scenario.join("admission-request.json")).expect("request"),
    )
    .expect("json");
    review["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let mut want: Value = serde_json::from_slice(
        &std::fs::read(scenario.join("expected-admission-response.json")).expect("expected"),
    )
    .expect("expected json");
    want["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let (status, got) = server
        .post(serde_json::to_vec(&review).expect("json"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(got, want);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn privileged_pod_is_denied_with_upstreams_status() {
    let server = start(options()).await;
    let response = server
        .decide(
            &Review {
                namespace: "prod",
                name: "priv",
                object: pod("priv", "prod", true),
                ..Review::default()
            }
            .json(),
        )
        .await;
    assert_eq!(response["allowed"], false);
    let status = &response["status"];
    assert_eq!(status["code"], 403);
    assert_eq!(status["reason"], "Forbidden");
    assert_eq!(status["status"], "Failure");
    assert_eq!(
        status["message"],
        "pods \"priv\" is forbidden: violates PodSecurity \"baseline:latest\": privileged (container \"app\" must not set securityContext.privileged=true)"
    );
    assert_eq!(status["details"], json!({"name": "priv", "kind": "pods"}));
    assert_eq!(
        response["auditAnnotations"]["enforce-policy"],
        "baseline:latest"
    );
    // Denied pods get no warning.
    assert!(response.get("warnings").is_none(), "{response}");

    // A compliant pod in the strictest namespace passes quietly.
    let response = server
        .decide(
            &Review {
                namespace: "locked",
                name: "good",
                object: restricted_pod("good", "locked"),
                ..Review::default()
            }
            .json(),
        )
        .await;
    assert_eq!(response["allowed"], true, "{response}");
    assert_eq!(
        response["auditAnnotations"],
        json!({"enforce-policy": "restricted:latest"})
    );

    let (_, metrics) = server.get("/metrics").await;
    assert!(metrics.contains("pod_security_evaluations_total{decision=\"deny\",mode=\"enforce\",policy_level=\"baseline\",policy_version=\"latest\",request_operation=\"create\",resource=\"pod\",subresource=\"\"} 1"), "{metrics}");
    assert!(metrics.contains("pod_security_evaluations_total{decision=\"allow\",mode=\"enforce\",policy_level=\"restricted\",policy_version=\"latest\",request_operation=\"create\",resource=\"pod\",subresource=\"\"} 1"), "{metrics}");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn controllers_are_never_denied_but_warned() {
    let server = start(options()).await;
    let template = pod("web", "locked", true);
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "locked"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": template["metadata"], "spec": template["spec"]}}
    });
    let response = server
        .decide(
            &Review {
                group: "apps",
                kind: "Deployment",
                resource: "deployments",
                namespace: "locked",
                name: "web",
                object: deployment,
                ..Review::default()
            }
            .json(),
        )
        .await;
    assert_eq!(response["allowed"], true, "{response}");
    let warnings = response["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1);
    let warning = warnings[0].as_str().expect("text");
    assert!(
        warning.starts_with("would violate PodSecurity \"restricted:latest\": privileged (container \"app\" must not set securityContext.privileged=true)"),
        "{warning}"
    );
    let (_, metrics) = server.get("/metrics").await;
    assert!(metrics.contains("pod_security_evaluations_total{decision=\"deny\",mode=\"warn\",policy_level=\"restricted\",policy_version=\"latest\",request_operation=\"create\",resource=\"controller\",subresource=\"\"} 1"), "{metrics}");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn adding_a_privileged_ephemeral_container_is_denied() {
    let server = start(options()).await;
    let old = pod("app", "prod", false);
    let mut new = old.clone();
    new["spec"]["ephemeralContainers"] = json!([{"name": "debugger", "image": "busybox",
        "securityContext": {"privileged": true}, "targetContainerName": "app"}]);
    let review = Review {
        namespace: "prod",
        name: "app",
        operation: "UPDATE",
        sub_resource: "ephemeralcontainers",
        object: new,
        old_object: old.clone(),
        ..Review::default()
    };
    let response = server.decide(&review.json()).await;
    assert_eq!(response["allowed"], false, "{response}");
    assert_eq!(
        response["status"]["message"],
        "pods \"app\" is forbidden: violates PodSecurity \"baseline:latest\": privileged (container \"debugger\" must not set securityContext.privileged=true)"
    );

    // A label-only update of the same pod is not even evaluated.
    let mut relabelled = old.clone();
    relabelled["metadata"]["labels"]["tier"] = json!("web");
    let response = server
        .decide(
            &Review {
                namespace: "prod",
                name: "app",
                operation: "UPDATE",
                object: relabelled,
                old_object: old,
                ..Review::default()
            }
            .json(),
        )
        .await;
    assert_eq!(
        response,
        json!({"uid": "11111111-2222-4333-8444-555555555555", "allowed": true})
    );
    server.stop().await.expect("clean stop");
}

/// Labelling namespace `open` (one privileged pod, one restricted) to enforce baseline.
fn enforcing_baseline_on_open() -> Review {
    Review {
        kind: "Namespace",
        resource: "namespaces",
        namespace: "open",
        name: "open",
        operation: "UPDATE",
        object: namespace_object(
            "open",
            json!({"pod-security.kubernetes.io/enforce": "baseline"}),
        ),
        old_object: namespace_object("open", json!({})),
        ..Review::default()
    }
}

#[tokio::test]
async fn tightening_a_namespace_warns_about_its_existing_pods() {
    let server = start(options()).await;
    let response = server.decide(&enforcing_baseline_on_open().json()).await;
    assert_eq!(response["allowed"], true, "{response}");
    assert_eq!(
        response["warnings"],
        json!([
            "existing pods in namespace \"open\" violate the new PodSecurity enforce level \"baseline:latest\"",
            "old-privileged: privileged"
        ])
    );

    // Invalid labels on create are refused with 422.
    let response = server
        .decide(
            &Review {
                kind: "Namespace",
                resource: "namespaces",
                namespace: "new",
                name: "new",
                object: namespace_object(
                    "new",
                    json!({"pod-security.kubernetes.io/enforce": "strict"}),
                ),
                ..Review::default()
            }
            .json(),
        )
        .await;
    assert_eq!(response["allowed"], false, "{response}");
    assert_eq!(response["status"]["code"], 422);
    server.stop().await.expect("clean stop");
}

/// The API server multiplexes reviews over one HTTP/2 connection, whose streams the webhook runs
/// on the connection's task (`batching.rs`): many at once, of several kinds (a denial, an
/// allowed pod with warnings, a namespace relabel that evaluates existing pods), each get the
/// answer they get alone, under their own uid.
#[tokio::test]
async fn concurrent_reviews_on_one_http2_connection_are_answered_as_alone() {
    let server = start(options()).await;
    let kinds = [
        Review {
            namespace: "prod",
            name: "bad",
            object: pod("bad", "prod", true),
            ..Review::default()
        },
        Review {
            namespace: "prod",
            name: "good",
            object: pod("good", "prod", false),
            ..Review::default()
        },
        Review {
            namespace: "locked",
            name: "fine",
            object: restricted_pod("fine", "locked"),
            ..Review::default()
        },
        enforcing_baseline_on_open(),
    ];
    let mut alone = Vec::new();
    for review in &kinds {
        alone.push(server.decide(&review.json()).await);
    }

    let (sender, _connection) = server.http2().await;
    let requests = (0..64).map(|i| {
        let mut review = kinds[i % kinds.len()].json();
        let uid = format!("00000000-0000-4000-8000-{i:012}");
        review["request"]["uid"] = json!(uid);
        let mut sender = sender.clone();
        let request = server.validate_request(serde_json::to_vec(&review).expect("json"));
        async move {
            let response = sender.send_request(request).await.expect("answered");
            assert_eq!(response.status(), 200);
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .expect("body")
                .to_bytes();
            let answer: Value = serde_json::from_slice(&body).expect("JSON");
            (i, uid, answer["response"].clone())
        }
    });
    for (i, uid, mut response) in futures::future::join_all(requests).await {
        assert_eq!(response["uid"], json!(uid));
        response["uid"] = alone[i % kinds.len()]["uid"].clone();
        assert_eq!(response, alone[i % kinds.len()], "request {i}");
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn exemptions_from_the_configuration_file() {
    let server = start(Options {
        config_yaml: Some(
            "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n\
             defaults:\n  enforce: baseline\nexemptions:\n  usernames: [system:serviceaccount:kube-system:replicaset-controller]\n  \
             namespaces: [sandbox]\n  runtimeClasses: [kata]\n"
                .to_owned(),
        ),
        ..options()
    })
    .await;
    let privileged = |ns: &'static str, user: &'static str| Review {
        namespace: ns,
        name: "priv",
        username: user,
        object: pod("priv", ns, true),
        ..Review::default()
    };
    let exempt = |response: &Value, why: &str| {
        assert_eq!(response["allowed"], true, "{response}");
        assert_eq!(
            response["auditAnnotations"],
            json!({"exempt": why}),
            "{response}"
        );
    };
    exempt(
        &server.decide(&privileged("sandbox", "jane").json()).await,
        "namespace",
    );
    exempt(
        &server
            .decide(
                &privileged(
                    "locked",
                    "system:serviceaccount:kube-system:replicaset-controller",
                )
                .json(),
            )
            .await,
        "user",
    );
    let mut kata = pod("priv", "locked", true);
    kata["spec"]["runtimeClassName"] = json!("kata");
    exempt(
        &server
            .decide(
                &Review {
                    namespace: "locked",
                    name: "priv",
                    object: kata,
                    ..Review::default()
                }
                .json(),
            )
            .await,
        "runtimeClass",
    );
    // The configured default applies to a namespace without labels.
    let response = server.decide(&privileged("open", "jane").json()).await;
    assert_eq!(response["allowed"], false, "{response}");

    let (_, metrics) = server.get("/metrics").await;
    assert!(metrics.contains("pod_security_exemptions_total{request_operation=\"create\",resource=\"pod\",subresource=\"\"} 3"), "{metrics}");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn an_unknown_namespace_is_a_lookup_failure() {
    let server = start(options()).await;
    let response = server
        .decide(
            &Review {
                namespace: "missing-ns",
                name: "p",
                object: pod("p", "missing-ns", false),
                ..Review::default()
            }
            .json(),
        )
        .await;
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 500);
    assert_eq!(
        response["status"]["message"],
        "Internal error occurred: failed to lookup namespace \"missing-ns\""
    );
    assert_eq!(
        response["auditAnnotations"]["error"],
        "Internal error occurred: failed to lookup namespace \"missing-ns\": namespaces \"missing-ns\" not found"
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn probes_and_metrics() {
    let server = start(options()).await;
    for path in [
        "/healthz",
        "/healthz/ping",
        "/readyz",
        "/readyz/informer-sync",
    ] {
        assert_eq!(server.get(path).await, (200, "ok\n".to_owned()), "{path}");
    }
    let scrape = |accept: Option<&'static str>| {
        let mut request = server.client.get(server.url("/metrics"));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        async move {
            let response = request.send().await.expect("metrics");
            assert_eq!(response.status(), 200);
            let content_type = response.headers()["content-type"]
                .to_str()
                .expect("type")
                .to_owned();
            (content_type, response.text().await.expect("text"))
        }
    };
    let zero = "pod_security_exemptions_total{request_operation=\"update\",resource=\"controller\",subresource=\"\"} 0\n";

    // No Accept (and curl's */*): upstream's Prometheus text format.
    for accept in [None, Some("*/*")] {
        let (content_type, text) = scrape(accept).await;
        assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
        assert!(text.contains("# HELP pod_security_evaluations_total [ALPHA] Number of policy evaluations that occurred, not counting ignored or exempt requests.\n# TYPE pod_security_evaluations_total counter\n"), "{text}");
        assert!(text.contains(zero), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
    }

    // A Prometheus server prefers OpenMetrics.
    let (content_type, text) = scrape(Some("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")).await;
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(text.contains("# HELP pod_security_evaluations [ALPHA] Number of policy evaluations that occurred, not counting ignored or exempt requests.\n# TYPE pod_security_evaluations counter\n"), "{text}");
    assert!(text.contains(zero), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn before_the_first_sync_requests_fail_per_the_failure_behaviour() {
    // An API server that is not there: the namespace cache never syncs.
    let kubeconfig = "apiVersion: v1\nkind: Config\nclusters:\n- name: down\n  cluster:\n    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: true\n\
        contexts:\n- name: down\n  context: {cluster: down, user: nobody}\ncurrent-context: down\nusers:\n- name: nobody\n  user: {token: none}\n";
    let server = start(Options {
        kubeconfig: Some(kubeconfig.to_owned()),
        ..Options::default()
    })
    .await;
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 500);
    assert!(body.contains("informer-sync"), "{body}");
    assert_eq!(server.get("/healthz").await.0, 200);

    // Pods fail closed (failurePolicy Fail semantics) with a message that says why …
    let response = server
        .decide(
            &Review {
                name: "p",
                object: pod("p", "default", false),
                ..Review::default()
            }
            .json(),
        )
        .await;
    assert_eq!(response["allowed"], false);
    assert_eq!(
        response["auditAnnotations"]["error"],
        "Internal error occurred: failed to lookup namespace \"default\": the namespace cache has not synced with the API server yet"
    );
    // … controllers fail open.
    let template = pod("web", "default", true);
    let response = server
        .decide(
            &Review {
                group: "apps",
                kind: "ReplicaSet",
                resource: "replicasets",
                name: "web",
                object: json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
                    "spec": {"template": {"metadata": template["metadata"], "spec": template["spec"]}}}),
                ..Review::default()
            }
            .json(),
        )
        .await;
    assert_eq!(response["allowed"], true, "{response}");
    server.stop().await.expect("clean stop");
}
