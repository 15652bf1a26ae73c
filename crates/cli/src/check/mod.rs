//! `podsec check`: read manifests, judge every workload as the API server's Pod Security
//! Admission would, and report.
//!
//! Two passes over the input: the first collects cluster state ([`state`]: Namespaces,
//! PodSecurityPolicies, RBAC), the second judges ([`judge`], [`psp`]) and streams each verdict to
//! the output as soon as it is known, so memory does not grow with the number of documents.

mod judge;
mod psp;
mod state;

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use podsec_admission::config::{Exemptions, load_configuration};
use podsec_admission::object::{ListOf, ObjectSeed};
use podsec_admission::policy::ENFORCE_LEVEL_LABEL;
use podsec_admission::review::GroupVersionKind;
use podsec_admission::{AdmissionRequest, Object, Policy};
use podsec_pss::{Evaluator, Level, LevelVersion, Version};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::args::CheckArgs;
use crate::input::{self, DecodeError, Document, InputError, Parsed};
use crate::output;
use crate::report::{Decision, ErrorReport, ObjectReport, PolicySource, Summary, item_prefix};
use judge::{Judge, Location};
use psp::{PspAdmission, ReviewRequest, requesting_user};
use state::ClusterState;

/// The text report lists the fields a PodSecurityPolicy defaults.
pub use psp::defaulted_fields;

/// Exit status when at least one object would be denied.
const EXIT_DENIED: u8 = 1;

