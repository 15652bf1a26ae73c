//! The admission decision (spec §5.1–§5.8): one AdmissionRequest in, one AdmissionResponse and
//! the metric events it caused out.
//!
//! The flow does no I/O of its own. What it needs from the cluster (a namespace's labels, the
//! pods of a namespace) comes through [`Cluster`], which the webhook implements over its caches
//! and the API; time comes through [`Clock`], so that the time budget of the existing-pod check
//! is testable. [`admit`] is an `async fn` because the webhook's lookups are, but it needs no
//! runtime: it only awaits what the `Cluster` returns.
//!
//! [`evaluate_pod`] is the evaluation step alone (§5.5 without exemptions and recording), for
//! the CLI, which reports the per-mode results itself.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::time::{Duration, Instant};

use podsec_pss::format::go_quote;
use podsec_pss::pod::{PodMetadata, PodSpec};
use podsec_pss::{Evaluation, Evaluator, Level, LevelVersion, MAX_KNOWN_MINOR, Version};

use crate::config::{ConfigError, Exemptions, PodSecurityConfiguration};
use crate::field_error::{Aggregate, FieldErrorList};
use crate::object::{Object, Pod, extract_pod};
use crate::policy::{Mode, Policy};
use crate::review::{AdmissionRequest, AdmissionResponse, Status, StatusCause, StatusDetails};

/// Audit annotation keys (un-prefixed; the host adds its prefix).
pub const ANNOTATION_ENFORCE_POLICY: &str = "enforce-policy";
pub const ANNOTATION_AUDIT_VIOLATIONS: &str = "audit-violations";
pub const ANNOTATION_EXEMPT: &str = "exempt";
pub const ANNOTATION_ERROR: &str = "error";

/// Pod subresources that cannot change what a pod runs: allowed without looking.
pub const IGNORED_POD_SUBRESOURCES: [&str; 8] = [
    "exec",
    "attach",
    "binding",
    "eviction",
    "log",
    "portforward",
    "proxy",
    "status",
];

/// At most this many existing pods are evaluated when a namespace's enforce level tightens.
pub const NAMESPACE_MAX_PODS_TO_CHECK: usize = 3000;
/// The longest the existing-pod evaluation may take.
pub const NAMESPACE_POD_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// What the decision needs to know about the cluster. The webhook implements it over its
/// namespace cache (falling back to a live GET) and a live pod list.
pub trait Cluster {
    /// Shown to users after `failed to lookup namespace "<ns>": ` (e.g.
    /// `namespaces "x" not found`), so it should read like the API's errors.
    type Error: std::fmt::Display;

    /// The labels of namespace `name`.
    fn namespace_labels(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, Self::Error>> + Send;

    /// Every pod in `namespace`, in the API's list order. Must give up with an error once
    /// `deadline` has passed: the namespace update must not wait for a slow list.
    fn list_pods(
        &self,
        namespace: &str,
        deadline: Instant,
    ) -> impl Future<Output = Result<Vec<Pod>, Self::Error>> + Send;
}

/// The time source of the flow (only the existing-pod check reads it).
pub trait Clock {
    fn now(&self) -> Instant;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Per-request context.
#[derive(Clone, Copy)]
pub struct RequestContext<'a> {
    pub clock: &'a (dyn Clock + Sync),
    /// When the API server stops waiting for the answer (the webhook's `?timeout=`), if known.
    pub deadline: Option<Instant>,
}

impl Default for RequestContext<'_> {
    fn default() -> Self {
        RequestContext {
            clock: &SystemClock,
            deadline: None,
        }
    }
}

/// The configured admission: default policy, exemptions and evaluator.
#[derive(Debug, Clone)]
pub struct Admission {
    pub defaults: Policy,
    pub exemptions: Exemptions,
    pub evaluator: Evaluator,
    /// The Kubernetes minor version this binary reports. Versions newer than it are counted
    /// as `future` in metrics.
    pub binary_minor: u64,
}

impl Default for Admission {
    /// All `privileged:latest`, no exemptions: upstream's defaults.
    fn default() -> Self {
        Admission {
            defaults: Policy::PRIVILEGED,
            exemptions: Exemptions::default(),
            evaluator: Evaluator::default(),
            binary_minor: u64::from(MAX_KNOWN_MINOR),
        }
    }
}

