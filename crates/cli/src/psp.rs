//! `podsec psp`: PodSecurityPolicy tools (`list`, `convert`), and the reading of policies from
//! manifests that `podsec check` shares.
//!
//! A policy in a manifest counts as the API server would have stored it: decoded with the
//! v1beta1 defaulting, and only if object validation accepts it (an invalid one would have been
//! refused by `kubectl apply`, so it is reported with the API server's message instead). When
//! two documents define the same name, the later one counts, as with `kubectl apply`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;

use podsec_admission::list_item::{is_list, list_item};
use podsec_psp::field_error::go_quote;
use podsec_psp::{FieldError, PodSecurityPolicy, render_policy_table, validate_policy};
use serde_json::Value;

use crate::args::PspCommand;
use crate::input;
use crate::output::UntilClosed;
use crate::report::ItemPath;

pub fn run(command: PspCommand) -> anyhow::Result<ExitCode> {
    match command {
        PspCommand::List { paths } => list(&paths),
        PspCommand::Convert { paths } => convert(&paths),
    }
}

/// The API versions `convert` rewrites (the two upstream served), and what they become: the
/// group and version the webhook's CRD serves (`deploy/psp/crd.yaml`).
const SERVED_VERSIONS: [&str; 2] = ["policy/v1beta1", "extensions/v1beta1"];
const CRD_VERSION: &str = "policy.podsec.dev/v1beta1";

/// `podsec psp convert`: every document to standard output, PodSecurityPolicies with the API
/// version of the webhook's CRD.
fn convert(paths: &[String]) -> anyhow::Result<ExitCode> {
    let mut errors = 0usize;
    // A reader that goes away (`… | head`) does not end the run: the exit status still tells
    // whether every document converted.
    let mut stdout = io::BufWriter::new(UntilClosed::new(io::stdout().lock()));
    let mut stream = Stream::default();
    // Every line of the input is in some document's text (comments before a document too), so
    // that what is not converted is written out as it was.
    for document in input::read_documents_as_written(paths) {
        let document = match document {
            Ok(document) => document,
            Err(error) => {
                errors += 1;
                let _ = writeln!(
                    io::stderr(),
                    "error: {}: {}",
                    error.file(),
                    error_without_file(&error)
                );
                continue;
            }
        };
        let converted = if document.text.contains(POLICY_KIND) {
            match input::decode::<Value>(&document) {
                Ok(value) => convert_document(&document, value)?,
                Err(error) => {
                    errors += 1;
                    let _ = writeln!(io::stderr(), "error: {error}");
                    None
                }
            }
        } else {
            None
        };
        let text = converted.as_deref().unwrap_or(&document.text);
        stream.write(&mut stdout, text).context(WRITING)?;
    }
    stdout.flush().context(WRITING)?;
    Ok(if errors > 0 {
        ExitCode::from(crate::EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}

/// The converted text of a document, `None` when it holds no policy to convert.
fn convert_document(
    document: &input::Document,
    mut value: Value,
) -> anyhow::Result<Option<String>> {
    let mut rewritten = Rewritten::default();
    rewrite_policies(&mut value, true, &mut rewritten);
    if !rewritten.top && !rewritten.nested {
        return Ok(None);
    }
    // A block-YAML policy (or typed list of policies whose items inherit its version) keeps its
    // text (and comments): only its apiVersion line changes.
    if !rewritten.nested
        && document.format == input::Format::Yaml
        && let Some(text) = replace_api_version_line(&document.text)
    {
        return Ok(Some(text));
    }
    Ok(Some(serde_saphyr::to_string(&value)?))
}

fn is_served_policy(value: &Value) -> bool {
    value.get("kind").and_then(Value::as_str) == Some(POLICY_KIND)
        && value
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|version| SERVED_VERSIONS.contains(&version))
}

/// A typed list of policies in a served version.
fn is_served_policy_list(value: &Value) -> bool {
    PodSecurityPolicy::is_policy_list(value)
        && value
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|version| SERVED_VERSIONS.contains(&version))
}

/// Where [`rewrite_policies`] set the CRD's version.
#[derive(Debug, Default)]
struct Rewritten {
    /// On the document itself (a policy, or a typed list of them).
    top: bool,
    /// On objects inside it.
    nested: bool,
}

/// Sets the CRD's API version on the policies of a document or of its list items. A typed list
/// of policies (`PodSecurityPolicyList`) gets it too: its items that name no apiVersion are
/// policies of the list's version ([`list_item`]), so they follow it.
fn rewrite_policies(value: &mut Value, top: bool, rewritten: &mut Rewritten) {
    let typed_list = is_served_policy_list(value);
    if typed_list || is_served_policy(value) {
        value["apiVersion"] = Value::from(CRD_VERSION);
        if top {
            rewritten.top = true;
        } else {
            rewritten.nested = true;
        }
        if !typed_list {
            return;
        }
    }
    let Some(items) = value.get_mut("items").and_then(Value::as_array_mut) else {
        return;
    };
    for item in items {
        // An item of a typed list that names no kind but a served version of its own.
        let unnamed_kind = item
            .get("kind")
            .is_none_or(|kind| kind.is_null() || kind.as_str() == Some(""));
        let own_version = item
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|version| SERVED_VERSIONS.contains(&version));
        if typed_list && unnamed_kind && own_version {
            item["apiVersion"] = Value::from(CRD_VERSION);
            rewritten.nested = true;
        } else {
            rewrite_policies(item, false, rewritten);
        }
    }
}