/// The context of a write error. A reader that goes away (`podsec check … | head`) is not one:
/// the sink then discards the rest of the report ([`output::UntilClosed`]) and the judging goes
/// on, so that the exit status still tells the verdicts.
const WRITING: &str = "writing the report";

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let (label_defaults, unlabelled, unlabelled_source, exemptions) = match &args.config {
        Some(path) => {
            let (defaults, exemptions) = load_config(path)?;
            (defaults, defaults, PolicySource::Config, exemptions)
        }
        None => (
            Policy::PRIVILEGED,
            built_in_default(),
            PolicySource::BuiltIn,
            Exemptions::default(),
        ),
    };
    let forced = args.level.map(|level| {
        LevelVersion::new(
            Level::from(level),
            args.policy_version.unwrap_or(Version::Latest),
        )
    });

    // Standard input can be read only once; keep a copy for the two passes.
    let stdin_copy = if args.paths.iter().any(|p| p == "-") {
        Some(StdinCopy::take().context("reading standard input")?)
    } else {
        None
    };
    let paths: Vec<String> = args
        .paths
        .iter()
        .map(|p| match (&stdin_copy, p.as_str()) {
            (Some(copy), "-") => copy.path(),
            _ => p.clone(),
        })
        .collect();
    let display_source = |source: &Arc<str>| -> String {
        match &stdin_copy {
            Some(copy) if **source == *copy.path() => "-".to_owned(),
            _ => source.to_string(),
        }
    };

    // Even under --level, the first pass runs: a PodSecurityPolicy anywhere turns PSP on.
    let state = ClusterState::read(&paths, forced.is_none());
    let psp_on = args.psp || state.has_policy_documents;
    let psp = psp_on.then(|| PspAdmission {
        policies: state.policies.policies().cloned().collect(),
        authorizer: &state.rbac,
        user: requesting_user(args.as_user.as_deref(), &args.as_groups),
        style: args.psp_messages.into(),
    });
    let judge = Judge {
        evaluator: Evaluator::default(),
        forced,
        label_defaults,
        unlabelled,
        unlabelled_source,
        exemptions,
        user: args.as_user.as_deref(),
        default_namespace: &args.namespace,
        state: &state,
        psp,
        policies: Default::default(),
    };

    let stdout = io::stdout().lock();
    let mut sink = output::sink(args.output, args.color, stdout);
    let mut summary = Summary::default();
    // Unusable RBAC objects only matter when PodSecurityPolicy consults them.
    let rbac_errors = if psp_on { &state.rbac_errors[..] } else { &[] };
    for error in state.policy_errors.iter().chain(rbac_errors) {
        summary.errors += 1;
        let report = ErrorReport {
            source: display_source(&error.source),
            document: Some(error.document),
            field: None,
            message: error.message.clone(),
        };
        sink.error(&report).context(WRITING)?;
    }
    for document in input::read_documents(&paths) {
        let result = document
            .map_err(|e| input_error(&e, &display_source))
            .and_then(|doc| {
                let decoded = decode(&doc, &display_source);
                let parsed = decoded.as_ref().ok().map(|(_, parsed)| *parsed);
                let decoded = decoded.map(|(object, _)| object);
                let is_review = matches!(&decoded, Ok(o) if o.kind == "AdmissionReview");
                if is_review || decoded.is_err() {
                    // An AdmissionReview or a bare AdmissionRequest (as webhook test data
                    // holds them): judge the object it carries.
                    let source = display_source(&doc.source);
                    if let Some(payload) = admission_payload(&doc, &judge, &source) {
                        return match payload.map_err(|(field, message)| ErrorReport {
                            source,
                            document: Some(doc.index),
                            field,
                            message,
                        })? {
                            Payload::Object(object, json, request) => {
                                Ok(ToJudge::Object(doc, object, json, None, Some(request)))
                            }
                            Payload::Nothing(report) => Ok(ToJudge::Decided(report)),
                        };
                    }
                }
                let object = decoded?;
                // The second decoding PodSecurityPolicy needs; the lean one serves the rest.
                // (A list's items are read later, one at a time: see `judge_list`.)
                let json = if judge.needs_json(&object) {
                    Some(decode_as::<Value>(&doc, &display_source)?)
                } else {
                    None
                };
                Ok(ToJudge::Object(doc, object, json, parsed, None))
            });
        match result {
            Ok(ToJudge::Object(doc, object, json, parsed, request)) => {
                let source = display_source(&doc.source);
                let at = Location {
                    source: &source,
                    document: doc.index,
                    item: &[],
                };
                let mut write_error = None;
                let mut out = |found: Found| match found {
                    Found::Object(report) => {
                        summary.record(report.decision);
                        if let Err(e) = sink.object(&report) {
                            write_error.get_or_insert(e);
                        }
                    }
                    Found::Error(report) => {
                        summary.errors += 1;
                        if let Err(e) = sink.error(&report) {
                            write_error.get_or_insert(e);
                        }
                    }
                };
                match (parsed, ListOf::of(&object)) {
                    (Some(parsed), Some(list)) => {
                        judge_list(&judge, &doc, &list, parsed, at, &mut out)
                    }
                    _ => judge.judge(
                        &object,
                        json.as_ref(),
                        request.as_ref(),
                        at,
                        &mut |report| {
                            out(Found::Object(report));
                        },
                    ),
                }
                if let Some(e) = write_error {
                    return Err(e).context(WRITING);
                }
            }
            Ok(ToJudge::Decided(report)) => {
                summary.record(report.decision);
                sink.object(&report).context(WRITING)?;
            }
            Err(error) => {
                summary.errors += 1;
                sink.error(&error).context(WRITING)?;
            }
        }
    }
    sink.finish(&summary).context(WRITING)?;
    Ok(exit_code(&summary))
}

/// Scripts rely on these: 2 when anything could not be read, else 1 when anything is denied.
fn exit_code(summary: &Summary) -> ExitCode {
    if summary.errors > 0 {
        ExitCode::from(crate::EXIT_ERROR)
    } else if summary.denied > 0 {
        ExitCode::from(EXIT_DENIED)
    } else {
        ExitCode::SUCCESS
    }
}

/// What judging a list item gives: a report, or the item's input error.
#[expect(
    clippy::large_enum_variant,
    reason = "made once per item and handed straight to the sink; boxing would allocate per item"
)]
enum Found {
    Object(ObjectReport),
    Error(ErrorReport),
}

