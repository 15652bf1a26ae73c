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
use podsec_admission::policy::ENFORCE_LEVEL_LABEL;
use podsec_admission::{Object, Policy};
use podsec_pss::{Evaluator, Level, LevelVersion, Version};
use serde_json::Value;

use crate::args::CheckArgs;
use crate::input::{self, Document, InputError};
use crate::output;
use crate::report::{ErrorReport, PolicySource, Summary};
use judge::{Judge, Location};
use psp::{PspAdmission, requesting_user};
use state::ClusterState;

/// The text report lists the fields a PodSecurityPolicy defaults.
pub use psp::defaulted_fields;

/// Exit status when at least one object would be denied.
const EXIT_DENIED: u8 = 1;

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
            message: error.message.clone(),
        };
        if let Err(e) = sink.error(&report) {
            return broken_pipe_or(e);
        }
    }
    for document in input::read_documents(&paths) {
        let result = document
            .map_err(|e| input_error(&e, &display_source))
            .and_then(|doc| {
                let decoded = decode(&doc, &display_source);
                let is_review = matches!(&decoded, Ok(o) if o.kind == "AdmissionReview");
                if is_review || decoded.is_err() {
                    // An AdmissionReview or a bare AdmissionRequest (as webhook test data
                    // holds them): judge the object it carries.
                    if let Some(payload) = admission_payload(&doc, &judge) {
                        let (object, json) = payload.map_err(|message| ErrorReport {
                            source: display_source(&doc.source),
                            document: Some(doc.index),
                            message,
                        })?;
                        return Ok((doc, object, json));
                    }
                }
                let object = decoded?;
                // The second decoding PodSecurityPolicy needs; the lean one serves the rest.
                let json = if judge.needs_json(&object) {
                    Some(decode_as::<Value>(&doc, &display_source)?)
                } else {
                    None
                };
                Ok((doc, object, json))
            });
        match result {
            Ok((doc, object, json)) => {
                let source = display_source(&doc.source);
                let at = Location {
                    source: &source,
                    document: doc.index,
                    item: None,
                };
                let mut write_error = None;
                judge.judge(&object, json.as_ref(), at, &mut |report| {
                    summary.record(report.decision);
                    if let Err(e) = sink.object(&report) {
                        write_error.get_or_insert(e);
                    }
                });
                if let Some(e) = write_error {
                    return broken_pipe_or(e);
                }
            }
            Err(error) => {
                summary.errors += 1;
                if let Err(e) = sink.error(&error) {
                    return broken_pipe_or(e);
                }
            }
        }
    }
    if let Err(e) = sink.finish(&summary) {
        return broken_pipe_or(e);
    }
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

/// `podsec check … | head` must end quietly when the reader goes away.
fn broken_pipe_or(error: io::Error) -> anyhow::Result<ExitCode> {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(error).context("writing the report")
    }
}

/// The object inside an admission payload, in the request's namespace when it names none;
/// `None` when the document is not a payload carrying an object.
fn admission_payload(
    doc: &Document,
    judge: &Judge<'_>,
) -> Option<Result<(Object, Option<Value>), String>> {
    let request = podsec_admission::review::request_from_slice(doc.text.as_bytes()).ok()?;
    let raw = request.object?;
    let decode = || -> Result<(Object, Option<Value>), String> {
        let mut object: Object = serde_json::from_str(raw.get())
            .map_err(|e| format!("the AdmissionRequest's object: {e}"))?;
        if object.kind.is_empty() {
            // The object itself may omit its kind; the request names it.
            object = Object::from_request_json(raw.get(), &request.kind)
                .map_err(|e| format!("the AdmissionRequest's object: {e}"))?;
            object.kind.clone_from(&request.kind.kind);
            object.api_version = match request.kind.group.as_str() {
                "" => request.kind.version.clone(),
                group => format!("{group}/{}", request.kind.version),
            };
        }
        if object.metadata.namespace().is_none_or(str::is_empty) && !request.namespace.is_empty() {
            object.metadata.meta.namespace = Some(request.namespace.as_str().into());
        }
        object.apply_api_defaults();
        let json = if judge.needs_json(&object) {
            let mut value: Value = serde_json::from_str(raw.get())
                .map_err(|e| format!("the AdmissionRequest's object: {e}"))?;
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
        Ok((object, json))
    };
    Some(decode())
}

fn decode(
    doc: &Document,
    display_source: &dyn Fn(&Arc<str>) -> String,
) -> Result<Object, ErrorReport> {
    let mut object: Object = match decode_json_fast(doc) {
        Some(object) => object,
        None => decode_as(doc, display_source)?,
    };
    object.apply_api_defaults();
    Ok(object)
}

/// A document written as JSON (a `.json` input, `kubectl get -o json`, or YAML in flow style)
/// is first read on the fast JSON path, which decodes only what the checks read. When it
/// declines, [`decode_as`] reads the document and gives the exact value or error.
fn decode_json_fast(doc: &Document) -> Option<Object> {
    doc.looks_like_json()
        .then(|| Object::from_json_fast(doc.text.as_bytes()))
        .flatten()
}

fn decode_as<'d, T: serde::Deserialize<'d>>(
    doc: &'d Document,
    display_source: &dyn Fn(&Arc<str>) -> String,
) -> Result<T, ErrorReport> {
    input::decode(doc).map_err(|e| ErrorReport {
        source: display_source(&e.file),
        document: Some(e.document),
        message: match e.position {
            Some(position) => format!("{position}: {}", e.message),
            None => e.message.clone(),
        },
    })
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