/// The text with its one top-level `apiVersion: policy/v1beta1` (or `extensions/v1beta1`) line
/// rewritten (quotes and a trailing comment allowed); `None` unless there is exactly one such
/// line.
fn replace_api_version_line(text: &str) -> Option<String> {
    let mut found = None;
    for (start, line) in line_starts(text) {
        let Some(rest) = line.strip_prefix("apiVersion:") else {
            continue;
        };
        let value = rest.split(" #").next().unwrap_or_default().trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        let version = SERVED_VERSIONS.into_iter().find(|v| *v == value)?;
        if found.is_some() {
            return None;
        }
        let offset = start + "apiVersion:".len() + rest.find(version)?;
        found = Some(offset..offset + version.len());
    }
    let mut converted = text.to_owned();
    converted.replace_range(found?, CRD_VERSION);
    Some(converted)
}

/// Each line of `text` with the byte offset where it starts.
fn line_starts(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |start, line| {
        let this = *start;
        *start += line.len();
        Some((this, line.trim_end_matches(['\n', '\r'])))
    })
}

/// The YAML stream on standard output, written one document text at a time.
#[derive(Debug, Default)]
struct Stream {
    /// Whether a document was written.
    started: bool,
    /// Whether the last document written ended with a `...` line.
    ended: bool,
}

impl Stream {
    /// Writes one document as its text is, separated from the one before only where YAML
    /// needs it: a document without its own `---` line gets one before its text (not the
    /// first, nor after a `...` line: the output of one file is then that file), and
    /// directives get a `...` line before them, as a document with directives may only follow
    /// an ended one.
    fn write(&mut self, out: &mut impl Write, text: &str) -> io::Result<()> {
        if self.started {
            match input::opening(text) {
                input::Opening::Marker => {}
                // After `...` a document may start bare or with directives.
                _ if self.ended => {}
                input::Opening::Directives => out.write_all(b"...\n")?,
                input::Opening::Bare => out.write_all(b"---\n")?,
            }
        }
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        self.started = true;
        self.ended = input::closes(text);
        Ok(())
    }
}

const WRITING: &str = "writing to standard output";