/// Judges the items of the list `doc` holds, one at a time as they are read
/// ([`input::for_each_item`]). An item that cannot be decoded is an input error naming the
/// item; the others are judged.
fn judge_list(
    judge: &Judge<'_>,
    doc: &Document,
    list: &ListOf,
    parsed: Parsed,
    at: Location<'_>,
    out: &mut dyn FnMut(Found),
) {
    // A YAML document is not cut into items, so the value PodSecurityPolicy needs is taken
    // from the whole document, decoded once when an item needs it. (JSON items come with it.)
    // When that decoding fails, the items that need it are input errors: judging them without
    // PodSecurityPolicy would admit what it may deny. The failure itself is told once, with
    // the first such item; the others point back to it rather than repeat its position as
    // if it were theirs.
    let mut whole: Option<Result<Value, DecodeError>> = None;
    let mut whole_failure_told = false;
    let item_error = |path: &[usize], error: &DecodeError| {
        let place = error.location();
        let item = item_prefix(path);
        Found::Error(ErrorReport {
            source: at.source.to_owned(),
            document: Some(error.document),
            field: error.field.clone(),
            message: format!("{item}{place}{}", error.message),
        })
    };
    let mut on_item = |path: &[usize], result: input::ItemResult| match result {
        Ok((mut item, mut json)) => {
            item.apply_api_defaults();
            if json.is_none() && parsed == Parsed::Yaml && judge.needs_json(&item) {
                match whole.get_or_insert_with(|| input::decode::<Value>(doc)) {
                    Ok(value) => json = item_at(value, path).cloned(),
                    Err(error) if !whole_failure_told => {
                        whole_failure_told = true;
                        return out(item_error(path, error));
                    }
                    Err(error) => {
                        return out(Found::Error(ErrorReport {
                            source: at.source.to_owned(),
                            document: Some(error.document),
                            field: None,
                            message: format!(
                                "{}not checked: PodSecurityPolicy reads the document as JSON, and decoding it failed (the error above)",
                                item_prefix(path)
                            ),
                        }));
                    }
                }
            }
            let at = Location { item: path, ..at };
            judge.judge(&item, json.as_ref(), None, at, &mut |report| {
                out(Found::Object(report));
            });
        }
        Err(error) => out(item_error(path, &error)),
    };
    input::for_each_item(
        doc,
        list,
        parsed,
        &|item| judge.needs_json(item),
        &mut on_item,
    );
}

/// The item at `path` in a list document as a JSON value.
fn item_at<'v>(value: &'v Value, path: &[usize]) -> Option<&'v Value> {
    path.iter()
        .try_fold(value, |list, &index| list.get("items")?.get(index))
}

/// What a document gives to judge.
#[expect(
    clippy::large_enum_variant,
    reason = "the large variant is the common one, made once per document and moved once; boxing it would allocate per document"
)]
enum ToJudge {
    /// An object, with its JSON when PodSecurityPolicy needs it, the parser that read
    /// the document (`None` for the object of an admission payload), and for that object what
    /// its request says.
    Object(
        Document,
        Object,
        Option<Value>,
        Option<Parsed>,
        Option<ReviewRequest>,
    ),
    /// Nothing to judge; the report says why.
    Decided(ObjectReport),
}

/// What an admission payload (an AdmissionReview, or a bare AdmissionRequest) gives to judge.
#[expect(
    clippy::large_enum_variant,
    reason = "the large variant is the common one, made once per document and moved once"
)]
enum Payload {
    /// The object it carries, in the request's namespace when it names none, its JSON when
    /// PodSecurityPolicy needs it, and what the request says for PodSecurityPolicy.
    Object(Object, Option<Value>, ReviewRequest),
    /// A request without an object (a DELETE, a CONNECT): skipped, as upstream does not judge
    /// those operations either.
    Nothing(ObjectReport),
}

