//! One AdmissionReview through the `podsec-admission` decision flow: decode the review, decide
//! with the namespace state this server has, record the metric events, encode the answer in
//! the request's `apiVersion` with the request's uid.
//!
//! The library decides without I/O; this module gives it the cluster through its
//! [`podsec_admission::Cluster`] trait, over either the file state (`--namespaces-file`) or the
//! live cluster (cache, live GET on a miss, paged pod list), bounded by the request's deadline.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use podsec_admission::admit::SystemClock;
use podsec_admission::object::Pod;
use podsec_admission::review::AdmissionResponse;
use podsec_admission::review::{ADMISSION_REVIEW_KIND, ADMISSION_V1, ADMISSION_V1BETA1};
use podsec_admission::{Admission, AdmissionReview, NamespacePolicy, Policy, RequestContext};
use podsec_psp::Phase;
use tokio::time::Instant;

use crate::cluster::{Cluster, ListError, LookupError};
use crate::metrics::Metrics;
use crate::psp::Psp;
use crate::state::{FileState, NamespaceCache};

/// How long a namespace lookup or pod listing may take when the API server sent no `?timeout=`.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// A review that cannot be decided: answered as plain text with status 400 or 500.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// Not JSON, not an AdmissionReview of a known version, or one without a request.
    #[error("unable to decode the request")]
    Decode,
    /// Another kind than AdmissionReview (Go's `GroupVersionKind` text).
    #[error("unexpected AdmissionReview kind: {0}")]
    UnexpectedKind(String),
    /// The answer could not be produced (HTTP 500: the webhook's failurePolicy applies).
    #[error("internal server error")]
    Internal,
}

/// Why the admission configuration could not be used.
///
/// The cause is written into the message and deliberately not returned by `source()`: the
/// binary prints errors with their chain (`{:#}`), which would say it a second time (and the
/// configuration's own errors repeat their causes in the same way).
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("reading --config {path}: {error}")]
    Read {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error("--config {path}: {error}")]
    Invalid {
        path: std::path::PathBuf,
        error: podsec_admission::ConfigError,
    },
}

/// Where namespace labels and existing pods come from.
pub enum ClusterState {
    /// `--namespaces-file`: fixed state, always synced.
    File(Arc<FileState>),
    /// The API server: the watched cache, live GETs and pod lists.
    Live(Cluster),
}

/// Decides reviews.
pub struct Admitter {
    admission: Admission,
    cluster: ClusterState,
    cache: Arc<NamespaceCache>,
    metrics: Arc<Metrics>,
    /// PodSecurityPolicy admission, when enabled (`--psp`).
    psp: Option<Psp>,
}

