//! Prometheus metrics: upstream Pod Security Admission's three counters (same names, label names
//! and values, HELP texts, and the series exported at zero from the start), plus the webhook's
//! own request-latency histogram and certificate-reload counter.
//!
//! The exposition is OpenMetrics text (what `prometheus-client` writes); Prometheus negotiates
//! it through the content type. Counters are registered without the `_total` suffix because the
//! OpenMetrics encoder appends it to the sample names.

use std::fmt::Write as _;
use std::hash::Hash;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use podsec_admission::admit::MetricEvent;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of `pod_security_evaluations_total`, in upstream's (alphabetical) exposition order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct EvaluationLabels {
    pub decision: &'static str,
    pub mode: &'static str,
    pub policy_level: &'static str,
    pub policy_version: String,
    pub request_operation: String,
    pub resource: &'static str,
    pub subresource: String,
}

/// Labels of `pod_security_exemptions_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    pub request_operation: String,
    pub resource: &'static str,
    pub subresource: String,
}

/// Labels of `pod_security_errors_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ErrorLabels {
    pub fatal: &'static str,
    pub request_operation: String,
    pub resource: &'static str,
    pub subresource: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LatencyLabels {
    code: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReloadLabels {
    result: &'static str,
}

type LatencyFamily = Family<LatencyLabels, Histogram, fn() -> Histogram>;

/// Every metric the webhook exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    evaluations: Family<EvaluationLabels, Counter>,
    exemptions: Family<RequestLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    latency: LatencyFamily,
    reloads: Family<ReloadLabels, Counter>,
    // What every request touches, found again without hashing or allocating.
    evaluation_handles: Handles<EvaluationLabels, Counter>,
    exemption_handles: Handles<RequestLabels, Counter>,
    error_handles: Handles<ErrorLabels, Counter>,
    latency_handles: Handles<LatencyLabels, Histogram>,
}

/// Label sets beyond this many per metric are counted through their family directly: still
/// right, only hashed each time. Real traffic has a handful (a few policy versions, two or
/// three operations).
const MAX_HANDLES: usize = 64;

/// The series of a family already counted, each with its label set, looked up by comparing
/// label values: no label struct to build (no `String`s to allocate) and no hashing, which is
/// what [`Family::get_or_create`] costs per call. A handle shares its value with the family's
/// series, and a label set gets one only once the family has the series, so the exposition is
/// exactly what counting through the family gives (no series appears before it is counted).
#[derive(Debug)]
struct Handles<L, M> {
    seen: RwLock<Vec<(L, M)>>,
}

impl<L, M> Default for Handles<L, M> {
    fn default() -> Self {
        Handles {
            seen: RwLock::new(Vec::new()),
        }
    }
}

impl<L: Clone + Hash + Eq, M: Clone> Handles<L, M> {
    /// Runs `update` on the series whose labels satisfy `matches`, creating it in `family`
    /// from `labels()` the first time.
    fn update<C: MetricConstructor<M>>(
        &self,
        family: &Family<L, M, C>,
        matches: impl Fn(&L) -> bool,
        labels: impl FnOnce() -> L,
        update: impl FnOnce(&M),
    ) {
        {
            let seen = self.seen.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, metric)) = seen.iter().find(|(l, _)| matches(l)) {
                update(metric);
                return;
            }
        }
        let labels = labels();
        let metric = family.get_or_create_owned(&labels);
        update(&metric);
        let mut seen = self.seen.write().unwrap_or_else(PoisonError::into_inner);
        if seen.len() < MAX_HANDLES && !seen.iter().any(|(l, _)| *l == labels) {
            seen.push((labels, metric));
        }
    }
}

impl<L: Clone + Hash + Eq> Handles<L, Counter> {
    /// Counts one event with exactly these labels.
    fn increment(&self, family: &Family<L, Counter>, labels: &L) {
        self.update(
            family,
            |l| l == labels,
            || labels.clone(),
            |c| {
                c.inc();
            },
        );
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let evaluations = Family::<EvaluationLabels, Counter>::default();
        let exemptions = Family::<RequestLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        // 100 µs to ~1.6 s: admission answers are sub-millisecond unless a namespace update
        // lists pods, which is bounded by one second.
        let latency = LatencyFamily::new_with_constructor(
            (|| {
                Histogram::new([
                    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25, 1.0, 2.5,
                ])
            }) as fn() -> Histogram,
        );
        let reloads = Family::<ReloadLabels, Counter>::default();
        // prometheus-client appends the final period of each HELP text itself.
        registry.register(
            "pod_security_evaluations",
            "[ALPHA] Number of policy evaluations that occurred, not counting ignored or exempt requests",
            evaluations.clone(),
        );
        registry.register(
            "pod_security_exemptions",
            "[ALPHA] Number of exempt requests, not counting ignored or out of scope requests",
            exemptions.clone(),
        );
        registry.register(
            "pod_security_errors",
            "[ALPHA] Number of errors preventing normal evaluation. Non-fatal errors may result in the latest restricted profile being used for evaluation",
            errors.clone(),
        );
        registry.register(
            "podsec_webhook_request_duration_seconds",
            "Time from the end of the request headers to the admission response, by HTTP status code",
            latency.clone(),
        );
        registry.register(
            "podsec_webhook_certificate_reloads",
            "Serving certificate changes seen on disk, by whether the new pair could be loaded",
            reloads.clone(),
        );
        let metrics = Metrics {
            registry,
            evaluations,
            exemptions,
            errors,
            latency,
            reloads,
            evaluation_handles: Handles::default(),
            exemption_handles: Handles::default(),
            error_handles: Handles::default(),
            latency_handles: Handles::default(),
        };
        metrics.export_zero_series();
        metrics
    }

