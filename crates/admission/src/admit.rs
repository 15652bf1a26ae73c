//! The admission decision (spec §5.1–§5.8): one AdmissionRequest in, one AdmissionResponse and
//! the metric events it caused out.
//!
//! The flow does no I/O of its own. What it needs from the cluster (a namespace's policy, the
//! pods of a namespace) comes through [`Cluster`], which the webhook implements over its caches
//! and the API; time comes through [`Clock`], so that the time budget of the existing-pod check
//! is testable. [`admit`] is an `async fn` because the webhook's lookups are, but it needs no
//! runtime: it only awaits what the `Cluster` returns.
//!
//! [`evaluate_pod`] is the evaluation step alone (§5.5 without exemptions and recording), for
//! the CLI, which reports the per-mode results itself.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::time::{Duration, Instant};

use podsec_pss::format::go_quote;
use podsec_pss::pod::{PodMetadata, PodSpec};
use podsec_pss::{Evaluation, Evaluator, Level, LevelVersion, MAX_KNOWN_MINOR, Version};

use crate::config::{ConfigError, Exemptions, PodSecurityConfiguration};
use crate::field_error::{Aggregate, FieldErrorList};
use crate::object::{Object, ObjectMeta, Pod, extract_pod};
use crate::policy::{Mode, NamespacePolicy, Policy};
use crate::review::{
    AdmissionRequest, AdmissionResponse, GroupVersionKind, KindOf, RawJson, Status, StatusCause,
    StatusDetails,
};

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
/// Existing pods evaluated between two returns to the executor (a few hundred microseconds of
/// work): the webhook runs all reviews of a connection on one task, which must not stall the
/// others for the whole evaluation.
const PODS_PER_YIELD: usize = 32;

/// What the decision needs to know about the cluster. The webhook implements it over its
/// namespace cache (falling back to a live GET) and a live pod list.
pub trait Cluster {
    /// Shown to users after `failed to lookup namespace "<ns>": ` (e.g.
    /// `namespaces "x" not found`), so it should read like the API's errors.
    type Error: std::fmt::Display;

    /// The policy of namespace `name`: [`NamespacePolicy::resolve`] of its labels on top of
    /// `defaults`. Resolution depends on nothing else, so an implementation that caches
    /// namespaces can keep the result beside their labels instead of resolving per request.
    fn namespace_policy(
        &self,
        name: &str,
        defaults: Policy,
    ) -> impl Future<Output = Result<NamespacePolicy, Self::Error>> + Send;

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
    let Evaluated {
        modes,
        mut evaluations,
    } = evaluate_modes(evaluator, policy, metadata, spec, enforce);
    modes
        .iter()
        .enumerate()
        .map(|(at, &(mode, policy, index))| {
            // The last mode with a result takes it; earlier ones get a copy.
            let shared_later = modes[at + 1..].iter().any(|&(_, _, later)| later == index);
            let evaluation = if shared_later {
                evaluations[index].clone()
            } else {
                std::mem::take(&mut evaluations[index])
            };
            ModeEvaluation {
                mode,
                policy,
                evaluation,
            }
        })
        .collect()
}

/// The evaluations of [`evaluate_pod`], each distinct level and version evaluated once.
struct Evaluated {
    /// The modes in [`evaluate_pod`]'s order: mode, level and version, and the index of the
    /// mode's result in `evaluations`.
    modes: Vec<(Mode, LevelVersion, usize)>,
    evaluations: Vec<Evaluation>,
}