impl Admission {
    /// Checks the configuration as the webhook does at start-up (errors are
    /// `configuration error: …` or `invalid configuration: …`) and builds the admission.
    pub fn new(config: &PodSecurityConfiguration) -> Result<Self, ConfigError> {
        let (defaults, exemptions) = config.complete()?;
        Ok(Admission {
            defaults,
            exemptions,
            ..Admission::default()
        })
    }
}

/// `allow` or `deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricDecision {
    Allow,
    Deny,
}

impl MetricDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricDecision::Allow => "allow",
            MetricDecision::Deny => "deny",
        }
    }
}

/// The `resource` label: what kind of request was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricResource {
    Pod,
    Namespace,
    Controller,
}

impl MetricResource {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricResource::Pod => "pod",
            MetricResource::Namespace => "namespace",
            MetricResource::Controller => "controller",
        }
    }
}

/// The labels every metric of a request shares.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestLabels {
    /// Lower-cased: `create`, `update`, …
    pub operation: String,
    pub resource: MetricResource,
    /// As sent; empty for none.
    pub subresource: String,
}

/// One metric observation (spec §5.10); the webhook turns them into counter increments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MetricEvent {
    /// `pod_security_evaluations_total`.
    Evaluation {
        decision: MetricDecision,
        mode: Mode,
        level: Level,
        /// The `policy_version` label: `latest`, `v1.N` or `future` ([`version_label`]).
        version: String,
        request: RequestLabels,
    },
    /// `pod_security_exemptions_total`.
    Exemption { request: RequestLabels },
    /// `pod_security_errors_total`.
    Error { fatal: bool, request: RequestLabels },
}

/// The `policy_version` label: `latest` for `latest` and for privileged (whose version does not
/// matter), `v1.N` up to the binary's own minor, `future` beyond.
pub fn version_label(policy: LevelVersion, binary_minor: u64) -> String {
    match policy.version {
        _ if policy.level == Level::Privileged => "latest".to_owned(),
        Version::Latest => "latest".to_owned(),
        Version::Minor(minor) if minor <= binary_minor => policy.version.to_string(),
        Version::Minor(_) => "future".to_owned(),
    }
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Carries the request's uid.
    pub response: AdmissionResponse,
    pub metrics: Vec<MetricEvent>,
}

/// One mode's evaluation of a pod.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeEvaluation {
    pub mode: Mode,
    pub policy: LevelVersion,
    pub evaluation: Evaluation,
}

impl ModeEvaluation {
    /// The text upstream shows for this mode: `violates PodSecurity "…": …` for enforce,
    /// `would violate PodSecurity "…": …` for audit and warn. Meaningful when disallowed.
    pub fn message(&self) -> String {
        match self.mode {
            Mode::Enforce => self.evaluation.enforce_message(self.policy),
            Mode::Audit | Mode::Warn => self.evaluation.advisory_message(self.policy),
        }
    }
}

/// Evaluates one pod under `policy` as §5.5 does (without exemptions and recording): enforce
/// (when `enforce`), then audit, then warn only when the pod is still allowed. A mode whose
/// level and version equal an earlier one's reuses its result. Returned in that order.
pub fn evaluate_pod(
    evaluator: &Evaluator,
    policy: &Policy,
    metadata: &PodMetadata,
    spec: &PodSpec,
    enforce: bool,
) -> Vec<ModeEvaluation> {
    let mut results: Vec<ModeEvaluation> = Vec::with_capacity(3);
    let run = |mode: Mode, results: &mut Vec<ModeEvaluation>| {
        let lv = policy.get(mode);
        let evaluation = match results.iter().find(|r| r.policy == lv) {
            Some(previous) => previous.evaluation.clone(),
            None => evaluator.evaluate(lv, metadata, spec),
        };
        results.push(ModeEvaluation {
            mode,
            policy: lv,
            evaluation,
        });
    };
    if enforce {
        run(Mode::Enforce, &mut results);
    }
    run(Mode::Audit, &mut results);
    let allowed = results
        .first()
        .is_none_or(|r| r.mode != Mode::Enforce || r.evaluation.allowed());
    if allowed {
        run(Mode::Warn, &mut results);
    }
    results
}