/// The payload of an AdmissionReview or a bare AdmissionRequest; `None` when the document is
/// not one, an error (the field when known, and the message) when its object cannot be
/// decoded. `source` names the input in reports.
fn admission_payload(
    doc: &Document,
    judge: &Judge<'_>,
    source: &str,
) -> Option<Result<Payload, (Option<String>, String)>> {
    let request = podsec_admission::review::request_from_slice(doc.text.as_bytes()).ok()?;
    let Some(raw) = &request.object else {
        // Every member of a request may be absent, so any mapping decodes as one; only one that
        // says what it asks is taken for a request.
        if request.operation.is_empty() || request.kind.kind.is_empty() {
            return None;
        }
        return Some(Ok(Payload::Nothing(without_object(&request, doc, source))));
    };
    // The object is decoded from its own text, so its errors are placed in that text; decoded
    // again where it is written, the error is placed in the file.
    // The field, when known, is the path from the document (`request.object.spec…`), which
    // says whose it is.
    let object_error = |error: serde_json::Error, kind: Option<&GroupVersionKind>| {
        let prefix = "the AdmissionRequest's object: ";
        match input::decode_seed(doc, RequestObject { kind }) {
            Err(located) if located.field.is_some() => {
                let message = format!("{}{}", located.location(), located.message);
                (located.field, message)
            }
            Err(located) => match located.position {
                Some(position) => (None, format!("{position}: {prefix}{}", located.message)),
                None => (None, format!("{prefix}{}", located.message)),
            },
            // Read in place it decodes (YAML may read a scalar as the string it wants): the
            // error without its position, which is in a copy the user never sees.
            Ok(_) => (None, format!("{prefix}{}", without_json_position(&error))),
        }
    };
    let decode = || -> Result<Payload, (Option<String>, String)> {
        let mut object: Object =
            serde_json::from_str(raw.get()).map_err(|e| object_error(e, None))?;
        if object.kind.is_empty() {
            // The object itself may omit its kind; the request names it.
            object = Object::from_request_json(raw.get(), &request.kind)
                .map_err(|e| object_error(e, Some(&request.kind)))?;
            object.kind.clone_from(&request.kind.kind);
            object.api_version = request.kind.api_version();
        }
        if object.metadata.namespace().is_none_or(str::is_empty) && !request.namespace.is_empty() {
            object.metadata.meta.namespace = Some(request.namespace.as_str().into());
        }
        object.apply_api_defaults();
        let json = if judge.needs_json(&object) {
            let mut value: Value =
                serde_json::from_str(raw.get()).map_err(|e| object_error(e, None))?;
            if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut)
                && !meta.contains_key("namespace")
                && !request.namespace.is_empty()
            {
                meta.insert("namespace".into(), request.namespace.clone().into());
            }
            Some(value)
        } else {
            None
        };
        let review = ReviewRequest::new(
            &request.operation,
            &request.sub_resource,
            // Only PodSecurityPolicy (on when the JSON is wanted) reads the old object.
            request
                .old_object
                .as_ref()
                .filter(|_| json.is_some())
                .map(|raw| raw.get()),
            &request.user_info.username,
            &request.user_info.groups,
        );
        Ok(Payload::Object(object, json, review))
    };
    Some(decode())
}

/// The report on a request that carries no object: skipped, named as the request names it.
fn without_object(request: &AdmissionRequest, doc: &Document, source: &str) -> ObjectReport {
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    ObjectReport {
        source: source.to_owned(),
        document: doc.index,
        item: None,
        item_path: None,
        api_version: request.kind.api_version(),
        kind: request.kind.kind.clone(),
        namespace: non_empty(&request.namespace),
        name: non_empty(&request.name),
        generate_name: None,
        decision: Decision::Skipped,
        reason: Some(format!(
            "the {} request carries no object to judge",
            request.operation
        )),
        template_path: None,
        policy: None,
        evaluations: Vec::new(),
    }
}

/// serde_json's message without its ` at line L column C`.
fn without_json_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&suffix) {
        Some(stripped) => stripped.to_owned(),
        None => message,
    }
}