    /// Upstream exports these series before any request so that rate queries and alerts have a
    /// baseline.
    fn export_zero_series(&self) {
        for operation in ["create", "update"] {
            let _ = self.evaluations.get_or_create(&EvaluationLabels {
                decision: "allow",
                mode: "enforce",
                policy_level: "privileged",
                policy_version: "latest".to_owned(),
                request_operation: operation.to_owned(),
                resource: "pod",
                subresource: String::new(),
            });
            for resource in ["pod", "controller"] {
                let _ = self.exemptions.get_or_create(&RequestLabels {
                    request_operation: operation.to_owned(),
                    resource,
                    subresource: String::new(),
                });
            }
        }
    }

    pub fn evaluation(&self, labels: &EvaluationLabels) {
        self.evaluation_handles.increment(&self.evaluations, labels);
    }

    pub fn exemption(&self, labels: &RequestLabels) {
        self.exemption_handles.increment(&self.exemptions, labels);
    }

    pub fn error(&self, labels: &ErrorLabels) {
        self.error_handles.increment(&self.errors, labels);
    }

    /// Counts one of the decision flow's metric events, as [`Metrics::evaluation`],
    /// [`Metrics::exemption`] or [`Metrics::error`] would, without building its label set
    /// unless the series is new.
    pub fn record(&self, event: &MetricEvent) {
        let inc = |c: &Counter| {
            c.inc();
        };
        match event {
            MetricEvent::Evaluation {
                decision,
                mode,
                level,
                version,
                request,
            } => {
                let (decision, mode, level) = (decision.as_str(), mode.as_str(), level.as_str());
                let resource = request.resource.as_str();
                self.evaluation_handles.update(
                    &self.evaluations,
                    |l| {
                        l.decision == decision
                            && l.mode == mode
                            && l.policy_level == level
                            && l.resource == resource
                            && l.policy_version == *version
                            && l.request_operation == request.operation
                            && l.subresource == request.subresource
                    },
                    || EvaluationLabels {
                        decision,
                        mode,
                        policy_level: level,
                        policy_version: version.clone(),
                        request_operation: request.operation.clone(),
                        resource,
                        subresource: request.subresource.clone(),
                    },
                    inc,
                );
            }
            MetricEvent::Exemption { request } => {
                let resource = request.resource.as_str();
                self.exemption_handles.update(
                    &self.exemptions,
                    |l| {
                        l.resource == resource
                            && l.request_operation == request.operation
                            && l.subresource == request.subresource
                    },
                    || RequestLabels {
                        request_operation: request.operation.clone(),
                        resource,
                        subresource: request.subresource.clone(),
                    },
                    inc,
                );
            }
            MetricEvent::Error { fatal, request } => {
                let fatal = if *fatal { "true" } else { "false" };
                let resource = request.resource.as_str();
                self.error_handles.update(
                    &self.errors,
                    |l| {
                        l.fatal == fatal
                            && l.resource == resource
                            && l.request_operation == request.operation
                            && l.subresource == request.subresource
                    },
                    || ErrorLabels {
                        fatal,
                        request_operation: request.operation.clone(),
                        resource,
                        subresource: request.subresource.clone(),
                    },
                    inc,
                );
            }
        }
    }

    pub fn request_finished(&self, code: u16, took: Duration) {
        self.latency_handles.update(
            &self.latency,
            |l| l.code == code,
            || LatencyLabels { code },
            |h| h.observe(took.as_secs_f64()),
        );
    }

