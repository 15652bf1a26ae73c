//! What the webhook knows about the cluster: the Pod Security labels of every namespace, and
//! whether that knowledge is complete yet.
//!
//! Memory stays proportional to the number of namespaces times the handful of
//! `pod-security.kubernetes.io/` labels: nothing else of a Namespace is kept. The cache is filled
//! either by the namespace watcher ([`crate::cluster`]) or once from `--namespaces-file`
//! ([`FileState`]), which also carries the file's pods for the existing-pod checks of a
//! namespace relabel.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use podsec_admission::object::Pod;

/// The prefix of every label Pod Security reads.
pub const LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

/// A namespace's Pod Security labels (and only those).
pub type PsaLabels = BTreeMap<String, String>;

/// Keeps the labels Pod Security reads and drops the rest.
pub fn psa_labels<'a>(labels: impl IntoIterator<Item = (&'a String, &'a String)>) -> PsaLabels {
    labels
        .into_iter()
        .filter(|(k, _)| k.starts_with(LABEL_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Namespace name → Pod Security labels, shared between the watcher (writer) and the request
/// handlers (readers).
#[derive(Debug, Default)]
pub struct NamespaceCache {
    namespaces: RwLock<HashMap<String, Arc<PsaLabels>>>,
    synced: AtomicBool,
}

impl NamespaceCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The labels of `name`, if the namespace is known.
    pub fn get(&self, name: &str) -> Option<Arc<PsaLabels>> {
        self.read().get(name).cloned()
    }

    /// Whether a complete listing has been loaded at least once. Stays true across later watch
    /// failures: answers then come from the last known state.
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Number of namespaces known.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces everything with a complete listing and marks the cache synced.
    pub fn replace_all(&self, namespaces: HashMap<String, Arc<PsaLabels>>) {
        *self.write() = namespaces;
        self.synced.store(true, Ordering::Release);
    }

    pub fn upsert(&self, name: String, labels: PsaLabels) {
        self.write().insert(name, Arc::new(labels));
    }

    pub fn remove(&self, name: &str) {
        self.write().remove(name);
    }

    // The map is only ever replaced or edited by single statements, so a panic elsewhere while
    // the lock was held cannot have left it half-updated: poisoning is ignored.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<PsaLabels>>> {
        self.namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<PsaLabels>>> {
        self.namespaces
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why `--namespaces-file` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileStateError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

/// Cluster state read from a file of Namespace (and optionally Pod) objects.
#[derive(Debug, Default)]
pub struct FileState {
    /// Name → PSA labels of every Namespace in the file.
    pub namespaces: HashMap<String, Arc<PsaLabels>>,
    /// Pods of the file by namespace, in file order.
    pub pods: HashMap<String, Vec<Pod>>,
}

impl FileState {
    /// Reads YAML or JSON documents (multi-document YAML and `kind: List` included). Namespaces
    /// and Pods are kept; other kinds are ignored so a whole demo manifest can be passed.
    pub fn load(path: &Path) -> Result<FileState, FileStateError> {
        let text = std::fs::read_to_string(path).map_err(|source| FileStateError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&text).map_err(|e| FileStateError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let mut state = FileState::default();
        for (index, doc) in docs.into_iter().enumerate() {
            state.add(doc).map_err(|message| FileStateError::Parse {
                path: path.to_path_buf(),
                message: format!("document {index}: {message}"),
            })?;
        }
        Ok(state)
    }

    fn add(&mut self, doc: serde_json::Value) -> Result<(), String> {
        let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
        match kind {
            "List" | "NamespaceList" | "PodList" => {
                if let Some(serde_json::Value::Array(items)) = doc.get("items") {
                    for item in items.clone() {
                        self.add(item)?;
                    }
                }
            }
            "Namespace" => {
                let meta: Meta =
                    serde_json::from_value(doc.get("metadata").cloned().unwrap_or_default())
                        .map_err(|e| format!("Namespace metadata: {e}"))?;
                if meta.name.is_empty() {
                    return Err("Namespace without metadata.name".into());
                }
                self.namespaces
                    .insert(meta.name, Arc::new(psa_labels(&meta.labels)));
            }
            "Pod" => {
                let meta: Meta =
                    serde_json::from_value(doc.get("metadata").cloned().unwrap_or_default())
                        .map_err(|e| format!("Pod metadata: {e}"))?;
                let namespace = meta.namespace.unwrap_or_else(|| "default".to_owned());
                let pod: Pod =
                    serde_json::from_value(doc).map_err(|e| format!("Pod {}: {e}", meta.name))?;
                self.pods.entry(namespace).or_default().push(pod);
            }
            // Empty documents (`---` at the end) and kinds without pod-security meaning.
            _ => {}
        }
        Ok(())
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Meta {
    name: String,
    namespace: Option<String>,
    labels: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_state_keeps_only_pod_security_labels_and_pods_by_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.yaml");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n  labels:\n    team: a\n    pod-security.kubernetes.io/enforce: baseline\n---\n\
             apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p, namespace: team}\n  spec: {containers: [{name: c, image: i}]}\n---\n",
        )
        .unwrap();
        let state = FileState::load(&path).unwrap();
        let labels = &state.namespaces["team"];
        assert_eq!(labels.len(), 1);
        assert_eq!(labels["pod-security.kubernetes.io/enforce"], "baseline");
        assert_eq!(state.pods["team"].len(), 1);
    }

    #[test]
    fn cache_is_synced_only_after_a_full_listing() {
        let cache = NamespaceCache::new();
        assert!(!cache.is_synced());
        cache.upsert("a".into(), PsaLabels::new());
        assert!(!cache.is_synced());
        cache.replace_all(HashMap::new());
        assert!(cache.is_synced() && cache.get("a").is_none());
    }
}