/// Decides one request (spec §5.1): namespaces, pods, or anything else as a pod controller.
pub async fn admit<C: Cluster + Sync>(
    admission: &Admission,
    cluster: &C,
    request: &AdmissionRequest,
    ctx: RequestContext<'_>,
) -> Outcome {
    let core = request.resource.group.is_empty();
    let resource = match request.resource.resource.as_str() {
        "namespaces" if core => MetricResource::Namespace,
        "pods" if core => MetricResource::Pod,
        _ => MetricResource::Controller,
    };
    let mut flow = Flow {
        admission,
        request,
        labels: RequestLabels {
            operation: request.operation.to_lowercase(),
            resource,
            subresource: request.sub_resource.clone(),
        },
        metrics: Vec::new(),
    };
    let mut response = match resource {
        MetricResource::Namespace => flow.namespace(cluster, ctx).await,
        MetricResource::Pod => flow.pod(cluster).await,
        MetricResource::Controller => flow.controller(cluster).await,
    };
    response.uid.clone_from(&request.uid);
    Outcome {
        response,
        metrics: flow.metrics,
    }
}

/// The state of one decision: what to record and what the request says.
struct Flow<'a> {
    admission: &'a Admission,
    request: &'a AdmissionRequest,
    labels: RequestLabels,
    metrics: Vec<MetricEvent>,
}

/// Why the object of a pod or namespace request could not be had.
enum DecodeError {
    /// The JSON does not decode (the decoder's message).
    Syntax(String),
    /// The object is absent or the request's kind is not the expected one.
    WrongKind,
}

/// Which object of the request to decode.
#[derive(Clone, Copy)]
enum Which {
    New,
    Old,
}

