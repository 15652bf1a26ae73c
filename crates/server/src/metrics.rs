//! Prometheus metrics: upstream Pod Security Admission's three counters (same names, label names
//! and values, HELP texts, and the series exported at zero from the start), plus the webhook's
//! own request-latency histogram and certificate-reload counter.
//!
//! Two expositions, chosen by the scrape's `Accept` header ([`Format::negotiate`]) as
//! Prometheus's client libraries choose: OpenMetrics text (what `prometheus-client` writes),
//! which a Prometheus server asks for first, and otherwise the Prometheus text format 0.0.4
//! that upstream's `/metrics` serves (curl, older scrapers), derived from the OpenMetrics text.
//! Counters are registered without the `_total` suffix because the OpenMetrics encoder
//! appends it to the sample names (and names the family without it, as OpenMetrics does).

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

/// The content type of the OpenMetrics exposition.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type of the Prometheus text format, as upstream's `/metrics` serves it.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text: counter families named without `_total`, `# EOF` at the end.
    OpenMetrics,
    /// Prometheus text format 0.0.4: counter families named with `_total`, no `# EOF`.
    Text,
}

impl Format {
    /// The format for a scrape with this `Accept` header, as client_golang negotiates it
    /// (`expfmt.NegotiateIncludingOpenMetrics`): the media ranges by preference (higher `q`
    /// first, then the more specific, then as written); the first that is OpenMetrics (version
    /// 1.0.0, 0.0.1 or none) gives OpenMetrics, the first that is `text/plain` (version 0.0.4
    /// or none) or a wildcard gives text; text when nothing matches or there is no header.
    /// Ranges with `q=0` are refusals and skipped.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut ranges: Vec<MediaRange<'_>> =
            accept.split(',').filter_map(MediaRange::parse).collect();
        // Stable: equally preferred ranges keep the client's order.
        ranges.sort_by(|a, b| {
            b.q.total_cmp(&a.q)
                .then_with(|| a.wildcards().cmp(&b.wildcards()))
        });
        for range in ranges.iter().filter(|range| range.q > 0.0) {
            let version = range.version;
            if range.is("application", "openmetrics-text")
                && matches!(version, None | Some("1.0.0") | Some("0.0.1"))
            {
                return Format::OpenMetrics;
            }
            if (range.kind == "*" || range.kind.eq_ignore_ascii_case("text"))
                && (range.subtype == "*" || range.subtype.eq_ignore_ascii_case("plain"))
                && matches!(version, None | Some("0.0.4"))
            {
                return Format::Text;
            }
        }
        Format::Text
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::Text => TEXT_CONTENT_TYPE,
        }
    }
}

/// One media range of an `Accept` header: `type/subtype;version=…;q=…`.
struct MediaRange<'a> {
    kind: &'a str,
    subtype: &'a str,
    version: Option<&'a str>,
    q: f32,
}