impl Admitter {
    /// Loads `--config` (a PodSecurityConfiguration, or an AdmissionConfiguration whose
    /// PodSecurity plugin holds one) and checks it as upstream does at start-up.
    pub fn new(
        config: Option<&Path>,
        cluster: ClusterState,
        cache: Arc<NamespaceCache>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, ConfigFileError> {
        let configuration = match config {
            None => podsec_admission::config::load_pod_security_configuration(b""),
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|error| ConfigFileError::Read {
                    path: path.to_path_buf(),
                    error,
                })?;
                let base = path.parent().unwrap_or(Path::new("."));
                podsec_admission::config::load_configuration(&bytes, base, &mut |p| {
                    std::fs::read(p)
                })
            }
        };
        let invalid = |error| ConfigFileError::Invalid {
            path: config.unwrap_or(Path::new("")).to_path_buf(),
            error,
        };
        let admission = Admission::new(&configuration.map_err(invalid)?).map_err(invalid)?;
        Ok(Admitter {
            admission,
            cluster,
            cache,
            metrics,
            psp: None,
        })
    }

    /// Adds PodSecurityPolicy admission: the validating phase joins every review, and
    /// [`Admitter::mutate`] runs the mutating phase.
    pub fn with_psp(mut self, psp: Psp) -> Self {
        self.psp = Some(psp);
        self
    }

    /// Whether a mutating endpoint is served (PSP is the only mutation this webhook does).
    pub fn mutates(&self) -> bool {
        self.psp.is_some()
    }

    /// Decides one review body in PSP's mutating phase (CREATE of pods; everything else is
    /// allowed untouched) and returns the answer's HTTP body: its JSON and a newline.
    pub async fn mutate(
        &self,
        body: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Bytes, ReviewError> {
        let review = decode_review(body)?;
        let request = review.request.as_ref().ok_or(ReviewError::Decode)?;
        let deadline = deadline.unwrap_or_else(|| Instant::now() + DEFAULT_DEADLINE);
        let decided = match &self.psp {
            Some(psp) => psp.decide(request, Phase::Mutating, deadline).await,
            None => None,
        };
        let response = decided.unwrap_or_else(AdmissionResponse::allowed);
        if response.allowed {
            tracing::debug!(uid = %request.uid, namespace = %request.namespace, name = %request.name,
                operation = %request.operation, patched = response.patch.is_some(), "mutation allowed");
        } else {
            // Not `message`: that is the event's own text, and JSON lines would hold the key
            // twice (the JSON format flattens the fields next to it).
            let status_message = response.status.as_ref().map_or("", |s| s.message.as_str());
            tracing::info!(uid = %request.uid, namespace = %request.namespace, name = %request.name,
                operation = %request.operation, %status_message, "mutation denied");
        }
        encode_answer(&review.reply(response))
    }

    /// Decides one review body and returns the answer's HTTP body: its JSON and a newline.
    pub async fn review(
        &self,
        body: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Bytes, ReviewError> {
        let review = decode_review(body)?;
        // Upstream's handler dereferences the request unconditionally and crashes into a 500;
        // a review without one is a malformed request, and is answered as one.
        let request = review.request.as_ref().ok_or(ReviewError::Decode)?;

        let lookup_deadline = deadline.unwrap_or_else(|| Instant::now() + DEFAULT_DEADLINE);
        let cluster = RequestCluster {
            state: &self.cluster,
            cache: &self.cache,
            deadline: lookup_deadline,
            uid: &request.uid,
        };
        let ctx = RequestContext {
            clock: &SystemClock,
            deadline: deadline.map(Instant::into_std),
        };
        let outcome = podsec_admission::admit(&self.admission, &cluster, request, ctx).await;
        for event in &outcome.metrics {
            self.metrics.record(event);
        }
        let mut response = outcome.response;
        // PSP's validating phase joins a request Pod Security Standards allowed; a PSS denial
        // stands on its own (and spares the SubjectAccessReviews).
        if response.allowed
            && let Some(psp) = &self.psp
            && let Some(answer) = psp
                .decide(request, Phase::Validating, lookup_deadline)
                .await
        {
            response = crate::psp::review::combine(response, answer);
        }

        if response.allowed {
            tracing::debug!(uid = %request.uid, kind = %request.kind.kind, namespace = %request.namespace,
                name = %request.name, operation = %request.operation, warnings = response.warnings.len(), "allowed");
        } else {
            // Not `message`, which is the event's own text (see `mutate`).
            let status_message = response.status.as_ref().map_or("", |s| s.message.as_str());
            tracing::info!(uid = %request.uid, kind = %request.kind.kind, namespace = %request.namespace,
                name = %request.name, operation = %request.operation, %status_message, "denied");
        }
        if let Some(error) = response.audit_annotations.get("error") {
            tracing::warn!(uid = %request.uid, namespace = %request.namespace, %error, "could not evaluate normally");
        }

        encode_answer(&review.reply(response))
    }
}

/// The answer's HTTP body (see [`crate::answer::encode`]).
fn encode_answer(reply: &AdmissionReview) -> Result<Bytes, ReviewError> {
    crate::answer::encode(reply).map_err(|error| {
        tracing::error!(%error, "encoding the AdmissionReview response");
        ReviewError::Internal
    })
}

/// Decodes a review body and checks its type ([`check_type`]).
fn decode_review(body: &[u8]) -> Result<AdmissionReview, ReviewError> {
    let review = AdmissionReview::from_json_slice(body).map_err(|_| ReviewError::Decode)?;
    check_type(&review)?;
    Ok(review)
}

/// Only AdmissionReviews of `admission.k8s.io/v1` or `v1beta1` are decided; absent type fields
/// default to `v1 AdmissionReview` as upstream's decoder does.
fn check_type(review: &AdmissionReview) -> Result<(), ReviewError> {
    let kind_ok = review.kind.is_empty() || review.kind == ADMISSION_REVIEW_KIND;
    let version_ok = review.api_version.is_empty()
        || review.api_version == ADMISSION_V1
        || review.api_version == ADMISSION_V1BETA1;
    match (kind_ok, version_ok) {
        (true, true) => Ok(()),
        (false, _) => {
            let (group, version) = review
                .api_version
                .rsplit_once('/')
                .unwrap_or(("", review.api_version.as_str()));
            Err(ReviewError::UnexpectedKind(format!(
                "{group}/{version}, Kind={}",
                review.kind
            )))
        }
        (true, false) => Err(ReviewError::Decode),
    }
}

/// The cluster as one request sees it: lookups bounded by the request's deadline.
struct RequestCluster<'a> {
    state: &'a ClusterState,
    cache: &'a NamespaceCache,
    deadline: Instant,
    /// The request's uid, to tie log lines to it.
    uid: &'a str,
}