impl Flow<'_> {
    fn record_error(&mut self, fatal: bool) {
        self.metrics.push(MetricEvent::Error {
            fatal,
            request: self.labels.clone(),
        });
    }

    fn record_exemption(&mut self) {
        self.metrics.push(MetricEvent::Exemption {
            request: self.labels.clone(),
        });
    }

    fn record_evaluation(&mut self, decision: MetricDecision, mode: Mode, policy: LevelVersion) {
        self.metrics.push(MetricEvent::Evaluation {
            decision,
            mode,
            level: policy.level,
            version: version_label(policy, self.admission.binary_minor),
            request: self.labels.clone(),
        });
    }

    /// The request's exemption by namespace or user, recorded, if any (§5.2 steps 2–3).
    fn request_exemption(&mut self) -> Option<AdmissionResponse> {
        let exemptions = &self.admission.exemptions;
        let reason = if exemptions.namespace(&self.request.namespace) {
            "namespace"
        } else if exemptions.username(&self.request.user_info.username) {
            "user"
        } else {
            return None;
        };
        self.record_exemption();
        Some(annotated_allowed(ANNOTATION_EXEMPT, reason))
    }

    fn resolve(&self, labels: &BTreeMap<String, String>) -> (Policy, Option<Aggregate>) {
        let (policy, errors) = Policy::from_labels(labels, self.admission.defaults);
        (policy, Aggregate::from_field_errors(&errors))
    }

    async fn pod<C: Cluster + Sync>(&mut self, cluster: &C) -> AdmissionResponse {
        let request = self.request;
        if IGNORED_POD_SUBRESOURCES.contains(&request.sub_resource.as_str())
            || !is_create_or_update(request)
        {
            return AdmissionResponse::allowed();
        }
        if let Some(response) = self.request_exemption() {
            return response;
        }
        let labels = match cluster.namespace_labels(&request.namespace).await {
            Ok(labels) => labels,
            Err(error) => {
                self.record_error(true);
                let cause = format!(
                    "failed to lookup namespace {}",
                    go_quote(&request.namespace)
                );
                let mut status = Status::failure(
                    "InternalError",
                    500,
                    format!("Internal error occurred: {cause}"),
                );
                status.details = Some(StatusDetails {
                    causes: vec![StatusCause {
                        message: cause.clone(),
                        ..Default::default()
                    }],
                    ..Default::default()
                });
                let mut response = AdmissionResponse::denied(status);
                response.audit_annotations.insert(
                    ANNOTATION_ERROR.to_owned(),
                    format!("Internal error occurred: {cause}: {error}"),
                );
                return response;
            }
        };
        let (policy, label_errors) = self.resolve(&labels);
        if label_errors.is_none() && policy.fully_privileged() {
            // Nothing can be denied, audited or warned about: skip decoding entirely.
            let privileged = LevelVersion::PRIVILEGED_LATEST;
            self.record_evaluation(MetricDecision::Allow, Mode::Enforce, privileged);
            return annotated_allowed(ANNOTATION_ENFORCE_POLICY, &privileged.to_string());
        }
        let pod = match decode_pod(request, Which::New) {
            Ok(pod) => pod,
            Err(error) => {
                self.record_error(true);
                return decode_failure(error, "failed to decode object", "failed to decode pod");
            }
        };
        if request.operation == "UPDATE" {
            let old = match decode_pod(request, Which::Old) {
                Ok(old) => old,
                Err(error) => {
                    self.record_error(true);
                    let (object, pod) = ("failed to decode old object", "failed to decode old pod");
                    return decode_failure(error, object, pod);
                }
            };
            if !significant_update(&pod.spec, &old.spec) {
                return AdmissionResponse::allowed();
            }
        }
        self.evaluate(&policy, label_errors, &pod.metadata, &pod.spec, true)
    }

    async fn controller<C: Cluster + Sync>(&mut self, cluster: &C) -> AdmissionResponse {
        let request = self.request;
        if !request.sub_resource.is_empty() || !is_create_or_update(request) {
            return AdmissionResponse::allowed();
        }
        if let Some(response) = self.request_exemption() {
            return response;
        }
        // Controllers are never denied: problems become audit annotations and metrics.
        let labels = match cluster.namespace_labels(&request.namespace).await {
            Ok(labels) => labels,
            Err(error) => {
                self.record_error(true);
                let text = format!(
                    "failed to lookup namespace {}: {error}",
                    go_quote(&request.namespace)
                );
                return annotated_allowed(ANNOTATION_ERROR, &text);
            }
        };
        let (policy, label_errors) = self.resolve(&labels);
        if label_errors.is_none()
            && policy.warn.level == Level::Privileged
            && policy.audit.level == Level::Privileged
        {
            return AdmissionResponse::allowed();
        }
        let object = match request.object.as_deref() {
            Some(raw) => match Object::from_request_json(raw.get(), &request.kind) {
                Ok(object) => Some(object),
                Err(error) => {
                    self.record_error(true);
                    let text = format!("failed to decode object: {error}");
                    return annotated_allowed(ANNOTATION_ERROR, &text);
                }
            },
            None => None,
        };
        let extracted = match &object {
            Some(object) => extract_pod(object, &request.kind),
            None => Err(crate::object::ExtractError(request.kind.clone())),
        };
        match extracted {
            Ok(Some(pod)) => self.evaluate(&policy, label_errors, pod.metadata, pod.spec, false),
            Ok(None) => AdmissionResponse::allowed(),
            Err(error) => {
                self.record_error(true);
                let text = format!("failed to extract pod template: {error}");
                annotated_allowed(ANNOTATION_ERROR, &text)
            }
        }
    }

    /// §5.5: exemption by runtime class, label errors, then enforce, audit and warn.
    fn evaluate(
        &mut self,
        policy: &Policy,
        label_errors: Option<Aggregate>,
        metadata: &PodMetadata,
        spec: &PodSpec,
        enforce: bool,
    ) -> AdmissionResponse {
        let runtime_class = spec.runtime_class_name.as_deref().unwrap_or_default();
        if self.admission.exemptions.runtime_class(runtime_class) {
            self.record_exemption();
            return annotated_allowed(ANNOTATION_EXEMPT, "runtimeClass");
        }
        let mut response = AdmissionResponse::allowed();
        if let Some(errors) = label_errors {
            self.record_error(false);
            response.audit_annotations.insert(
                ANNOTATION_ERROR.to_owned(),
                format!("Failed to parse policy: {errors}"),
            );
        }
        if enforce {
            response.audit_annotations.insert(
                ANNOTATION_ENFORCE_POLICY.to_owned(),
                policy.enforce.to_string(),
            );
        }
        for result in evaluate_pod(&self.admission.evaluator, policy, metadata, spec, enforce) {
            let allowed = result.evaluation.allowed();
            match result.mode {
                Mode::Enforce => {
                    if allowed {
                        self.record_evaluation(MetricDecision::Allow, Mode::Enforce, result.policy);
                    } else {
                        self.record_evaluation(MetricDecision::Deny, Mode::Enforce, result.policy);
                        response.allowed = false;
                        response.status = Some(self.forbidden(&result.message()));
                    }
                }
                Mode::Audit if !allowed => {
                    self.record_evaluation(MetricDecision::Deny, Mode::Audit, result.policy);
                    response
                        .audit_annotations
                        .insert(ANNOTATION_AUDIT_VIOLATIONS.to_owned(), result.message());
                }
                Mode::Warn if !allowed => {
                    self.record_evaluation(MetricDecision::Deny, Mode::Warn, result.policy);
                    response.warnings.push(result.message());
                }
                Mode::Audit | Mode::Warn => {}
            }
        }
        response
    }

    /// The Forbidden status of §4.2 for the request's resource and name.
    fn forbidden(&self, text: &str) -> Status {
        let resource = &self.request.resource;
        let name = &self.request.name;
        let message = if name.is_empty() {
            format!("{} is forbidden: {text}", resource.group_resource())
        } else {
            format!(
                "{} {} is forbidden: {text}",
                resource.group_resource(),
                go_quote(name)
            )
        };
        let mut status = Status::failure("Forbidden", 403, message);
        status.details = Some(StatusDetails {
            name: name.clone(),
            group: resource.group.clone(),
            kind: resource.resource.clone(),
            causes: Vec::new(),
        });
        status
    }

    async fn namespace<C: Cluster + Sync>(
        &mut self,
        cluster: &C,
        ctx: RequestContext<'_>,
    ) -> AdmissionResponse {
        let request = self.request;
        if !request.sub_resource.is_empty() {
            return AdmissionResponse::allowed();
        }
        let create = match request.operation.as_str() {
            "CREATE" => true,
            "UPDATE" => false,
            _ => return AdmissionResponse::allowed(),
        };
        let labels = match decode_namespace_labels(request, Which::New) {
            Ok(labels) => labels,
            Err(error) => {
                let (object, namespace) = ("failed to decode object", "failed to decode namespace");
                return decode_failure(error, object, namespace);
            }
        };
        let (policy, errors) = Policy::from_labels(&labels, self.admission.defaults);
        if create {
            if !errors.is_empty() {
                return self.invalid(&errors);
            }
            let mut response = AdmissionResponse::allowed();
            if self.admission.exemptions.namespace(&request.namespace) {
                response
                    .warnings
                    .extend(self.exempt_namespace_warning(&policy, &labels));
            }
            return response;
        }

        // The typo of upstream's messages (two spaces) is part of the interface.
        let old_labels = match decode_namespace_labels(request, Which::Old) {
            Ok(labels) => labels,
            Err(error) => {
                let object = "failed to decode  old object";
                return decode_failure(error, object, "failed to decode  old namespace");
            }
        };
        let (old_policy, old_errors) = Policy::from_labels(&old_labels, self.admission.defaults);
        // Invalid labels that were already there must not block unrelated updates.
        if !errors.is_empty() && (old_errors.is_empty() || errors != old_errors) {
            return self.invalid(&errors);
        }
        let (new, old) = (policy.enforce, old_policy.enforce);
        if new == old
            || new.level == Level::Privileged
            || (new.version == old.version && new.level <= old.level)
        {
            return AdmissionResponse::allowed();
        }
        let mut response = AdmissionResponse::allowed();
        if self.admission.exemptions.namespace(&request.namespace) {
            response
                .warnings
                .extend(self.exempt_namespace_warning(&policy, &labels));
            return response;
        }
        response.warnings = self
            .existing_pod_warnings(cluster, &request.namespace, new, ctx)
            .await;
        response
    }

    /// The 422 Invalid status of §4.6 for the request's kind and name.
    fn invalid(&self, errors: &FieldErrorList) -> AdmissionResponse {
        let kind = &self.request.kind;
        let name = &self.request.name;
        let mut message = format!("{} {} is invalid", kind.group_kind(), go_quote(name));
        if let Some(aggregate) = Aggregate::from_field_errors(errors) {
            message.push_str(": ");
            message.push_str(&aggregate.to_string());
        }
        let mut status = Status::failure("Invalid", 422, message);
        status.details = Some(StatusDetails {
            name: name.clone(),
            group: kind.group.clone(),
            kind: kind.kind.clone(),
            causes: errors
                .iter()
                .map(|e| StatusCause {
                    reason: e.error_type.cause_type().to_owned(),
                    message: e.body(),
                    field: e.field.to_string(),
                })
                .collect(),
        });
        AdmissionResponse::denied(status)
    }

    /// §5.7: the policy an exempt namespace asks for and will not get.
    fn exempt_namespace_warning(
        &self,
        policy: &Policy,
        labels: &BTreeMap<String, String>,
    ) -> Option<String> {
        if policy.fully_privileged() || policy.equivalent(&self.admission.defaults) {
            return None;
        }
        let listed: Vec<String> = [Mode::Enforce, Mode::Audit, Mode::Warn]
            .into_iter()
            .filter(|mode| {
                let (level_label, version_label) = mode.labels();
                policy.get(*mode).level != Level::Privileged
                    && (labels.contains_key(level_label) || labels.contains_key(version_label))
            })
            .map(|mode| format!("{mode}={}", policy.get(mode)))
            .collect();
        Some(format!(
            "namespace {} is exempt from Pod Security, and the policy ({}) will be ignored",
            go_quote(&self.request.namespace),
            listed.join(", ")
        ))
    }

    /// §5.8: warnings about the existing pods a tightened enforce level would reject.
    async fn existing_pod_warnings<C: Cluster + Sync>(
        &self,
        cluster: &C,
        namespace: &str,
        enforce: LevelVersion,
        ctx: RequestContext<'_>,
    ) -> Vec<String> {
        let start = ctx.clock.now();
        let mut budget = NAMESPACE_POD_CHECK_TIMEOUT;
        if let Some(request_deadline) = ctx.deadline {
            budget = budget.min(request_deadline.saturating_duration_since(start) / 2);
        }
        let deadline = start + budget;
        let Ok(pods) = cluster.list_pods(namespace, deadline).await else {
            return vec![
                "failed to list pods while checking new PodSecurity enforce level".to_owned(),
            ];
        };
        let pods = self.prioritise(&pods);
        let total = pods.len();

        struct Group<'p> {
            count: usize,
            first_name: &'p str,
        }
        let mut order: Vec<String> = Vec::new();
        let mut groups: HashMap<String, Group<'_>> = HashMap::new();
        let mut checked = 0;
        for pod in pods.iter().take(NAMESPACE_MAX_PODS_TO_CHECK) {
            checked += 1;
            let evaluation = self
                .admission
                .evaluator
                .evaluate(enforce, &pod.metadata, &pod.spec);
            if !evaluation.allowed() {
                let name = pod.metadata.name.as_deref().unwrap_or_default();
                let key = evaluation.forbidden_reason();
                match groups.get_mut(&key) {
                    Some(group) => {
                        group.count += 1;
                        if name < group.first_name {
                            group.first_name = name;
                        }
                    }
                    None => {
                        order.push(key.clone());
                        groups.insert(
                            key,
                            Group {
                                count: 1,
                                first_name: name,
                            },
                        );
                    }
                }
            }
            if ctx.clock.now() >= deadline {
                break;
            }
        }

        let mut warnings = Vec::new();
        if checked < total {
            warnings.push(format!(
                "new PodSecurity enforce level only checked against the first {checked} of {total} existing pods"
            ));
        }
        if !order.is_empty() {
            warnings.push(format!(
                "existing pods in namespace {} violate the new PodSecurity enforce level {}",
                go_quote(namespace),
                go_quote(&enforce.to_string())
            ));
        }
        let mut decorated: Vec<String> = order
            .iter()
            .filter_map(|key| groups.get(key).map(|group| (key, group)))
            .map(|(key, group)| match group.count {
                1 => format!("{}: {key}", group.first_name),
                2 => format!("{} (and 1 other pod): {key}", group.first_name),
                n => format!("{} (and {} other pods): {key}", group.first_name, n - 1),
            })
            .collect();
        decorated.sort_unstable();
        warnings.extend(decorated);
        warnings
    }

    /// Pods of exempt runtime classes left out; then one pod per controller first, so that a
    /// large ReplicaSet cannot use up the budget before other workloads are seen.
    fn prioritise<'p>(&self, pods: &'p [Pod]) -> Vec<&'p Pod> {
        let mut first = Vec::with_capacity(pods.len());
        let mut later = Vec::new();
        let mut seen_controllers = HashSet::new();
        for pod in pods {
            let runtime_class = pod.spec.runtime_class_name.as_deref().unwrap_or_default();
            if self.admission.exemptions.runtime_class(runtime_class) {
                continue;
            }
            let controller = pod
                .metadata
                .owner_references
                .iter()
                .find(|owner| owner.controller == Some(true));
            match controller {
                Some(owner) if !seen_controllers.insert(owner.uid.as_str()) => later.push(pod),
                _ => first.push(pod),
            }
        }
        first.extend(later);
        first
    }
}