/// `podsec psp list`: the table of `kubectl get psp`, problems on standard error.
fn list(paths: &[String]) -> anyhow::Result<ExitCode> {
    let mut policies = PolicySet::default();
    let mut errors = 0usize;
    let stderr = io::stderr();
    let mut report = |place: String, message: &dyn std::fmt::Display| {
        errors += 1;
        let _ = writeln!(stderr.lock(), "error: {place}: {message}");
    };
    for document in input::read_documents(paths) {
        let document = match document {
            Ok(document) => document,
            Err(error) => {
                report(error.file().to_owned(), &error_without_file(&error));
                continue;
            }
        };
        let place = format!("{}: document {}", document.source, document.index);
        // Only documents that can hold a policy are parsed.
        if !document.text.contains(POLICY_KIND) {
            continue;
        }
        match input::decode::<Value>(&document) {
            Ok(value) => for_each_object(&value, &mut |object, item| {
                if PodSecurityPolicy::has_policy_kind(object)
                    && let Err(message) = policies.add(object)
                {
                    report(item_place(&place, item), &message);
                }
            }),
            Err(error) => {
                let message = match error.position {
                    Some(position) => format!("{position}: {}", error.message),
                    None => error.message,
                };
                report(place, &message);
            }
        }
    }
    let listed: Vec<PodSecurityPolicy> = policies.policies().cloned().collect();
    // A reader that goes away (`… | head`) does not hide the errors from the exit status.
    let mut stdout = UntilClosed::new(io::stdout().lock());
    if listed.is_empty() {
        // kubectl's words when a list is empty, on standard error as kubectl writes them.
        writeln!(UntilClosed::new(io::stderr()), "No resources found").context(WRITING)?;
    } else {
        stdout
            .write_all(render_policy_table(&listed).as_bytes())
            .and_then(|()| stdout.flush())
            .context(WRITING)?;
    }
    Ok(if errors > 0 {
        ExitCode::from(crate::EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}

/// The message of an input error without its leading file name (the caller prints that).
fn error_without_file(error: &input::InputError) -> String {
    match error {
        input::InputError::Unreadable { error, .. } => error.to_string(),
        input::InputError::Malformed {
            document,
            position,
            problem,
            ..
        } => format!("document {document}: {position}: {problem}"),
    }
}

/// The kind of PodSecurityPolicy objects, also the cheap text test for documents worth parsing.
pub const POLICY_KIND: &str = "PodSecurityPolicy";

/// `place`, with the item of a list when there is one.
pub fn item_place(place: &str, item: &[usize]) -> String {
    if item.is_empty() {
        place.to_owned()
    } else {
        format!("{place}: item {}", ItemPath(item))
    }
}

/// Calls `f` with every object of a decoded document: the document itself, or the items of a
/// `kind: List` (or any `*List`, completed by [`list_item`]), with their path (`[1, 0]` for the
/// first item of the list that is item 1; empty for the document itself).
pub fn for_each_object(value: &Value, f: &mut dyn FnMut(&Value, &[usize])) {
    walk_objects(value, &mut Vec::new(), f);
}

fn walk_objects(value: &Value, path: &mut Vec<usize>, f: &mut dyn FnMut(&Value, &[usize])) {
    match value.get("items").and_then(Value::as_array) {
        Some(items) if value.as_object().is_some_and(is_list) => {
            for (i, object) in items.iter().enumerate() {
                path.push(i);
                walk_objects(&list_item(value, object), path, f);
                path.pop();
            }
        }
        _ => f(value, path),
    }
}

/// The PodSecurityPolicies of the input, by name.
#[derive(Debug, Default)]
pub struct PolicySet {
    by_name: BTreeMap<String, PodSecurityPolicy>,
}

impl PolicySet {
    /// Adds a document of kind PodSecurityPolicy; the error is the API server's refusal.
    pub fn add(&mut self, object: &Value) -> Result<(), String> {
        let policy = PodSecurityPolicy::from_value(object).map_err(|e| e.to_string())?;
        let errors = validate_policy(&policy);
        if !errors.is_empty() {
            let group = object
                .get("apiVersion")
                .and_then(Value::as_str)
                .and_then(|version| version.split_once('/'))
                .map_or("policy", |(group, _)| group);
            return Err(invalid_message(group, policy.name(), &errors));
        }
        self.by_name.insert(policy.name().to_owned(), policy);
        Ok(())
    }

    /// The policies, by name.
    pub fn policies(&self) -> impl Iterator<Item = &PodSecurityPolicy> {
        self.by_name.values()
    }
}

/// The API server's message for an object that fails validation (apimachinery's
/// `NewInvalid`): `PodSecurityPolicy.policy "name" is invalid: ` and the errors' aggregate,
/// which is the one error alone, or the distinct errors in brackets joined by `, `.
fn invalid_message(group: &str, name: &str, errors: &[FieldError]) -> String {
    let mut distinct: Vec<String> = Vec::with_capacity(errors.len());
    for error in errors {
        let text = error.to_string();
        if !distinct.contains(&text) {
            distinct.push(text);
        }
    }
    let aggregate = match distinct.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    format!(
        "{POLICY_KIND}.{group} {} is invalid: {aggregate}",
        go_quote(name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(spec: Value) -> Value {
        json!({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
               "metadata": {"name": "p"}, "spec": spec})
    }

    #[test]
    fn invalid_policies_get_the_api_servers_message() {
        let mut set = PolicySet::default();
        let error = set
            .add(&policy(json!({
                "seLinux": {"rule": "RunAsAny"}, "runAsUser": {"rule": "Nope"},
                "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"}})))
            .expect_err("invalid");
        assert!(
            error.starts_with("PodSecurityPolicy.policy \"p\" is invalid: spec.runAsUser.rule: "),
            "{error}"
        );
        assert_eq!(set.policies().count(), 0);
    }

    #[test]
    fn the_later_document_of_a_name_counts() {
        let mut set = PolicySet::default();
        let spec = |privileged: bool| {
            json!({"privileged": privileged,
                   "seLinux": {"rule": "RunAsAny"}, "runAsUser": {"rule": "RunAsAny"},
                   "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"}})
        };
        set.add(&policy(spec(true))).expect("valid");
        set.add(&policy(spec(false))).expect("valid");
        let policies: Vec<_> = set.policies().collect();
        assert_eq!(policies.len(), 1);
        assert!(!policies[0].spec.privileged);
    }

    #[test]
    fn convert_rewrites_only_the_api_version_line_of_block_yaml() {
        let text = "# keep me\napiVersion: policy/v1beta1  # the old group\nkind: PodSecurityPolicy\n\
                    metadata:\n  name: p\n  annotations:\n    note: \"apiVersion: policy/v1beta1\"\n";
        assert_eq!(
            replace_api_version_line(text).as_deref(),
            Some(
                "# keep me\napiVersion: policy.podsec.dev/v1beta1  # the old group\nkind: PodSecurityPolicy\n\
                 metadata:\n  name: p\n  annotations:\n    note: \"apiVersion: policy/v1beta1\"\n"
            )
        );
        assert_eq!(replace_api_version_line("apiVersion: v1\n"), None);
    }

    #[test]
    fn convert_rewrites_list_items() {
        let mut list = json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy"},
            {"apiVersion": "extensions/v1beta1", "kind": "PodSecurityPolicy"},
            {"apiVersion": "v1", "kind": "ConfigMap"},
        ]});
        let mut rewritten = Rewritten::default();
        rewrite_policies(&mut list, true, &mut rewritten);
        assert!(rewritten.nested && !rewritten.top);
        assert_eq!(list["items"][0]["apiVersion"], "policy.podsec.dev/v1beta1");
        assert_eq!(list["items"][1]["apiVersion"], "policy.podsec.dev/v1beta1");
        assert_eq!(list["items"][2]["apiVersion"], "v1");
    }

    #[test]
    fn convert_rewrites_typed_lists_for_their_items() {
        let mut list = json!({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicyList",
            "items": [{"metadata": {"name": "inherits"}},
                      {"apiVersion": "extensions/v1beta1", "metadata": {"name": "own"}}]});
        let mut rewritten = Rewritten::default();
        rewrite_policies(&mut list, true, &mut rewritten);
        assert!(rewritten.top && rewritten.nested);
        assert_eq!(list["apiVersion"], "policy.podsec.dev/v1beta1");
        assert!(list["items"][0].get("apiVersion").is_none());
        assert_eq!(list["items"][1]["apiVersion"], "policy.podsec.dev/v1beta1");
    }

    #[test]
    fn typed_list_items_are_policies() {
        let list = json!({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicyList",
                          "items": [{"metadata": {"name": "typed"}}]});
        let mut seen = Vec::new();
        for_each_object(&list, &mut |object, item| {
            seen.push((
                object["apiVersion"].clone(),
                object["kind"].clone(),
                item.to_vec(),
            ));
        });
        assert_eq!(
            seen,
            vec![(json!("policy/v1beta1"), json!("PodSecurityPolicy"), vec![0])]
        );
    }

    #[test]
    fn lists_are_walked_with_positions() {
        let list = json!({"kind": "List", "items": [{"kind": "A"},
                          {"kind": "List", "items": [{"kind": "B"}]}]});
        let mut seen = Vec::new();
        for_each_object(&list, &mut |object, item| {
            seen.push((object["kind"].clone(), item.to_vec()));
        });
        assert_eq!(seen, vec![(json!("A"), vec![0]), (json!("B"), vec![1, 0])]);
        let mut whole = Vec::new();
        for_each_object(&json!({"kind": "A"}), &mut |_, item| {
            whole.push(item.to_vec())
        });
        assert_eq!(whole, vec![Vec::<usize>::new()]);
        assert_eq!(
            item_place("f: document 0", &[1, 0]),
            "f: document 0: item 1.0"
        );
        assert_eq!(item_place("f: document 0", &[]), "f: document 0");
    }
}
