//! Reading the cluster-state files `serve` is given (`--namespaces-file`, `--psp-file`,
//! `--rbac-file`): YAML or JSON documents, lists flattened into their items, and YAML errors as
//! sentences that name what was refused.

use std::path::{Path, PathBuf};

use podsec_admission::list_item::{complete_list_item, is_list};
use podsec_admission::yaml_messages::{self, UserMessages};
use serde_json::Value;

/// Why a cluster-state file (`--namespaces-file`, `--psp-file`, `--rbac-file`) could not be
/// used: it could not be read, or what it holds is not what the flag takes.
/// (The cause is in the message, so it is not also a `source()`, which chains would repeat.)
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("reading {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl StateFileError {
    pub(crate) fn invalid(path: &Path, message: String) -> Self {
        StateFileError::Invalid {
            path: path.to_path_buf(),
            message,
        }
    }

    /// What is wrong with the object from document `index` of the file at `path` (the index
    /// [`read_documents`] gives each object).
    pub(crate) fn in_document(path: &Path, index: usize, message: impl std::fmt::Display) -> Self {
        StateFileError::invalid(path, format!("document {index}: {message}"))
    }
}

/// The objects of the file at `path`, each with the index of the document it came from. The
/// items of a `kind: List` (or a typed list such as `NamespaceList`) take the list's place, in
/// order; an item of a typed list that names no kind or apiVersion gets the list's, as the API
/// server writes them without (`kubectl get --raw /api/v1/namespaces`). Empty documents are
/// left out.
pub(crate) fn read_documents(path: &Path) -> Result<Vec<(usize, Value)>, StateFileError> {
    let text = std::fs::read_to_string(path).map_err(|error| StateFileError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(&text, yaml_options())
        .map_err(|error| StateFileError::invalid(path, yaml_error(&error)))?;
    let mut objects = Vec::with_capacity(docs.len());
    let mut pending: Vec<(usize, Value)> = docs.into_iter().enumerate().rev().collect();
    while let Some((index, doc)) = pending.pop() {
        match doc {
            Value::Object(mut object) if is_list(&object) => {
                // Taken, not cloned: a cluster's list can be most of the file.
                if let Some(Value::Array(items)) = object.remove("items") {
                    let list = Value::Object(object);
                    pending.extend(items.into_iter().rev().map(|mut item| {
                        complete_list_item(&list, &mut item);
                        (index, item)
                    }));
                }
            }
            Value::Null => {}
            doc => objects.push((index, doc)),
        }
    }
    Ok(objects)
}

/// How the files are parsed. They hold what a cluster holds, and a cluster's objects written
/// one per document (`kubectl get -o yaml` piped through a splitter, a generated demo) easily
/// pass serde-saphyr's default budget of 1,024 documents, and a cluster-sized `kind: List` its
/// node and byte budgets: those counts are lifted, so the file's size is the limit, as it is
/// for the same objects in a cluster. What guards against hostile YAML stays: the depth limit,
/// and the limits on aliases and anchors and on what their expansion may replay (alias bombs).
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: usize::MAX,
            max_nodes: usize::MAX,
            max_events: usize::MAX,
            max_total_scalar_bytes: usize::MAX,
        },
    }
}

/// A YAML error as a sentence; a breached parser limit says which, where, and why it exists
/// (serde-saphyr's own text is the breach's debug form).
fn yaml_error(error: &serde_saphyr::Error) -> String {
    use serde_saphyr::Error;
    use serde_saphyr::budget::BudgetBreach;
    let Error::Budget { breach, location } = yaml_messages::original(error) else {
        return error.render_with_formatter(&UserMessages);
    };
    let limits = serde_saphyr::Budget::default();
    let what = match breach {
        BudgetBreach::Depth { .. } => format!(
            "YAML nested more than {} levels deep, which is refused",
            limits.max_depth
        ),
        BudgetBreach::Aliases { .. }
        | BudgetBreach::Anchors { .. }
        | BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. } => {
            "too many YAML aliases or anchors, or too much replayed through them: refused as a \
             possible alias bomb"
                .to_owned()
        }
        other => format!("over a YAML parser limit ({other:?})"),
    };
    match location.line() {
        0 => what,
        line => format!("line {line}: {what}"),
    }
}