fn is_create_or_update(request: &AdmissionRequest) -> bool {
    matches!(request.operation.as_str(), "CREATE" | "UPDATE")
}

fn annotated_allowed(key: &str, value: &str) -> AdmissionResponse {
    let mut response = AdmissionResponse::allowed();
    response
        .audit_annotations
        .insert(key.to_owned(), value.to_owned());
    response
}

fn bad_request(message: String, annotation: String) -> AdmissionResponse {
    let mut response = AdmissionResponse::denied(Status::failure("BadRequest", 400, message));
    response
        .audit_annotations
        .insert(ANNOTATION_ERROR.to_owned(), annotation);
    response
}

fn raw_object(request: &AdmissionRequest, which: Which) -> Option<&str> {
    match which {
        Which::New => request.object.as_deref(),
        Which::Old => request.old_object.as_deref(),
    }
    .map(|raw| raw.get())
}

/// The pod of a pod request: it must be a `v1` Pod.
fn decode_pod(request: &AdmissionRequest, which: Which) -> Result<Pod, DecodeError> {
    let raw = raw_object(request, which).ok_or(DecodeError::WrongKind)?;
    let kind = &request.kind;
    if !(kind.group.is_empty() && kind.version == "v1" && kind.kind == "Pod") {
        return Err(DecodeError::WrongKind);
    }
    serde_json::from_str(raw).map_err(|e| DecodeError::Syntax(e.to_string()))
}

