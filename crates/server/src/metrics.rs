//! Prometheus metrics: upstream Pod Security Admission's three counters (same names, label names
//! and values, HELP texts, and the series exported at zero from the start), plus the webhook's
//! own request-latency histogram and certificate-reload counter.
//!
//! The exposition is OpenMetrics text (what `prometheus-client` writes); Prometheus negotiates
//! it through the content type. Counters are registered without the `_total` suffix because the
//! OpenMetrics encoder appends it to the sample names.

use std::fmt::Write as _;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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

/// Every metric the webhook exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    evaluations: Family<EvaluationLabels, Counter>,
    exemptions: Family<RequestLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    latency: Family<LatencyLabels, Histogram>,
    reloads: Family<ReloadLabels, Counter>,
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
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(
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
        self.evaluations.get_or_create(labels).inc();
    }

    pub fn exemption(&self, labels: &RequestLabels) {
        self.exemptions.get_or_create(labels).inc();
    }

    pub fn error(&self, labels: &ErrorLabels) {
        self.errors.get_or_create(labels).inc();
    }

    pub fn request_finished(&self, code: u16, took: Duration) {
        self.latency
            .get_or_create(&LatencyLabels { code })
            .observe(took.as_secs_f64());
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
}