/// A lookup or listing failure, shown to users after `failed to lookup namespace "<ns>": `.
#[derive(Debug, thiserror::Error)]
enum ClusterError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    List(#[from] ListError),
}

impl podsec_admission::Cluster for RequestCluster<'_> {
    type Error = ClusterError;

    async fn namespace_policy(
        &self,
        name: &str,
        defaults: Policy,
    ) -> Result<NamespacePolicy, ClusterError> {
        let namespace = match self.state {
            ClusterState::File(_) => self
                .cache
                .get(name)
                .ok_or_else(|| LookupError::NotFound(name.to_owned()))?,
            ClusterState::Live(cluster) => cluster.namespace(name, self.deadline).await?,
        };
        Ok(namespace.policy(defaults))
    }

    async fn list_pods(
        &self,
        namespace: &str,
        deadline: std::time::Instant,
    ) -> Result<Vec<Pod>, ClusterError> {
        match self.state {
            ClusterState::File(file) => Ok(file.pods.get(namespace).cloned().unwrap_or_default()),
            ClusterState::Live(cluster) => {
                let deadline = Instant::from_std(deadline).min(self.deadline);
                // On a task of its own: decoding pages of up to 500 pods takes milliseconds,
                // which the other reviews on this connection, run on its task (`batching.rs`),
                // need not wait for.
                let (cluster, name) = (cluster.clone(), namespace.to_owned());
                tokio::spawn(async move { cluster.list_pods::<Pod>(&name, deadline).await })
                    .await
                    .unwrap_or_else(|failed| Err(ListError::Task(failed.to_string())))
                    .map_err(|error| {
                        // The decision turns a failed listing into a fixed warning for the user
                        // and drops the cause, so it is logged here, where the cause is still
                        // at hand (upstream: `klog.ErrorS(err, "failed to list pods",
                        // "namespace", namespace)`).
                        tracing::error!(uid = %self.uid, namespace, %error, "failed to list pods");
                        ClusterError::List(error)
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use podsec_admission::config::{
        PodSecurityConfiguration, PodSecurityDefaults, PodSecurityExemptions,
    };
    use podsec_admission::review::AdmissionRequest;
    use serde_json::json;

    use super::*;
    use crate::state::PsaLabels;

    /// Namespaces whose labels are resolved on every request (what the namespace cache did
    /// before it kept the resolved policy).
    struct Fresh<'a>(&'a HashMap<String, PsaLabels>);

    impl podsec_admission::Cluster for Fresh<'_> {
        type Error = String;

        async fn namespace_policy(
            &self,
            name: &str,
            defaults: Policy,
        ) -> Result<NamespacePolicy, String> {
            let labels = self.0.get(name);
            labels
                .map(|labels| NamespacePolicy::resolve(labels, defaults))
                .ok_or_else(|| LookupError::NotFound(name.to_owned()).to_string())
        }

        async fn list_pods(
            &self,
            _namespace: &str,
            _deadline: std::time::Instant,
        ) -> Result<Vec<Pod>, String> {
            Ok(Vec::new())
        }
    }

    fn request(kind: &str, resource: &str, group: &str, namespace: &str) -> AdmissionRequest {
        let spec = json!({"containers": [{"name": "c", "image": "i",
            "securityContext": {"privileged": true}}]});
        let object = if kind == "Pod" {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
        } else {
            json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "d"},
                "spec": {"template": {"metadata": {}, "spec": spec}}})
        };
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u", "kind": {"group": group, "version": "v1", "kind": kind},
                "resource": {"group": group, "version": "v1", "resource": resource},
                "name": "x", "namespace": namespace, "operation": "CREATE",
                "userInfo": {"username": "alice"}, "object": object}});
        let review = AdmissionReview::from_json_slice(review.to_string().as_bytes());
        let request = review.map(|review| review.request);
        request
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("the {kind} review decodes"))
    }

    /// `{:#}` of an error, as the binary prints it (`error: {error:#}`).
    fn printed(error: impl std::error::Error + Send + Sync + 'static) -> String {
        format!("{:#}", anyhow::Error::new(error))
    }

    fn admitter(config: &Path) -> Result<Admitter, ConfigFileError> {
        Admitter::new(
            Some(config),
            ClusterState::File(Arc::new(FileState::default())),
            Arc::new(NamespaceCache::new()),
            Arc::new(Metrics::new()),
        )
    }

    #[test]
    fn a_bad_config_is_reported_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.yaml");
        std::fs::write(
            &path,
            "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n\
             defaults: {enforce: bogus}\n",
        )
        .expect("write");
        let Err(error) = admitter(&path) else {
            panic!("an invalid level is refused");
        };
        let text = printed(error);
        let detail = text
            .strip_prefix(&format!(
                "--config {}: configuration error: ",
                path.display()
            ))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(detail.starts_with("enforce: "), "{text}");
        assert_eq!(text.matches("configuration error").count(), 1, "{text}");

        let missing = dir.path().join("missing.yaml");
        let Err(error) = admitter(&missing) else {
            panic!("a missing file is refused");
        };
        let io = std::fs::read(&missing).expect_err("missing");
        assert_eq!(
            printed(error),
            format!("reading --config {}: {io}", missing.display())
        );
    }

    /// Every outcome (response, audit annotations, metric events) with policies kept in the
    /// namespace cache is the outcome with policies resolved per request: valid, invalid and
    /// unrelated labels, privileged and exempt namespaces, an unknown one, for pods and
    /// controllers, under two sets of defaults that share one cache.
    #[tokio::test]
    async fn kept_namespace_policies_decide_as_freshly_resolved_ones() {
        let namespaces: HashMap<String, PsaLabels> = [
            (
                "valid",
                &[
                    ("enforce", "baseline"),
                    ("enforce-version", "v1.29"),
                    ("audit", "restricted"),
                    ("warn", "restricted"),
                ][..],
            ),
            (
                "invalid",
                &[
                    ("enforce", "strict"),
                    ("audit-version", "v2"),
                    ("warn", "baseline"),
                ],
            ),
            ("invalid-warn", &[("warn", "x")]),
            ("enforce-only", &[("enforce", "restricted")]),
            ("unlabelled", &[]),
            (
                "privileged",
                &[("enforce", "privileged"), ("warn", "privileged")],
            ),
            ("exempt", &[("enforce", "restricted")]),
        ]
        .into_iter()
        .map(|(name, pairs)| {
            let labels = pairs
                .iter()
                .map(|(k, v)| (format!("pod-security.kubernetes.io/{k}"), (*v).to_owned()))
                .collect();
            (name.to_owned(), labels)
        })
        .collect();
        let cache = NamespaceCache::new();
        cache.replace_all(namespaces.clone());
        let state = ClusterState::File(Arc::new(FileState::default()));
        let cached = RequestCluster {
            state: &state,
            cache: &cache,
            deadline: Instant::now() + DEFAULT_DEADLINE,
            uid: "test",
        };
        let stricter = PodSecurityDefaults {
            enforce: "baseline".to_owned(),
            audit: "restricted".to_owned(),
            audit_version: "v1.25".to_owned(),
            warn: "restricted".to_owned(),
            ..Default::default()
        };
        for defaults in [PodSecurityDefaults::default(), stricter] {
            let admission = Admission::new(&PodSecurityConfiguration {
                defaults,
                exemptions: PodSecurityExemptions {
                    namespaces: vec!["exempt".to_owned()],
                    ..Default::default()
                },
            })
            .expect("valid configuration");
            for namespace in namespaces.keys().map(String::as_str).chain(["missing"]) {
                for request in [
                    request("Pod", "pods", "", namespace),
                    request("Deployment", "deployments", "apps", namespace),
                ] {
                    let ctx = RequestContext::default();
                    let fresh = Fresh(&namespaces);
                    let want = podsec_admission::admit(&admission, &fresh, &request, ctx).await;
                    let error = want.response.audit_annotations.get("error");
                    match namespace {
                        "invalid" | "invalid-warn" => assert!(
                            error.is_some_and(|e| e.starts_with("Failed to parse policy: ")),
                            "{want:?}"
                        ),
                        "missing" => assert!(error.is_some(), "{want:?}"),
                        _ => assert!(error.is_none(), "{want:?}"),
                    }
                    // The first request resolves and keeps the policy, the second uses it.
                    for _ in 0..2 {
                        let got = podsec_admission::admit(&admission, &cached, &request, ctx).await;
                        assert_eq!(got, want, "{namespace} {}", request.kind.kind);
                    }
                }
            }
        }
    }
}
