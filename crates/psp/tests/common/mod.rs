//! Helpers shared by the integration tests: locating `../shared` and reading YAML documents.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The shared data folder beside the workspace, or `None` (after saying so) when absent.
pub fn shared_dir() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if path.is_dir() {
        Some(path)
    } else {
        eprintln!(
            "skipping: ../shared not found (looked for {})",
            path.display()
        );
        None
    }
}

/// Every non-empty YAML document of a file, as JSON values.
pub fn read_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text)
        .unwrap_or_else(|error| panic!("cannot parse {}: {error}", path.display()));
    documents
        .into_iter()
        .filter(|document| !document.is_null())
        .collect()
}

/// The value at an apimachinery-style field path such as
/// `metadata.annotations[kubernetes.io/psp]` or `spec.containers[0].securityContext`.
pub fn value_at<'a>(document: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = document;
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(bracketed) = rest.strip_prefix('[') {
            let end = bracketed.find(']')?;
            let inside = &bracketed[..end];
            current = match inside.parse::<usize>() {
                Ok(index) => current.get(index)?,
                Err(_) => current.get(inside)?,
            };
            rest = &bracketed[end + 1..];
        } else {
            let rest_trimmed = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest_trimmed.find(['.', '[']).unwrap_or(rest_trimmed.len());
            current = current.get(&rest_trimmed[..end])?;
            rest = &rest_trimmed[end..];
        }
    }
    Some(current)
}