impl<'a> MediaRange<'a> {
    fn parse(text: &'a str) -> Option<MediaRange<'a>> {
        let mut parts = text.split(';');
        let (kind, subtype) = parts.next()?.trim().split_once('/')?;
        let mut range = MediaRange {
            kind: kind.trim(),
            subtype: subtype.trim(),
            version: None,
            q: 1.0,
        };
        for parameter in parts {
            let Some((key, value)) = parameter.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match key.trim() {
                "version" => range.version = Some(value),
                // An unreadable weight ranks last rather than failing the scrape.
                "q" => range.q = value.parse().unwrap_or(0.001),
                _ => {}
            }
        }
        Some(range)
    }

    fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// 0 for `type/subtype`, 1 for `type/*`, 2 for `*/*`: the more specific ranks first.
    fn wildcards(&self) -> u8 {
        u8::from(self.kind == "*") + u8::from(self.subtype == "*")
    }
}

/// The Prometheus text format 0.0.4 of an OpenMetrics exposition written by
/// `prometheus-client` (HELP before TYPE, no escapes in HELP): a counter family takes its
/// samples' `_total` name in its HELP and TYPE lines, `unknown` becomes `untyped`, and the
/// `# UNIT` and `# EOF` lines, which that format does not have, are left out.
fn text_format(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len() + 256);
    // A HELP line waits for its family's TYPE line, which says whether it is a counter.
    let mut help: Option<(&str, &str)> = None;
    let flush_help = |out: &mut String, help: &mut Option<(&str, &str)>| {
        if let Some((name, text)) = help.take() {
            let _ = writeln!(out, "# HELP {name} {text}");
        }
    };
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            flush_help(&mut out, &mut help);
            help = Some(rest.split_once(' ').unwrap_or((rest, "")));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (family, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (name, kind) = match kind {
                "counter" => (format!("{family}_total"), kind),
                "unknown" => (family.to_owned(), "untyped"),
                _ => (family.to_owned(), kind),
            };
            match help.take() {
                Some((help_name, text)) if help_name == family => {
                    let _ = writeln!(out, "# HELP {name} {text}");
                }
                other => {
                    help = other;
                    flush_help(&mut out, &mut help);
                }
            }
            let _ = writeln!(out, "# TYPE {name} {kind}");
        } else if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        } else {
            flush_help(&mut out, &mut help);
            out.push_str(line);
            out.push('\n');
        }
    }
    flush_help(&mut out, &mut help);
    out
}

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

    /// The exposition in `format`.
    pub fn encode(&self, format: Format) -> String {
        let mut out = String::with_capacity(4096);
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            // Writing into a String cannot fail; keep the scrape well-formed regardless.
            out.clear();
            let _ = writeln!(out, "# EOF");
        }
        match format {
            Format::OpenMetrics => out,
            Format::Text => text_format(&out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_series_and_help_texts_are_exported_before_any_request() {
        let text = Metrics::new().encode(Format::OpenMetrics);
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

    /// Accept headers of real scrapers and clients.
    #[test]
    fn format_is_negotiated_as_prometheus_clients_do() {
        let prometheus_2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
        let text_only = "text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        for (accept, want) in [
            (None, Format::Text),
            (Some(""), Format::Text),
            // curl
            (Some("*/*"), Format::Text),
            (Some(prometheus_2), Format::OpenMetrics),
            (Some(prometheus_3), Format::OpenMetrics),
            (Some(text_only), Format::Text),
            (Some("application/openmetrics-text"), Format::OpenMetrics),
            (
                Some("application/openmetrics-text; version=0.0.1"),
                Format::OpenMetrics,
            ),
            // Preference counts, not order.
            (
                Some("text/plain;q=0.5, application/openmetrics-text;q=0.9"),
                Format::OpenMetrics,
            ),
            (
                Some("application/openmetrics-text;q=0.5, text/plain;version=0.0.4"),
                Format::Text,
            ),
            // Refused, or a version this server does not write.
            (Some("application/openmetrics-text;q=0"), Format::Text),
            (
                Some("application/openmetrics-text;version=2.0.0"),
                Format::Text,
            ),
            (Some("application/json"), Format::Text),
        ] {
            assert_eq!(Format::negotiate(accept), want, "{accept:?}");
        }
        assert_eq!(
            Format::Text.content_type(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
    }

    /// Checks a Prometheus text format 0.0.4 exposition: every sample belongs to the family
    /// declared just before it by a HELP and a TYPE line of the same name (a counter's samples
    /// carry exactly that name, a histogram's add `_bucket`, `_sum` or `_count`), and nothing
    /// else is there. Returns the families as (name, type).
    fn parse_text_format(text: &str) -> Vec<(String, String)> {
        let mut families: Vec<(String, String)> = Vec::new();
        let mut help: Option<String> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                help = Some(rest.split_once(' ').expect("help text").0.to_owned());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("type");
                assert_eq!(help.take().as_deref(), Some(name), "HELP before {line}");
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "{line}"
                );
                assert!(
                    families.iter().all(|(n, _)| n != name),
                    "{name} declared twice"
                );
                families.push((name.to_owned(), kind.to_owned()));
            } else {
                assert!(!line.starts_with('#'), "unexpected comment {line:?}");
                let (family, kind) = families.last().expect("a sample before any TYPE");
                let name = line.split(['{', ' ']).next().expect("sample name");
                let ok = match kind.as_str() {
                    "histogram" => name
                        .strip_prefix(family.as_str())
                        .is_some_and(|s| ["_bucket", "_sum", "_count"].contains(&s)),
                    _ => name == family,
                };
                assert!(ok, "sample {name} in family {family} ({kind})");
                let value = line.rsplit(' ').next().expect("value");
                assert!(value.parse::<f64>().is_ok(), "value of {line:?}");
            }
        }
        families
    }

    #[test]
    fn the_text_format_names_counter_families_with_total_and_has_no_eof() {
        let metrics = Metrics::new();
        metrics.error(&ErrorLabels {
            fatal: "false",
            request_operation: "update".into(),
            resource: "pod",
            subresource: "ephemeralcontainers".into(),
        });
        metrics.request_finished(200, Duration::from_micros(300));
        metrics.certificate_reloaded(true);
        let openmetrics = metrics.encode(Format::OpenMetrics);
        let text = metrics.encode(Format::Text);

        assert_eq!(
            parse_text_format(&text),
            [
                ("pod_security_evaluations_total", "counter"),
                ("pod_security_exemptions_total", "counter"),
                ("pod_security_errors_total", "counter"),
                ("podsec_webhook_request_duration_seconds", "histogram"),
                ("podsec_webhook_certificate_reloads_total", "counter"),
            ]
            .map(|(n, k)| (n.to_owned(), k.to_owned()))
        );
        // Upstream's HELP texts, unchanged, under the sample names.
        assert!(text.starts_with("# HELP pod_security_evaluations_total [ALPHA] Number of policy evaluations that occurred, not counting ignored or exempt requests.\n# TYPE pod_security_evaluations_total counter\n"), "{text}");
        assert!(text.contains("# HELP pod_security_exemptions_total [ALPHA] Number of exempt requests, not counting ignored or out of scope requests.\n# TYPE pod_security_exemptions_total counter\n"), "{text}");
        assert!(text.contains("# HELP pod_security_errors_total [ALPHA] Number of errors preventing normal evaluation. Non-fatal errors may result in the latest restricted profile being used for evaluation.\n# TYPE pod_security_errors_total counter\n"), "{text}");
        assert!(text.contains("# HELP podsec_webhook_request_duration_seconds Time from the end of the request headers to the admission response, by HTTP status code.\n# TYPE podsec_webhook_request_duration_seconds histogram\n"), "{text}");
        assert!(
            !text.contains("# EOF") && !text.contains("# UNIT"),
            "{text}"
        );
        // The samples are the OpenMetrics ones, line for line.
        let samples = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(samples(&text), samples(&openmetrics));
        assert!(text.contains("pod_security_errors_total{fatal=\"false\",request_operation=\"update\",resource=\"pod\",subresource=\"ephemeralcontainers\"} 1\n"), "{text}");
        // The OpenMetrics exposition keeps its own family names and end marker.
        assert!(openmetrics.contains("# TYPE pod_security_evaluations counter\n"));
        assert!(openmetrics.ends_with("# EOF\n"));
    }

    #[test]
    fn the_text_format_of_a_unit_and_an_unknown_family() {
        let openmetrics = "# HELP a_seconds A.\n# TYPE a_seconds counter\n# UNIT a_seconds seconds\na_seconds_total 1\n\
                           # HELP b B.\n# TYPE b unknown\nb 2\n# HELP c C.\n# TYPE c gauge\nc{x=\"# TYPE\"} 3\n# EOF\n";
        assert_eq!(
            text_format(openmetrics),
            "# HELP a_seconds_total A.\n# TYPE a_seconds_total counter\na_seconds_total 1\n\
             # HELP b B.\n# TYPE b untyped\nb 2\n# HELP c C.\n# TYPE c gauge\nc{x=\"# TYPE\"} 3\n"
        );
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
        let text = metrics.encode(Format::OpenMetrics);
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
                .encode(Format::OpenMetrics)
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
        let text = by_events.encode(Format::OpenMetrics);
        assert_eq!(
            sorted(&text),
            sorted(&by_labels.encode(Format::OpenMetrics))
        );
        assert!(text.contains("pod_security_evaluations_total{decision=\"deny\",mode=\"audit\",policy_level=\"restricted\",policy_version=\"v1.69\",request_operation=\"create\",resource=\"pod\",subresource=\"\"} 1\n"), "{text}");
        assert!(text.contains("pod_security_errors_total{fatal=\"false\",request_operation=\"create\",resource=\"pod\",subresource=\"ephemeralcontainers\"} 2\n"), "{text}");
        assert!(
            text.contains("podsec_webhook_request_duration_seconds_count{code=\"200\"} 2\n"),
            "{text}"
        );
    }
}