fn evaluate_modes(
    evaluator: &Evaluator,
    policy: &Policy,
    metadata: &PodMetadata,
    spec: &PodSpec,
    enforce: bool,
) -> Evaluated {
    let mut evaluated = Evaluated {
        modes: Vec::with_capacity(3),
        evaluations: Vec::with_capacity(3),
    };
    let run = |mode: Mode, evaluated: &mut Evaluated| {
        let lv = policy.get(mode);
        let earlier = evaluated
            .modes
            .iter()
            .find(|&&(_, earlier, _)| earlier == lv);
        let index = match earlier {
            Some(&(_, _, index)) => index,
            None => {
                evaluated
                    .evaluations
                    .push(evaluator.evaluate(lv, metadata, spec));
                evaluated.evaluations.len() - 1
            }
        };
        evaluated.modes.push((mode, lv, index));
    };
    if enforce {
        run(Mode::Enforce, &mut evaluated);
    }
    run(Mode::Audit, &mut evaluated);
    let allowed = evaluated.modes.first().is_none_or(|&(mode, _, index)| {
        mode != Mode::Enforce || evaluated.evaluations[index].allowed()
    });
    if allowed {
        run(Mode::Warn, &mut evaluated);
    }
    evaluated
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

    async fn pod<C: Cluster + Sync>(&mut self, cluster: &C) -> AdmissionResponse {
        let request = self.request;
        // Upstream is only ever sent CREATE and UPDATE; a webhook misconfigured to also send
        // DELETE or CONNECT must not start failing those for want of an object.
        if IGNORED_POD_SUBRESOURCES.contains(&request.sub_resource.as_str())
            || !is_create_or_update(request)
        {
            return AdmissionResponse::allowed();
        }
        if let Some(response) = self.request_exemption() {
            return response;
        }
        let namespace = cluster.namespace_policy(&request.namespace, self.admission.defaults);
        let NamespacePolicy {
            policy,
            errors: label_errors,
        } = match namespace.await {
            Ok(resolved) => resolved,
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
        let namespace = cluster.namespace_policy(&request.namespace, self.admission.defaults);
        let NamespacePolicy {
            policy,
            errors: label_errors,
        } = match namespace.await {
            Ok(resolved) => resolved,
            Err(error) => {
                self.record_error(true);
                let text = format!(
                    "failed to lookup namespace {}: {error}",
                    go_quote(&request.namespace)
                );
                return annotated_allowed(ANNOTATION_ERROR, &text);
            }
        };
        if label_errors.is_none()
            && policy.warn.level == Level::Privileged
            && policy.audit.level == Level::Privileged
        {
            return AdmissionResponse::allowed();
        }
        // Decoded as the request's kind says, then again as the object's own type fields say
        // if they name something else (rare: the API server sends objects of the request's
        // kind).
        let decoded = request.object.as_ref().map(|raw| {
            let object = Object::from_request_json(raw.get(), &request.kind)?;
            let kind = object_kind(&request.kind, &object);
            if kind.is(&request.kind) {
                Ok((object, Cow::Borrowed(&request.kind)))
            } else {
                let kind = GroupVersionKind::from(kind);
                Object::from_request_json(raw.get(), &kind).map(|object| (object, Cow::Owned(kind)))
            }
        });
        let object = match decoded.transpose() {
            Ok(object) => object,
            Err(error) => {
                self.record_error(true);
                let text = format!("failed to decode object: {error}");
                return annotated_allowed(ANNOTATION_ERROR, &text);
            }
        };
        let extracted = match &object {
            Some((object, kind)) => extract_pod(object, kind),
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
        let Evaluated { modes, evaluations } =
            evaluate_modes(&self.admission.evaluator, policy, metadata, spec, enforce);
        // Audit and warn at one level and version (the usual configuration) share a result,
        // and so their text: the warning is then a copy of the annotation.
        let mut audited = None;
        for (mode, lv, index) in modes {
            let evaluation = &evaluations[index];
            let allowed = evaluation.allowed();
            match mode {
                Mode::Enforce => {
                    if allowed {
                        self.record_evaluation(MetricDecision::Allow, Mode::Enforce, lv);
                    } else {
                        self.record_evaluation(MetricDecision::Deny, Mode::Enforce, lv);
                        response.allowed = false;
                        response.status = Some(self.forbidden(&evaluation.enforce_message(lv)));
                    }
                }
                Mode::Audit if !allowed => {
                    self.record_evaluation(MetricDecision::Deny, Mode::Audit, lv);
                    response.audit_annotations.insert(
                        ANNOTATION_AUDIT_VIOLATIONS.to_owned(),
                        evaluation.advisory_message(lv),
                    );
                    audited = Some(index);
                }
                Mode::Warn if !allowed => {
                    self.record_evaluation(MetricDecision::Deny, Mode::Warn, lv);
                    let same = audited
                        .filter(|&audited| audited == index)
                        .and_then(|_| response.audit_annotations.get(ANNOTATION_AUDIT_VIOLATIONS));
                    let text = match same {
                        Some(text) => text.clone(),
                        None => evaluation.advisory_message(lv),
                    };
                    response.warnings.push(text);
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
        let namespace = match decode_namespace(request, Which::New) {
            Ok(namespace) => namespace,
            Err(error) => {
                let (object, namespace) = ("failed to decode object", "failed to decode namespace");
                return decode_failure(error, object, namespace);
            }
        };
        // Upstream names the namespace by its object in warnings and lists its pods by that
        // name, but looks up exemptions by the request's namespace.
        let name = namespace.name().unwrap_or_default();
        let labels = &namespace.labels;
        let (policy, errors) = Policy::from_labels(labels, self.admission.defaults);
        if create {
            if !errors.is_empty() {
                return self.invalid(&errors);
            }
            let mut response = AdmissionResponse::allowed();
            if self.admission.exemptions.namespace(&request.namespace) {
                response
                    .warnings
                    .extend(self.exempt_namespace_warning(name, &policy, labels));
            }
            return response;
        }

        // The typo of upstream's messages (two spaces) is part of the interface.
        let old_namespace = match decode_namespace(request, Which::Old) {
            Ok(namespace) => namespace,
            Err(error) => {
                let object = "failed to decode  old object";
                return decode_failure(error, object, "failed to decode  old namespace");
            }
        };
        let (old_policy, old_errors) =
            Policy::from_labels(&old_namespace.labels, self.admission.defaults);
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
                .extend(self.exempt_namespace_warning(name, &policy, labels));
            return response;
        }
        response.warnings = self.existing_pod_warnings(cluster, name, new, ctx).await;
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
        namespace: &str,
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
            go_quote(namespace),
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
            if checked > 0 && checked % PODS_PER_YIELD == 0 {
                yield_now().await;
            }
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

fn raw_json(request: &AdmissionRequest, which: Which) -> Option<&RawJson> {
    match which {
        Which::New => request.object.as_ref(),
        Which::Old => request.old_object.as_ref(),
    }
}

fn raw_object(request: &AdmissionRequest, which: Which) -> Option<&str> {
    raw_json(request, which).map(RawJson::get)
}

/// The pod of a pod request: it must be a `v1` Pod by its own apiVersion and kind, or by the
/// request's kind where it names none ([`GroupVersionKind::of_object`]). Borrowed when the
/// review's decoding already decoded it.
fn decode_pod(request: &AdmissionRequest, which: Which) -> Result<Cow<'_, Pod>, DecodeError> {
    let raw = raw_json(request, which).ok_or(DecodeError::WrongKind)?;
    let pod = match raw.pod() {
        Some(pod) => Cow::Borrowed(pod),
        None => Pod::from_json(raw.get())
            .map(Cow::Owned)
            .map_err(|e| DecodeError::Syntax(e.to_string()))?,
    };
    let kind = request
        .kind
        .of_object(pod.api_version.as_deref(), pod.kind.as_deref());
    if !kind.is_core_v1("Pod") {
        return Err(DecodeError::WrongKind);
    }
    Ok(pod)
}

/// The metadata of a namespace request's object: it must be a `v1` Namespace (by its own type
/// fields, or the request's kind where it names none).
fn decode_namespace(request: &AdmissionRequest, which: Which) -> Result<ObjectMeta, DecodeError> {
    let raw = raw_object(request, which).ok_or(DecodeError::WrongKind)?;
    let object = Object::from_request_json(raw, &request.kind)
        .map_err(|e| DecodeError::Syntax(e.to_string()))?;
    if !object_kind(&request.kind, &object).is_core_v1("Namespace") {
        return Err(DecodeError::WrongKind);
    }
    Ok(object.metadata)
}

/// What a request object decoded with [`Object::from_request_json`] is
/// ([`GroupVersionKind::of_object`]).
fn object_kind<'a>(request_kind: &'a GroupVersionKind, object: &'a Object) -> KindOf<'a> {
    request_kind.of_object(Some(&object.api_version), Some(&object.kind))
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

/// Returns to the executor once, after asking to be polled again: work waiting on the same
/// task or thread runs first. Not tied to a runtime, as this crate is not.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PodSecurityExemptions;
    use serde_json::{Value, json};
    use std::pin::pin;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    /// Drives a future that never waits on anything real (the fakes below answer at once).
    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
    }

    #[derive(Default)]
    struct FakeCluster {
        namespaces: BTreeMap<String, BTreeMap<String, String>>,
        pods: Option<Vec<Pod>>,
        lists: Mutex<Vec<(String, Instant)>>,
    }

    impl FakeCluster {
        fn with_namespace(name: &str, labels: &[(&str, &str)]) -> Self {
            let labels = labels
                .iter()
                .map(|(k, v)| (format!("pod-security.kubernetes.io/{k}"), (*v).to_owned()))
                .collect();
            FakeCluster {
                namespaces: BTreeMap::from([(name.to_owned(), labels)]),
                ..Default::default()
            }
        }
    }

    impl Cluster for FakeCluster {
        type Error = String;
        fn namespace_policy(
            &self,
            name: &str,
            defaults: Policy,
        ) -> impl Future<Output = Result<NamespacePolicy, String>> + Send {
            let found = self
                .namespaces
                .get(name)
                .map(|labels| NamespacePolicy::resolve(labels, defaults))
                .ok_or_else(|| format!("namespaces {} not found", go_quote(name)));
            async move { found }
        }
        fn list_pods(
            &self,
            namespace: &str,
            deadline: Instant,
        ) -> impl Future<Output = Result<Vec<Pod>, String>> + Send {
            if let Ok(mut lists) = self.lists.lock() {
                lists.push((namespace.to_owned(), deadline));
            }
            let pods = self.pods.clone().ok_or_else(|| "list failed".to_owned());
            async move { pods }
        }
    }

    /// A clock that advances `step` on every reading.
    struct StepClock {
        start: Instant,
        step: Duration,
        readings: AtomicU32,
    }

    impl StepClock {
        fn new(step: Duration) -> Self {
            StepClock {
                start: Instant::now(),
                step,
                readings: AtomicU32::new(0),
            }
        }
    }

    impl Clock for StepClock {
        fn now(&self) -> Instant {
            self.start + self.step * self.readings.fetch_add(1, Ordering::SeqCst)
        }
    }

    fn request(value: Value) -> AdmissionRequest {
        serde_json::from_str(&value.to_string()).expect("request decodes")
    }

    fn pod_json(name: &str, containers: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "test"},
            "spec": {"containers": containers}})
    }

    fn privileged_pod() -> Value {
        pod_json(
            "test-pod",
            json!([{"name": "c", "image": "i", "securityContext": {"privileged": true}}]),
        )
    }

    fn plain_pod() -> Value {
        pod_json("test-pod", json!([{"name": "c", "image": "i"}]))
    }

    fn pod_request(operation: &str, object: Value, old: Option<Value>) -> AdmissionRequest {
        request(json!({"uid": "uid-1",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "test-pod", "namespace": "test", "operation": operation,
            "userInfo": {"username": "alice"}, "object": object, "oldObject": old}))
    }

    fn run(admission: &Admission, cluster: &FakeCluster, request: &AdmissionRequest) -> Outcome {
        block_on(admit(
            admission,
            cluster,
            request,
            RequestContext::default(),
        ))
    }

    fn labels(request: &AdmissionRequest, resource: MetricResource) -> RequestLabels {
        RequestLabels {
            operation: request.operation.to_lowercase(),
            resource,
            subresource: request.sub_resource.clone(),
        }
    }

    fn annotations(outcome: &Outcome) -> Vec<(&str, &str)> {
        outcome
            .response
            .audit_annotations
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    const PRIVILEGED_DETAIL: &str =
        "privileged (container \"c\" must not set securityContext.privileged=true)";

    fn exempting() -> Admission {
        Admission::new(&PodSecurityConfiguration {
            exemptions: PodSecurityExemptions {
                usernames: vec!["admin".into()],
                namespaces: vec!["kube-system".into(), "test-exempt".into()],
                runtime_classes: vec!["gvisor".into()],
            },
            ..Default::default()
        })
        .expect("valid config")
    }

    #[test]
    fn pods_ignored_subresources_and_operations_are_allowed_silently() {
        let cluster = FakeCluster::with_namespace("test", &[("enforce", "baseline")]);
        for subresource in IGNORED_POD_SUBRESOURCES {
            let mut request = pod_request("CREATE", privileged_pod(), None);
            request.sub_resource = subresource.to_owned();
            let outcome = run(&Admission::default(), &cluster, &request);
            assert!(outcome.response.allowed, "{subresource}");
            assert_eq!(outcome.response.uid, "uid-1");
            assert!(outcome.metrics.is_empty() && outcome.response.audit_annotations.is_empty());
        }
        for subresource in ["ephemeralcontainers", "resize", "unknown"] {
            let mut request = pod_request("CREATE", privileged_pod(), None);
            request.sub_resource = subresource.to_owned();
            let outcome = run(&Admission::default(), &cluster, &request);
            assert!(!outcome.response.allowed, "{subresource} is evaluated");
            assert_eq!(
                outcome.metrics[0],
                MetricEvent::Evaluation {
                    decision: MetricDecision::Deny,
                    mode: Mode::Enforce,
                    level: Level::Baseline,
                    version: "latest".into(),
                    request: labels(&request, MetricResource::Pod),
                }
            );
        }
        let delete = pod_request("DELETE", Value::Null, Some(privileged_pod()));
        assert!(
            run(&Admission::default(), &cluster, &delete)
                .response
                .allowed
        );
    }

    #[test]
    fn pods_exempt_by_namespace_or_user() {
        let admission = exempting();
        let cluster = FakeCluster::with_namespace("test", &[("enforce", "restricted")]);
        let mut request = pod_request("CREATE", privileged_pod(), None);
        request.namespace = "kube-system".into();
        let outcome = run(&admission, &cluster, &request);
        assert!(outcome.response.allowed);
        assert_eq!(annotations(&outcome), [("exempt", "namespace")]);
        assert_eq!(
            outcome.metrics,
            [MetricEvent::Exemption {
                request: labels(&request, MetricResource::Pod)
            }]
        );
        let mut request = pod_request("CREATE", privileged_pod(), None);
        request.user_info.username = "admin".into();
        let outcome = run(&admission, &cluster, &request);
        assert_eq!(annotations(&outcome), [("exempt", "user")]);
        // Exact matches only.
        request.user_info.username = "Admin".into();
        assert!(!run(&admission, &cluster, &request).response.allowed);
    }

    #[test]
    fn pods_in_an_unknown_namespace_are_denied_with_an_internal_error() {
        let request = pod_request("CREATE", plain_pod(), None);
        let outcome = run(&Admission::default(), &FakeCluster::default(), &request);
        let response = &outcome.response;
        assert!(!response.allowed);
        let status = response.status.as_ref().expect("status");
        assert_eq!(
            (status.code, status.reason.as_str()),
            (500, "InternalError")
        );
        assert_eq!(
            status.message,
            "Internal error occurred: failed to lookup namespace \"test\""
        );
        let causes = &status.details.as_ref().expect("details").causes;
        assert_eq!(causes[0].message, "failed to lookup namespace \"test\"");
        assert_eq!(
            annotations(&outcome),
            [(
                "error",
                "Internal error occurred: failed to lookup namespace \"test\": namespaces \"test\" not found"
            )]
        );
        assert_eq!(
            outcome.metrics,
            [MetricEvent::Error {
                fatal: true,
                request: labels(&request, MetricResource::Pod)
            }]
        );
    }

    #[test]
    fn fully_privileged_namespaces_short_cut_without_decoding() {
        let cluster = FakeCluster::with_namespace(
            "test",
            &[("enforce", "privileged"), ("enforce-version", "v1.20")],
        );
        // Not even a decodable object is needed.
        let request = pod_request("CREATE", json!({"spec": "garbage"}), None);
        let outcome = run(&Admission::default(), &cluster, &request);
        assert!(outcome.response.allowed);
        assert_eq!(
            annotations(&outcome),
            [("enforce-policy", "privileged:latest")]
        );
        assert_eq!(
            outcome.metrics,
            [MetricEvent::Evaluation {
                decision: MetricDecision::Allow,
                mode: Mode::Enforce,
                level: Level::Privileged,
                version: "latest".into(),
                request: labels(&request, MetricResource::Pod),
            }]
        );
    }

    #[test]
    fn pod_decode_failures_are_bad_requests() {
        let cluster = FakeCluster::with_namespace("test", &[("enforce", "baseline")]);
        let admission = Admission::default();
        let check = |request: &AdmissionRequest, message: &str, annotation_prefix: &str| {
            let outcome = run(&admission, &cluster, request);
            let status = outcome.response.status.as_ref().expect("status");
            assert!(!outcome.response.allowed);
            assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"));
            assert_eq!(status.message, message);
            let annotation = &outcome.response.audit_annotations["error"];
            assert!(annotation.starts_with(annotation_prefix), "{annotation}");
            assert_eq!(
                outcome.metrics,
                [MetricEvent::Error {
                    fatal: true,
                    request: labels(request, MetricResource::Pod)
                }]
            );
        };
        let bad_spec = json!({"kind": "Pod", "spec": {"containers": "nope"}});
        check(
            &pod_request("CREATE", bad_spec.clone(), None),
            "failed to decode object",
            "failed to decode object: invalid type",
        );
        // The object's own apiVersion and kind decide what it is; the request's kind counts
        // only where the object names none, as upstream's decoder takes it as defaults.
        let mut service = plain_pod();
        service["kind"] = "Service".into();
        check(
            &pod_request("CREATE", service, None),
            "failed to decode pod",
            "failed to decode pod",
        );
        let mut untyped = plain_pod();
        untyped
            .as_object_mut()
            .map(|o| (o.remove("apiVersion"), o.remove("kind")));
        let mut deployment_kind = pod_request("CREATE", untyped, None);
        deployment_kind.kind = crate::review::GroupVersionKind::new("apps", "v1", "Deployment");
        check(
            &deployment_kind,
            "failed to decode pod",
            "failed to decode pod",
        );
        check(
            &pod_request("CREATE", Value::Null, None),
            "failed to decode pod",
            "failed to decode pod",
        );
        check(
            &pod_request("UPDATE", plain_pod(), Some(bad_spec)),
            "failed to decode old object",
            "failed to decode old object: invalid type",
        );
        check(
            &pod_request("UPDATE", plain_pod(), None),
            "failed to decode old pod",
            "failed to decode old pod",
        );
    }

    #[test]
    fn only_significant_pod_updates_are_evaluated() {
        let cluster = FakeCluster::with_namespace("test", &[("enforce", "baseline")]);
        let admission = Admission::default();
        let bad = json!({"name": "c", "image": "i", "securityContext": {"privileged": true}});
        let with = |containers: Value, init: Value, ephemeral: Value, annotations: Value| {
            json!({"kind": "Pod", "metadata": {"name": "test-pod", "annotations": annotations,
                "labels": {"x": "y"}},
                "spec": {"containers": containers, "initContainers": init,
                    "ephemeralContainers": ephemeral, "activeDeadlineSeconds": 5}})
        };
        let old = with(
            json!([bad]),
            json!([]),
            json!([{"name": "e", "image": "dbg"}]),
            json!({}),
        );
        let insignificant = [
            with(
                json!([bad]),
                json!([]),
                json!([{"name": "e", "image": "dbg"}]),
                json!({"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}),
            ),
            // Removing an ephemeral container is not significant.
            with(json!([bad]), json!([]), json!([]), json!({})),
            // Nor are changes to anything but images.
            with(
                json!([{"name": "renamed", "image": "i", "securityContext": {"privileged": true}}]),
                json!(null),
                json!([{"name": "e", "image": "dbg"}]),
                json!(null),
            ),
        ];
        for new in insignificant {
            let outcome = run(
                &admission,
                &cluster,
                &pod_request("UPDATE", new.clone(), Some(old.clone())),
            );
            assert!(outcome.response.allowed, "{new}");
            assert!(outcome.metrics.is_empty() && outcome.response.audit_annotations.is_empty());
        }
        let significant = [
            with(
                json!([bad, {"name": "d"}]),
                json!([]),
                json!([{"name": "e", "image": "dbg"}]),
                json!({}),
            ),
            with(
                json!([bad]),
                json!([{"name": "i"}]),
                json!([{"name": "e", "image": "dbg"}]),
                json!({}),
            ),
            with(
                json!([{"name": "c", "image": "i2", "securityContext": {"privileged": true}}]),
                json!([]),
                json!([{"name": "e", "image": "dbg"}]),
                json!({}),
            ),
            with(
                json!([bad]),
                json!([]),
                json!([{"name": "e", "image": "dbg2"}]),
                json!({}),
            ),
            with(
                json!([bad]),
                json!([]),
                json!([{"name": "e", "image": "dbg"}, {"name": "f"}]),
                json!({}),
            ),
        ];
        for new in significant {
            let outcome = run(
                &admission,
                &cluster,
                &pod_request("UPDATE", new.clone(), Some(old.clone())),
            );
            assert!(!outcome.response.allowed, "{new}");
        }
        let mut old_init = with(
            json!([bad]),
            json!([{"name": "i", "image": "a"}]),
            json!([]),
            json!({}),
        );
        let new_init = with(
            json!([bad]),
            json!([{"name": "i", "image": "b"}]),
            json!([]),
            json!({}),
        );
        let outcome = run(
            &admission,
            &cluster,
            &pod_request("UPDATE", new_init.clone(), Some(old_init.clone())),
        );
        assert!(!outcome.response.allowed, "init image changed");
        old_init = new_init.clone();
        let outcome = run(
            &admission,
            &cluster,
            &pod_request("UPDATE", new_init, Some(old_init)),
        );
        assert!(outcome.response.allowed);
    }

    #[test]
    fn enforce_denial_carries_the_forbidden_status_audit_and_no_warning() {
        let cluster = FakeCluster::with_namespace(
            "test",
            &[
                ("enforce", "baseline"),
                ("audit", "baseline"),
                ("warn", "restricted"),
            ],
        );
        let request = pod_request("CREATE", privileged_pod(), None);
        let outcome = run(&Admission::default(), &cluster, &request);
        let response = &outcome.response;
        assert!(!response.allowed);
        assert!(response.warnings.is_empty(), "a denied pod gets no warning");
        let status = response.status.as_ref().expect("status");
        assert_eq!(
            status.message,
            format!(
                "pods \"test-pod\" is forbidden: violates PodSecurity \"baseline:latest\": {PRIVILEGED_DETAIL}"
            )
        );
        assert_eq!(
            (status.code, status.reason.as_str(), status.status.as_str()),
            (403, "Forbidden", "Failure")
        );
        let details = status.details.as_ref().expect("details");
        assert_eq!(
            (
                details.name.as_str(),
                details.group.as_str(),
                details.kind.as_str()
            ),
            ("test-pod", "", "pods")
        );
        assert_eq!(
            annotations(&outcome),
            [
                (
                    "audit-violations",
                    format!("would violate PodSecurity \"baseline:latest\": {PRIVILEGED_DETAIL}")
                        .as_str()
                ),
                ("enforce-policy", "baseline:latest"),
            ]
        );
        let pod = labels(&request, MetricResource::Pod);
        let evaluation = |decision, mode| MetricEvent::Evaluation {
            decision,
            mode,
            level: Level::Baseline,
            version: "latest".into(),
            request: pod.clone(),
        };
        assert_eq!(
            outcome.metrics,
            [
                evaluation(MetricDecision::Deny, Mode::Enforce),
                evaluation(MetricDecision::Deny, Mode::Audit)
            ]
        );

        // Without a name (generateName) the message names no object.
        let mut unnamed = pod_request("CREATE", privileged_pod(), None);
        unnamed.name.clear();
        let status = run(&Admission::default(), &cluster, &unnamed)
            .response
            .status
            .expect("status");
        assert!(
            status
                .message
                .starts_with("pods is forbidden: violates PodSecurity"),
            "{}",
            status.message
        );
    }

    #[test]
    fn allowed_pods_get_one_warning_and_audit() {
        let cluster = FakeCluster::with_namespace(
            "test",
            &[
                ("enforce", "baseline"),
                ("enforce-version", "v1.29"),
                ("audit", "restricted"),
                ("audit-version", "v1.99"),
                ("warn", "restricted"),
                ("warn-version", "v1.99"),
            ],
        );
        let request = pod_request("CREATE", plain_pod(), None);
        let outcome = run(&Admission::default(), &cluster, &request);
        assert!(outcome.response.allowed && outcome.response.status.is_none());
        assert_eq!(outcome.response.warnings.len(), 1);
        assert!(outcome.response.warnings[0].starts_with(
            "would violate PodSecurity \"restricted:v1.99\": allowPrivilegeEscalation != false"
        ));
        assert_eq!(
            outcome.response.audit_annotations["audit-violations"],
            outcome.response.warnings[0]
        );
        assert_eq!(
            outcome.response.audit_annotations["enforce-policy"],
            "baseline:v1.29"
        );
        let versions: Vec<(Mode, &str)> = outcome
            .metrics
            .iter()
            .filter_map(|m| match m {
                MetricEvent::Evaluation { mode, version, .. } => Some((*mode, version.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            versions,
            [
                (Mode::Enforce, "v1.29"),
                (Mode::Audit, "future"),
                (Mode::Warn, "future")
            ]
        );
    }

    #[test]
    fn label_errors_are_reported_and_evaluation_falls_back() {
        let cluster = FakeCluster::with_namespace("test", &[("enforce", "not-a-valid-level")]);
        let request = pod_request("CREATE", plain_pod(), None);
        let outcome = run(&Admission::default(), &cluster, &request);
        assert!(
            !outcome.response.allowed,
            "enforce fails closed to restricted"
        );
        assert_eq!(
            outcome.response.audit_annotations["error"],
            "Failed to parse policy: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"not-a-valid-level\": must be one of privileged, baseline, restricted"
        );
        assert_eq!(
            outcome.response.audit_annotations["enforce-policy"],
            "restricted:latest"
        );
        assert_eq!(
            outcome.metrics[0],
            MetricEvent::Error {
                fatal: false,
                request: labels(&request, MetricResource::Pod)
            }
        );
        // Invalid audit/warn labels fail open: nothing but the error.
        let cluster = FakeCluster::with_namespace("test", &[("audit", "x"), ("warn", "y")]);
        let outcome = run(&Admission::default(), &cluster, &request);
        assert!(outcome.response.allowed && outcome.response.warnings.is_empty());
        assert!(outcome.response.audit_annotations["error"].starts_with(
            "Failed to parse policy: [metadata.labels[pod-security.kubernetes.io/audit]"
        ));
    }

    #[test]
    fn runtime_class_exemption_suppresses_everything_else() {
        let cluster =
            FakeCluster::with_namespace("test", &[("enforce", "restricted"), ("audit", "bogus")]);
        let mut pod = privileged_pod();
        pod["spec"]["runtimeClassName"] = json!("gvisor");
        let request = pod_request("CREATE", pod, None);
        let outcome = run(&exempting(), &cluster, &request);
        assert!(outcome.response.allowed);
        assert_eq!(annotations(&outcome), [("exempt", "runtimeClass")]);
        assert_eq!(
            outcome.metrics,
            [MetricEvent::Exemption {
                request: labels(&request, MetricResource::Pod)
            }]
        );
    }

    fn controller_request(
        kind: (&str, &str, &str),
        resource: &str,
        object: Value,
    ) -> AdmissionRequest {
        request(
            json!({"uid": "c1", "kind": {"group": kind.0, "version": kind.1, "kind": kind.2},
            "resource": {"group": kind.0, "version": kind.1, "resource": resource},
            "name": "web", "namespace": "test", "operation": "CREATE", "object": object}),
        )
    }

    fn deployment(containers: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}}}})
    }

    #[test]
    fn controllers_warn_and_audit_but_are_never_denied() {
        let cluster = FakeCluster::with_namespace(
            "test",
            &[
                ("enforce", "baseline"),
                ("audit", "baseline"),
                ("warn", "baseline"),
            ],
        );
        let apps = ("apps", "v1", "Deployment");
        let bad = json!([{"name": "c", "image": "i", "securityContext": {"privileged": true}}]);
        let request = controller_request(apps, "deployments", deployment(bad.clone()));
        let outcome = run(&Admission::default(), &cluster, &request);
        assert!(outcome.response.allowed);
        let advisory =
            format!("would violate PodSecurity \"baseline:latest\": {PRIVILEGED_DETAIL}");
        assert_eq!(outcome.response.warnings, std::slice::from_ref(&advisory));
        assert_eq!(
            annotations(&outcome),
            [("audit-violations", advisory.as_str())]
        );
        assert_eq!(outcome.metrics.len(), 2);
        assert!(outcome.metrics.iter().all(|m| matches!(m, MetricEvent::Evaluation { request, .. } if request.resource == MetricResource::Controller)));

        // Subresources are ignored.
        let mut scale = controller_request(apps, "deployments", deployment(bad.clone()));
        scale.sub_resource = "scale".into();
        let outcome = run(&Admission::default(), &cluster, &scale);
        assert!(
            outcome.response.allowed
                && outcome.metrics.is_empty()
                && outcome.response.warnings.is_empty()
        );

        // Only enforce set, warn explicitly privileged, audit privileged: nothing to do.
        let quiet = FakeCluster::with_namespace(
            "test",
            &[("enforce", "restricted"), ("warn", "privileged")],
        );
        let outcome = run(&Admission::default(), &quiet, &request);
        assert!(
            outcome.response.allowed
                && outcome.metrics.is_empty()
                && outcome.response.audit_annotations.is_empty()
        );

        // A ReplicationController without a template: nothing to evaluate.
        let rc = controller_request(
            ("", "v1", "ReplicationController"),
            "replicationcontrollers",
            json!({"spec": {}}),
        );
        let outcome = run(&Admission::default(), &cluster, &rc);
        assert!(outcome.response.allowed && outcome.metrics.is_empty());

        // Every template kind is found.
        for (kind, resource, object) in [
            (
                ("batch", "v1", "CronJob"),
                "cronjobs",
                json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": bad}}}}}}),
            ),
            (
                ("", "v1", "PodTemplate"),
                "podtemplates",
                json!({"template": {"spec": {"containers": bad}}}),
            ),
            (
                ("batch", "v1", "Job"),
                "jobs",
                json!({"spec": {"template": {"spec": {"containers": bad}}}}),
            ),
        ] {
            let outcome = run(
                &Admission::default(),
                &cluster,
                &controller_request(kind, resource, object),
            );
            assert_eq!(
                outcome.response.warnings,
                std::slice::from_ref(&advisory),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn objects_are_what_they_say_they_are_and_the_request_kind_fills_in() {
        let cluster = FakeCluster::with_namespace("test", &[("enforce", "baseline")]);
        // Reviews written by hand often leave out the request's kind; the pod names itself.
        let mut no_request_kind = pod_request("CREATE", privileged_pod(), None);
        no_request_kind.kind = crate::review::GroupVersionKind::default();
        let outcome = run(&Admission::default(), &cluster, &no_request_kind);
        let status = outcome.response.status.as_ref().expect("denied");
        assert!(status.message.contains("privileged"), "{}", status.message);
        // A Deployment sent as `apps/v1beta1` is the `apps/v1` Deployment its object says.
        let warned = FakeCluster::with_namespace("test", &[("warn", "baseline")]);
        let privileged =
            json!([{"name": "c", "image": "i", "securityContext": {"privileged": true}}]);
        let request = controller_request(
            ("apps", "v1beta1", "Deployment"),
            "deployments",
            deployment(privileged),
        );
        let outcome = run(&Admission::default(), &warned, &request);
        assert_eq!(outcome.response.warnings.len(), 1, "{:?}", outcome.response);
        // A namespace update whose old object is a Pod is not a namespace.
        let mut pod_as_old = namespace_request(
            "UPDATE",
            Some(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test"}})),
            Some(plain_pod()),
        );
        pod_as_old.name = "test".into();
        let outcome = run(&Admission::default(), &cluster, &pod_as_old);
        let status = outcome.response.status.as_ref().expect("bad request");
        assert_eq!(status.message, "failed to decode  old namespace");
    }

    #[test]
    fn controller_failures_are_recorded_but_allowed() {
        let cluster = FakeCluster::with_namespace("test", &[("warn", "baseline")]);
        let check = |request: &AdmissionRequest, cluster: &FakeCluster, annotation: &str| {
            let outcome = run(&Admission::default(), cluster, request);
            assert!(outcome.response.allowed && outcome.response.status.is_none());
            let got = &outcome.response.audit_annotations["error"];
            assert!(got.starts_with(annotation), "{got}");
            assert_eq!(
                outcome.metrics,
                [MetricEvent::Error {
                    fatal: true,
                    request: labels(request, MetricResource::Controller)
                }]
            );
        };
        let apps = ("apps", "v1", "Deployment");
        let request = controller_request(apps, "deployments", deployment(json!([])));
        check(
            &request,
            &FakeCluster::default(),
            "failed to lookup namespace \"test\": namespaces \"test\" not found",
        );
        let broken = controller_request(
            apps,
            "deployments",
            json!({"spec": {"template": {"spec": {"containers": 5}}}}),
        );
        check(&broken, &cluster, "failed to decode object: invalid type");
        let service = controller_request(("", "v1", "Service"), "services", json!({"spec": {}}));
        check(
            &service,
            &cluster,
            "failed to extract pod template: unexpected object type: /v1, Kind=Service",
        );
        let mut untyped = deployment(json!([]));
        untyped
            .as_object_mut()
            .map(|o| (o.remove("apiVersion"), o.remove("kind")));
        let old = controller_request(
            ("extensions", "v1beta1", "Deployment"),
            "deployments",
            untyped,
        );
        check(
            &old,
            &cluster,
            "failed to extract pod template: unexpected object type: extensions/v1beta1, Kind=Deployment",
        );
    }

    fn namespace_request(
        operation: &str,
        new: Option<Value>,
        old: Option<Value>,
    ) -> AdmissionRequest {
        request(
            json!({"uid": "n1", "kind": {"group": "", "version": "v1", "kind": "Namespace"},
            "resource": {"group": "", "version": "v1", "resource": "namespaces"},
            "name": "test", "namespace": "test", "operation": operation,
            "object": new, "oldObject": old}),
        )
    }

    fn namespace(labels: &[(&str, &str)]) -> Value {
        let labels: serde_json::Map<String, Value> = labels
            .iter()
            .map(|(k, v)| (format!("pod-security.kubernetes.io/{k}"), json!(v)))
            .collect();
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test", "labels": labels}})
    }

    #[test]
    fn namespace_creation_with_invalid_labels_is_invalid() {
        let request = namespace_request(
            "CREATE",
            Some(namespace(&[
                ("enforce", "unknown"),
                ("warn-version", "v1"),
                ("audit", "unknown"),
            ])),
            None,
        );
        let outcome = run(&Admission::default(), &FakeCluster::default(), &request);
        assert!(!outcome.response.allowed && outcome.metrics.is_empty());
        let status = outcome.response.status.expect("status");
        assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
        assert_eq!(
            status.message,
            "Namespace \"test\" is invalid: [metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"unknown\": must be one of privileged, baseline, restricted, metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: \"unknown\": must be one of privileged, baseline, restricted, metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: \"v1\": must be \"latest\" or \"v1.x\"]"
        );
        let details = status.details.expect("details");
        assert_eq!(
            (
                details.name.as_str(),
                details.kind.as_str(),
                details.group.as_str()
            ),
            ("test", "Namespace", "")
        );
        assert_eq!(details.causes.len(), 3);
        assert_eq!(
            details.causes[0],
            StatusCause {
                reason: "FieldValueInvalid".into(),
                message:
                    "Invalid value: \"unknown\": must be one of privileged, baseline, restricted"
                        .into(),
                field: "metadata.labels[pod-security.kubernetes.io/enforce]".into(),
            }
        );
        let valid = namespace_request(
            "CREATE",
            Some(namespace(&[("enforce", "restricted")])),
            None,
        );
        let outcome = run(&Admission::default(), &FakeCluster::default(), &valid);
        assert!(outcome.response.allowed && outcome.response.warnings.is_empty());
    }

    #[test]
    fn namespace_decode_failures_keep_upstreams_double_space() {
        let check = |request: AdmissionRequest, message: &str, annotation: &str| {
            let outcome = run(&Admission::default(), &FakeCluster::default(), &request);
            let status = outcome.response.status.as_ref().expect("status");
            assert_eq!((status.code, status.message.as_str()), (400, message));
            assert!(outcome.response.audit_annotations["error"].starts_with(annotation));
            assert!(
                outcome.metrics.is_empty(),
                "namespace requests record nothing"
            );
        };
        let bad = json!({"metadata": {"labels": "x"}});
        check(
            namespace_request("CREATE", Some(bad.clone()), None),
            "failed to decode object",
            "failed to decode object: ",
        );
        check(
            namespace_request("CREATE", None, None),
            "failed to decode namespace",
            "failed to decode namespace",
        );
        let ok = Some(namespace(&[]));
        check(
            namespace_request("UPDATE", ok.clone(), Some(bad)),
            "failed to decode  old object",
            "failed to decode  old object: ",
        );
        check(
            namespace_request("UPDATE", ok, None),
            "failed to decode  old namespace",
            "failed to decode  old namespace",
        );
        let mut status = namespace_request("UPDATE", None, None);
        status.sub_resource = "status".into();
        assert!(
            run(&Admission::default(), &FakeCluster::default(), &status)
                .response
                .allowed
        );
    }

    #[test]
    fn exempt_namespaces_are_warned_about_their_ignored_policy() {
        let admission = Admission::new(&PodSecurityConfiguration {
            exemptions: PodSecurityExemptions {
                namespaces: vec!["test".into()],
                ..Default::default()
            },
            ..Default::default()
        })
        .expect("valid");
        let labels = [
            ("enforce", "restricted"),
            ("enforce-version", "v1.0"),
            ("audit", "restricted"),
            ("warn", "baseline"),
        ];
        let request = namespace_request("CREATE", Some(namespace(&labels)), None);
        let outcome = run(&admission, &FakeCluster::default(), &request);
        assert_eq!(
            outcome.response.warnings,
            [
                "namespace \"test\" is exempt from Pod Security, and the policy (enforce=restricted:v1.0, audit=restricted:latest, warn=baseline:latest) will be ignored"
            ]
        );
        // Warn inherited from enforce is not listed.
        let request =
            namespace_request("CREATE", Some(namespace(&[("enforce", "baseline")])), None);
        let outcome = run(&admission, &FakeCluster::default(), &request);
        assert_eq!(
            outcome.response.warnings,
            [
                "namespace \"test\" is exempt from Pod Security, and the policy (enforce=baseline:latest) will be ignored"
            ]
        );
        // Fully privileged, or equivalent to the defaults: no warning.
        for labels in [
            &[("enforce", "privileged"), ("enforce-version", "v1.2")][..],
            &[],
        ] {
            let request = namespace_request("CREATE", Some(namespace(labels)), None);
            assert!(
                run(&admission, &FakeCluster::default(), &request)
                    .response
                    .warnings
                    .is_empty()
            );
        }
        // Exemption by the request's namespace, warning by the object's name (as upstream).
        let mut renamed = namespace(&labels);
        renamed["metadata"]["name"] = json!("renamed");
        let request = namespace_request("CREATE", Some(renamed), None);
        let outcome = run(&admission, &FakeCluster::default(), &request);
        assert!(outcome.response.warnings[0].starts_with("namespace \"renamed\" is exempt"));
        // On a tightening update too, and then no pods are listed.
        let cluster = FakeCluster {
            pods: Some(vec![]),
            ..Default::default()
        };
        let update = namespace_request(
            "UPDATE",
            Some(namespace(&[("enforce", "baseline")])),
            Some(namespace(&[])),
        );
        let outcome = run(&admission, &cluster, &update);
        assert_eq!(outcome.response.warnings.len(), 1);
        assert!(cluster.lists.lock().expect("lock").is_empty());
    }

    #[test]
    fn namespace_updates_follow_upstreams_rules() {
        let update = |new: &[(&str, &str)], old: &[(&str, &str)]| {
            namespace_request("UPDATE", Some(namespace(new)), Some(namespace(old)))
        };
        let cluster = FakeCluster {
            pods: Some(vec![]),
            ..Default::default()
        };
        let admission = Admission::default();
        // Pre-existing identical errors do not block; changed ones do.
        let same = update(
            &[("enforce", "bogus"), ("team", "a")],
            &[("enforce", "bogus")],
        );
        assert!(run(&admission, &cluster, &same).response.allowed);
        let changed = update(&[("enforce", "bogus2")], &[("enforce", "bogus")]);
        assert_eq!(
            run(&admission, &cluster, &changed)
                .response
                .status
                .map(|s| s.code),
            Some(422)
        );
        let new_error = update(&[("enforce", "bogus")], &[]);
        assert_eq!(
            run(&admission, &cluster, &new_error)
                .response
                .status
                .map(|s| s.code),
            Some(422)
        );
        // No tightening of enforce: no pods are listed.
        for (new, old) in [
            (
                &[("enforce", "baseline"), ("warn", "restricted")][..],
                &[("enforce", "baseline")][..],
            ),
            (&[("enforce", "privileged")], &[("enforce", "restricted")]),
            (&[("enforce", "baseline")], &[("enforce", "restricted")]),
            (&[("audit", "restricted")], &[]),
        ] {
            assert!(
                run(&admission, &cluster, &update(new, old))
                    .response
                    .allowed
            );
        }
        assert!(cluster.lists.lock().expect("lock").is_empty());
        // Tightening (level, or a version change) lists pods.
        for (new, old) in [
            (
                &[("enforce", "restricted")][..],
                &[("enforce", "baseline")][..],
            ),
            (
                &[("enforce", "baseline"), ("enforce-version", "v1.20")],
                &[("enforce", "baseline")],
            ),
            (&[("enforce", "baseline")], &[]),
        ] {
            assert!(
                run(&admission, &cluster, &update(new, old))
                    .response
                    .allowed
            );
        }
        assert_eq!(cluster.lists.lock().expect("lock").len(), 3);
    }

    fn pod(
        name: &str,
        controller: Option<&str>,
        privileged: bool,
        runtime_class: Option<&str>,
    ) -> Pod {
        let owners = controller
            .map(|uid| json!([{"uid": "other", "controller": false}, {"uid": uid, "controller": true}]))
            .unwrap_or(json!([]));
        let mut container = json!({"name": "c", "image": "i"});
        if privileged {
            container["securityContext"] = json!({"privileged": true});
        }
        serde_json::from_value(
            json!({"metadata": {"name": name, "ownerReferences": owners},
            "spec": {"containers": [container], "runtimeClassName": runtime_class}}),
        )
        .expect("pod")
    }

    /// Namespace `test` going from no labels to enforcing baseline.
    fn enforcing_baseline() -> AdmissionRequest {
        namespace_request(
            "UPDATE",
            Some(namespace(&[("enforce", "baseline")])),
            Some(namespace(&[])),
        )
    }

    fn tighten(
        cluster: &FakeCluster,
        admission: &Admission,
        ctx: RequestContext<'_>,
    ) -> Vec<String> {
        let request = enforcing_baseline();
        let outcome = block_on(admit(admission, cluster, &request, ctx));
        assert!(outcome.response.allowed && outcome.metrics.is_empty());
        outcome.response.warnings
    }

    #[test]
    fn existing_pods_are_grouped_by_reason_and_sorted() {
        let mut host_pid = pod("hostpid", None, false, None);
        host_pid.spec.host_pid = Some(true);
        let mut both = pod("both", None, true, None);
        both.spec.host_pid = Some(true);
        let cluster = FakeCluster {
            pods: Some(vec![
                pod("zeta", None, true, None),
                pod("fine", None, false, None),
                pod("alpha", Some("rs1"), true, None),
                pod("beta", Some("rs1"), true, None),
                pod("exempt", None, true, Some("gvisor")),
                host_pid,
                both,
            ]),
            ..Default::default()
        };
        let warnings = tighten(&cluster, &exempting(), RequestContext::default());
        assert_eq!(
            warnings,
            [
                "existing pods in namespace \"test\" violate the new PodSecurity enforce level \"baseline:latest\"",
                "alpha (and 2 other pods): privileged",
                "both: host namespaces, privileged",
                "hostpid: host namespaces",
            ]
        );
        let two = FakeCluster {
            pods: Some(vec![pod("b", None, true, None), pod("a", None, true, None)]),
            ..Default::default()
        };
        let warnings = tighten(&two, &Admission::default(), RequestContext::default());
        assert_eq!(warnings[1], "a (and 1 other pod): privileged");
        let failing = FakeCluster::default();
        assert_eq!(
            tighten(&failing, &Admission::default(), RequestContext::default()),
            ["failed to list pods while checking new PodSecurity enforce level"]
        );
        let fine = FakeCluster {
            pods: Some(vec![pod("ok", None, false, None)]),
            ..Default::default()
        };
        assert!(tighten(&fine, &Admission::default(), RequestContext::default()).is_empty());
    }

    #[test]
    fn existing_pods_are_limited_and_controllers_go_last() {
        // 3001 pods of one ReplicaSet, then one bare pod: rs-0000 and the bare pod come first,
        // then 2998 more of the ReplicaSet fit in the 3000 checked.
        let mut pods: Vec<Pod> = (0..3001)
            .map(|i| pod(&format!("rs-{i:04}"), Some("rs"), true, None))
            .collect();
        let mut solo = pod("solo", None, false, None);
        solo.spec.host_pid = Some(true);
        pods.push(solo);
        let cluster = FakeCluster {
            pods: Some(pods),
            ..Default::default()
        };
        let warnings = tighten(&cluster, &Admission::default(), RequestContext::default());
        assert_eq!(
            warnings,
            [
                "new PodSecurity enforce level only checked against the first 3000 of 3002 existing pods",
                "existing pods in namespace \"test\" violate the new PodSecurity enforce level \"baseline:latest\"",
                "rs-0000 (and 2998 other pods): privileged",
                "solo: host namespaces",
            ]
        );
    }

    #[test]
    fn evaluating_existing_pods_yields_to_the_executor() {
        let pods: Vec<Pod> = (0..100)
            .map(|i| pod(&format!("p{i:03}"), None, true, None))
            .collect();
        let cluster = FakeCluster {
            pods: Some(pods),
            ..Default::default()
        };
        let admission = Admission::default();
        let request = enforcing_baseline();
        let mut future = pin!(admit(
            &admission,
            &cluster,
            &request,
            RequestContext::default()
        ));
        let woken = Arc::new(AtomicU32::new(0));
        let waker = Waker::from(Arc::new(CountingWaker(Arc::clone(&woken))));
        let mut cx = Context::from_waker(&waker);
        let mut pending = 0;
        let outcome = loop {
            match future.as_mut().poll(&mut cx) {
                Poll::Ready(outcome) => break outcome,
                Poll::Pending => pending += 1,
            }
        };
        // After pods 32, 64 and 96; and each time it asked to be polled again.
        assert_eq!(pending, 100 / PODS_PER_YIELD);
        assert_eq!(woken.load(Ordering::SeqCst), pending as u32);
        assert_eq!(
            outcome.response.warnings[1],
            "p000 (and 99 other pods): privileged"
        );
    }

    struct CountingWaker(Arc<AtomicU32>);

    impl std::task::Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn existing_pods_stop_at_the_deadline() {
        let pods: Vec<Pod> = (0..10)
            .map(|i| pod(&format!("p{i}"), None, true, None))
            .collect();
        let cluster = FakeCluster {
            pods: Some(pods),
            ..Default::default()
        };
        // Readings: 0 at the start, then one per checked pod, 100ms apart; the budget is
        // min(1s, half of 600ms) = 300ms, so the third pod crosses it and is the last counted.
        let clock = StepClock::new(Duration::from_millis(100));
        let ctx = RequestContext {
            clock: &clock,
            deadline: Some(clock.start + Duration::from_millis(600)),
        };
        let warnings = tighten(&cluster, &Admission::default(), ctx);
        assert_eq!(
            warnings[0],
            "new PodSecurity enforce level only checked against the first 3 of 10 existing pods"
        );
        assert_eq!(warnings[2], "p0 (and 2 other pods): privileged");
        let lists = cluster.lists.lock().expect("lock");
        assert_eq!(
            lists[0],
            ("test".to_owned(), clock.start + Duration::from_millis(300))
        );
        drop(lists);
        // Without a request deadline the budget is one second.
        let clock = StepClock::new(Duration::from_millis(400));
        let ctx = RequestContext {
            clock: &clock,
            deadline: None,
        };
        let warnings = tighten(&cluster, &Admission::default(), ctx);
        assert!(warnings[0].contains("the first 3 of 10"), "{warnings:?}");
    }

    #[test]
    fn evaluate_pod_reuses_results_and_skips_warn_after_denial() {
        let spec: PodSpec = serde_json::from_value(
            json!({"containers": [{"name": "c", "securityContext": {"privileged": true}}]}),
        )
        .expect("spec");
        let meta = PodMetadata::default();
        let baseline = LevelVersion::new(Level::Baseline, Version::Latest);
        let policy = Policy {
            enforce: baseline,
            audit: baseline,
            warn: baseline,
        };
        let evaluator = Evaluator::default();
        let denied = evaluate_pod(&evaluator, &policy, &meta, &spec, true);
        assert_eq!(
            denied.iter().map(|r| r.mode).collect::<Vec<_>>(),
            [Mode::Enforce, Mode::Audit]
        );
        assert_eq!(
            denied[0].message(),
            format!("violates PodSecurity \"baseline:latest\": {PRIVILEGED_DETAIL}")
        );
        assert_eq!(
            denied[1].message(),
            format!("would violate PodSecurity \"baseline:latest\": {PRIVILEGED_DETAIL}")
        );
        let advisory = evaluate_pod(&evaluator, &policy, &meta, &spec, false);
        assert_eq!(
            advisory.iter().map(|r| r.mode).collect::<Vec<_>>(),
            [Mode::Audit, Mode::Warn]
        );
        assert_eq!(advisory[0].evaluation, advisory[1].evaluation);
    }

    /// Policies whose modes share their level and version in every pattern (all three, two of
    /// them, none), including versions whose checks differ.
    fn sharing_policies() -> Vec<Policy> {
        let lv = LevelVersion::new;
        let (b, r) = (Level::Baseline, Level::Restricted);
        let (latest, old) = (Version::Latest, Version::Minor(22));
        let policy = |enforce, audit, warn| Policy {
            enforce,
            audit,
            warn,
        };
        vec![
            policy(lv(b, latest), lv(b, latest), lv(b, latest)),
            policy(lv(b, latest), lv(r, latest), lv(r, latest)),
            policy(lv(b, latest), lv(r, latest), lv(b, latest)),
            policy(lv(r, latest), lv(r, latest), lv(b, latest)),
            policy(lv(b, old), lv(r, latest), lv(r, old)),
            policy(lv(r, old), lv(r, latest), lv(r, old)),
            policy(
                LevelVersion::PRIVILEGED_LATEST,
                lv(r, latest),
                lv(r, latest),
            ),
            policy(
                lv(b, latest),
                LevelVersion::PRIVILEGED_LATEST,
                lv(r, latest),
            ),
        ]
    }

    fn restricted_pod() -> Value {
        pod_json(
            "test-pod",
            json!([{"name": "c", "image": "i", "securityContext": {
                "allowPrivilegeEscalation": false, "runAsNonRoot": true,
                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}]),
        )
    }

    #[test]
    fn evaluate_pod_is_each_mode_evaluated_on_its_own() {
        let evaluator = Evaluator::default();
        for policy in sharing_policies() {
            for object in [privileged_pod(), plain_pod(), restricted_pod()] {
                let pod: Pod = serde_json::from_value(object).expect("pod");
                for enforce in [true, false] {
                    let got = evaluate_pod(&evaluator, &policy, &pod.metadata, &pod.spec, enforce);
                    let mut want = Vec::new();
                    for mode in [Mode::Enforce, Mode::Audit, Mode::Warn] {
                        let denied = want.first().is_some_and(|first: &ModeEvaluation| {
                            first.mode == Mode::Enforce && !first.evaluation.allowed()
                        });
                        if (mode == Mode::Enforce && !enforce) || (mode == Mode::Warn && denied) {
                            continue;
                        }
                        let lv = policy.get(mode);
                        want.push(ModeEvaluation {
                            mode,
                            policy: lv,
                            evaluation: evaluator.evaluate(lv, &pod.metadata, &pod.spec),
                        });
                    }
                    assert_eq!(got, want, "{policy:?}, enforce {enforce}");
                }
            }
        }
    }

    /// The texts of a decision are the per-mode messages of [`evaluate_pod`], whether or not
    /// modes share a result (and so a text).
    #[test]
    fn decisions_carry_each_modes_own_message() {
        let admission = Admission::default();
        for policy in sharing_policies() {
            let label = |lv: LevelVersion| {
                let version = match lv.version {
                    Version::Latest => "latest".to_owned(),
                    Version::Minor(minor) => format!("v1.{minor}"),
                };
                (lv.level.as_str(), version)
            };
            let (enforce, enforce_version) = label(policy.enforce);
            let (audit, audit_version) = label(policy.audit);
            let (warn, warn_version) = label(policy.warn);
            let cluster = FakeCluster::with_namespace(
                "test",
                &[
                    ("enforce", enforce),
                    ("enforce-version", &enforce_version),
                    ("audit", audit),
                    ("audit-version", &audit_version),
                    ("warn", warn),
                    ("warn-version", &warn_version),
                ],
            );
            for object in [privileged_pod(), plain_pod(), restricted_pod()] {
                let pod: Pod = serde_json::from_value(object.clone()).expect("pod");
                let outcome = run(&admission, &cluster, &pod_request("CREATE", object, None));
                let response = &outcome.response;
                let modes = evaluate_pod(
                    &admission.evaluator,
                    &policy,
                    &pod.metadata,
                    &pod.spec,
                    true,
                );
                let failing = |mode| {
                    modes
                        .iter()
                        .find(|m| m.mode == mode && !m.evaluation.allowed())
                        .map(ModeEvaluation::message)
                };
                let status = response.status.as_ref().map(|s| s.message.as_str());
                let forbidden = failing(Mode::Enforce)
                    .map(|text| format!("pods \"test-pod\" is forbidden: {text}"));
                assert_eq!(status, forbidden.as_deref(), "{policy:?}");
                assert_eq!(
                    response.audit_annotations.get(ANNOTATION_AUDIT_VIOLATIONS),
                    failing(Mode::Audit).as_ref(),
                    "{policy:?}"
                );
                assert_eq!(
                    response.warnings,
                    Vec::from_iter(failing(Mode::Warn)),
                    "{policy:?}"
                );
            }
        }
    }

    /// The webhook runs `admit` on a multi-threaded runtime: its future must stay `Send`.
    #[test]
    fn the_decision_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let cluster = FakeCluster::default();
        let request = pod_request("CREATE", plain_pod(), None);
        let admission = Admission::default();
        let future = admit(&admission, &cluster, &request, RequestContext::default());
        assert_send(&future);
        assert!(!block_on(future).response.allowed);
    }

    #[test]
    fn version_labels_follow_the_binary_version() {
        let lv = |level, version| LevelVersion::new(level, version);
        assert_eq!(
            version_label(lv(Level::Privileged, Version::Minor(99)), 37),
            "latest"
        );
        assert_eq!(
            version_label(lv(Level::Baseline, Version::Latest), 37),
            "latest"
        );
        assert_eq!(
            version_label(lv(Level::Baseline, Version::Minor(37)), 37),
            "v1.37"
        );
        assert_eq!(
            version_label(lv(Level::Restricted, Version::Minor(38)), 37),
            "future"
        );
        assert_eq!(
            version_label(lv(Level::Restricted, Version::Minor(0)), 0),
            "v1.0"
        );
    }
}