    pub fn certificate_reloaded(&self, ok: bool) {
        let result = if ok { "success" } else { "failure" };
        self.reloads.get_or_create(&ReloadLabels { result }).inc();
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            // Writing into a String cannot fail; keep the scrape well-formed regardless.
            out.clear();
            let _ = writeln!(out, "# EOF");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_series_and_help_texts_are_exported_before_any_request() {
        let text = Metrics::new().encode();
        assert!(text.contains("# HELP pod_security_evaluations [ALPHA] Number of policy evaluations that occurred, not counting ignored or exempt requests.\n"), "{text}");
        assert!(text.contains("# TYPE pod_security_evaluations counter\n"));
        for op in ["create", "update"] {
            assert!(text.contains(&format!(
                "pod_security_evaluations_total{{decision=\"allow\",mode=\"enforce\",policy_level=\"privileged\",policy_version=\"latest\",request_operation=\"{op}\",resource=\"pod\",subresource=\"\"}} 0\n"
            )), "{text}");
            for resource in ["pod", "controller"] {
                assert!(text.contains(&format!(
                    "pod_security_exemptions_total{{request_operation=\"{op}\",resource=\"{resource}\",subresource=\"\"}} 0\n"
                )), "{text}");
            }
        }
        // Like upstream's, the error counter has no series (so no lines) until an error.
        assert!(!text.contains("pod_security_errors"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn counts_land_on_their_label_set() {
        let metrics = Metrics::new();
        let labels = ErrorLabels {
            fatal: "true",
            request_operation: "create".into(),
            resource: "controller",
            subresource: String::new(),
        };
        metrics.error(&labels);
        metrics.error(&labels);
        let text = metrics.encode();
        assert!(text.contains("# HELP pod_security_errors [ALPHA] Number of errors preventing normal evaluation. Non-fatal errors may result in the latest restricted profile being used for evaluation.\n"));
        assert!(text.contains("pod_security_errors_total{fatal=\"true\",request_operation=\"create\",resource=\"controller\",subresource=\"\"} 2\n"), "{text}");
    }

    #[test]
    fn events_count_like_their_label_sets_and_appear_only_once_counted() {
        use podsec_admission::Mode;
        use podsec_admission::admit::{MetricDecision, MetricResource, RequestLabels as Request};
        use podsec_pss::Level;

        let request = |operation: &str, subresource: &str| Request {
            operation: operation.to_owned(),
            resource: MetricResource::Pod,
            subresource: subresource.to_owned(),
        };
        let by_events = Metrics::new();
        let by_labels = Metrics::new();
        let mut events = Vec::new();
        // More label sets than handles are kept, each counted a different number of times.
        for minor in 0..(MAX_HANDLES + 6) {
            for _ in 0..=(minor % 3) {
                events.push(MetricEvent::Evaluation {
                    decision: MetricDecision::Deny,
                    mode: Mode::Audit,
                    level: Level::Restricted,
                    version: format!("v1.{minor}"),
                    request: request("create", ""),
                });
            }
        }
        events.push(MetricEvent::Exemption {
            request: request("update", "status"),
        });
        events.push(MetricEvent::Error {
            fatal: false,
            request: request("create", "ephemeralcontainers"),
        });
        events.push(MetricEvent::Error {
            fatal: false,
            request: request("create", "ephemeralcontainers"),
        });
        for event in &events {
            by_events.record(event);
            match event {
                MetricEvent::Evaluation {
                    decision,
                    mode,
                    level,
                    version,
                    request,
                } => by_labels.evaluations.get_or_create(&EvaluationLabels {
                    decision: decision.as_str(),
                    mode: mode.as_str(),
                    policy_level: level.as_str(),
                    policy_version: version.clone(),
                    request_operation: request.operation.clone(),
                    resource: request.resource.as_str(),
                    subresource: request.subresource.clone(),
                }),
                MetricEvent::Exemption { request } => {
                    by_labels.exemptions.get_or_create(&RequestLabels {
                        request_operation: request.operation.clone(),
                        resource: request.resource.as_str(),
                        subresource: request.subresource.clone(),
                    })
                }
                MetricEvent::Error { fatal, request } => {
                    by_labels.errors.get_or_create(&ErrorLabels {
                        fatal: if *fatal { "true" } else { "false" },
                        request_operation: request.operation.clone(),
                        resource: request.resource.as_str(),
                        subresource: request.subresource.clone(),
                    })
                }
            }
            .inc();
        }
        let latency = Duration::from_micros(300);
        assert!(
            !by_events
                .encode()
                .contains("podsec_webhook_request_duration_seconds_count")
        );
        for code in [200, 200, 400] {
            by_events.request_finished(code, latency);
            by_labels
                .latency
                .get_or_create(&LatencyLabels { code })
                .observe(latency.as_secs_f64());
        }
        // The series within a family come in hash order, which differs between registries.
        let sorted = |text: &str| {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            lines.sort();
            lines
        };
        let text = by_events.encode();
        assert_eq!(sorted(&text), sorted(&by_labels.encode()));
        assert!(text.contains("pod_security_evaluations_total{decision=\"deny\",mode=\"audit\",policy_level=\"restricted\",policy_version=\"v1.69\",request_operation=\"create\",resource=\"pod\",subresource=\"\"} 1\n"), "{text}");
        assert!(text.contains("pod_security_errors_total{fatal=\"false\",request_operation=\"create\",resource=\"pod\",subresource=\"ephemeralcontainers\"} 2\n"), "{text}");
        assert!(
            text.contains("podsec_webhook_request_duration_seconds_count{code=\"200\"} 2\n"),
            "{text}"
        );
    }
}