/// In an AdmissionReview (`request.object`) or a bare AdmissionRequest (`object`), decodes the
/// object alone, as [`admission_payload`] does from the object's text (by the request's kind
/// when `kind` is given), so that its errors are placed in the document; the rest is skipped.
#[derive(Clone, Copy)]
struct RequestObject<'k> {
    kind: Option<&'k GroupVersionKind>,
}

impl<'de> DeserializeSeed<'de> for RequestObject<'_> {
    type Value = Option<Object>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        // A `request: null` is no request, as the decoder of the review takes it.
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for RequestObject<'_> {
    type Value = Option<Object>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an AdmissionReview or an AdmissionRequest")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "request" => found = found.or(map.next_value_seed(self)?),
                "object" => {
                    found = Some(match self.kind {
                        Some(kind) => map.next_value_seed(ObjectSeed::new(kind))?,
                        None => map.next_value::<Object>()?,
                    })
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

/// Decodes a document by its own kind, a list's items left for [`judge_list`]. A document
/// written as JSON (a `.json` input, `kubectl get -o json`, or YAML in flow style) is first
/// read on the fast JSON path, which decodes only what the checks read
/// ([`input::decode_without_items`]).
fn decode(
    doc: &Document,
    display_source: &dyn Fn(&Arc<str>) -> String,
) -> Result<(Object, Parsed), ErrorReport> {
    let (mut object, parsed) =
        input::decode_without_items(doc).map_err(|e| decode_error(&e, display_source))?;
    object.apply_api_defaults();
    Ok((object, parsed))
}

fn decode_as<'d, T: serde::Deserialize<'d>>(
    doc: &'d Document,
    display_source: &dyn Fn(&Arc<str>) -> String,
) -> Result<T, ErrorReport> {
    input::decode(doc).map_err(|e| decode_error(&e, display_source))
}

fn decode_error(e: &DecodeError, display_source: &dyn Fn(&Arc<str>) -> String) -> ErrorReport {
    ErrorReport {
        source: display_source(&e.file),
        document: Some(e.document),
        field: e.field.clone(),
        message: format!("{}{}", e.location(), e.message),
    }
}

fn input_error(error: &InputError, display_source: &dyn Fn(&Arc<str>) -> String) -> ErrorReport {
    let message = match error {
        InputError::Unreadable { error, .. } => error.to_string(),
        InputError::Malformed {
            position, problem, ..
        } => format!("{position}: {problem}"),
    };
    ErrorReport {
        source: display_source(&Arc::from(error.file())),
        document: error.document(),
        field: None,
        message,
    }
}

/// As if every namespace were labelled `pod-security.kubernetes.io/enforce: restricted`
/// (so warn follows enforce, as upstream), over privileged defaults.
fn built_in_default() -> Policy {
    let labels = [(ENFORCE_LEVEL_LABEL.to_owned(), "restricted".to_owned())].into();
    Policy::from_labels(&labels, Policy::PRIVILEGED).0
}

fn load_config(path: &Path) -> anyhow::Result<(Policy, Exemptions)> {
    let bytes = std::fs::read(path).with_context(|| format!("--config {}", path.display()))?;
    let base_dir = path.parent().unwrap_or(Path::new("."));
    let config = load_configuration(&bytes, base_dir, &mut |p| std::fs::read(p))
        .with_context(|| format!("--config {}", path.display()))?;
    let (policy, exemptions) = config
        .complete()
        .with_context(|| format!("--config {}", path.display()))?;
    Ok((policy, exemptions))
}

/// Standard input saved to a temporary file, so that both passes can read it.
struct StdinCopy {
    file: tempfile::NamedTempFile,
}

impl StdinCopy {
    fn take() -> io::Result<Self> {
        let mut file = tempfile::NamedTempFile::new()?;
        io::copy(&mut io::stdin().lock(), &mut file)?;
        file.flush()?;
        Ok(StdinCopy { file })
    }

    fn path(&self) -> String {
        self.file.path().to_string_lossy().into_owned()
    }
}