/// The labels of a namespace request's object: it must be a `v1` Namespace.
fn decode_namespace_labels(
    request: &AdmissionRequest,
    which: Which,
) -> Result<BTreeMap<String, String>, DecodeError> {
    let raw = raw_object(request, which).ok_or(DecodeError::WrongKind)?;
    let kind = &request.kind;
    if !(kind.group.is_empty() && kind.version == "v1" && kind.kind == "Namespace") {
        return Err(DecodeError::WrongKind);
    }
    let object =
        Object::from_request_json(raw, kind).map_err(|e| DecodeError::Syntax(e.to_string()))?;
    Ok(object.metadata.labels)
}

/// The 400 answer to an object that does not decode (`object_message: <decoder error>` in the
/// annotation) or is of the wrong kind (`kind_message`).
fn decode_failure(
    error: DecodeError,
    object_message: &str,
    kind_message: &str,
) -> AdmissionResponse {
    match error {
        DecodeError::Syntax(detail) => bad_request(
            object_message.to_owned(),
            format!("{object_message}: {detail}"),
        ),
        DecodeError::WrongKind => bad_request(kind_message.to_owned(), kind_message.to_owned()),
    }
}

/// §5.4: only changes that can bring in new code (images, containers, new ephemeral
/// containers) are worth re-evaluating; nearly everything else in a pod spec is immutable.
fn significant_update(new: &PodSpec, old: &PodSpec) -> bool {
    if new.containers.len() != old.containers.len()
        || new.init_containers.len() != old.init_containers.len()
    {
        return true;
    }
    let image_changed = |a: &[podsec_pss::pod::Container], b: &[podsec_pss::pod::Container]| {
        a.iter().zip(b).any(|(x, y)| x.image != y.image)
    };
    if image_changed(&new.containers, &old.containers)
        || image_changed(&new.init_containers, &old.init_containers)
    {
        return true;
    }
    new.ephemeral_containers.iter().any(|container| {
        old.ephemeral_containers
            .iter()
            .find(|old| old.name == container.name)
            .is_none_or(|old| old.image != container.image)
    })
}
