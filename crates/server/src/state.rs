//! What the webhook knows about the cluster: the Pod Security labels of every namespace (and
//! the policy they resolve to, once a request has needed it), and whether that knowledge is
//! complete yet.
//!
//! Memory stays proportional to the number of namespaces times the handful of
//! `pod-security.kubernetes.io/` labels: nothing else of a Namespace is kept. The cache is filled
//! either by the namespace watcher ([`crate::cluster`]) or once from `--namespaces-file`
//! ([`FileState`]), which also carries the file's pods for the existing-pod checks of a
//! namespace relabel.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use podsec_admission::object::Pod;
use podsec_admission::{NamespacePolicy, Policy};

use crate::documents::{StateFileError, read_documents};

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

/// One namespace as the cache keeps it: its labels, and the policy they resolve to.
///
/// An entry is never changed, only replaced (a relabel stores a new one), so the policy
/// resolved from its labels stays right for as long as the entry lives: it is resolved by the
/// first request that needs it rather than by every request, which cloned the labels and
/// parsed them again each time.
#[derive(Debug)]
pub struct CachedNamespace {
    labels: PsaLabels,
    /// The defaults the policy was resolved on top of, and the policy.
    policy: OnceLock<(Policy, NamespacePolicy)>,
}

impl CachedNamespace {
    pub fn new(labels: PsaLabels) -> Self {
        CachedNamespace {
            labels,
            policy: OnceLock::new(),
        }
    }

    pub fn labels(&self) -> &PsaLabels {
        &self.labels
    }

    /// [`NamespacePolicy::resolve`] of the labels on top of `defaults`, resolved once. The
    /// webhook has one set of defaults; other defaults (a second admission sharing the
    /// cache) are resolved afresh rather than answered with the first ones' result.
    pub fn policy(&self, defaults: Policy) -> NamespacePolicy {
        let (resolved_on, policy) = self
            .policy
            .get_or_init(|| (defaults, NamespacePolicy::resolve(&self.labels, defaults)));
        if *resolved_on == defaults {
            policy.clone()
        } else {
            NamespacePolicy::resolve(&self.labels, defaults)
        }
    }
}

/// Namespace name → Pod Security labels (and their policy), shared between the watcher
/// (writer) and the request handlers (readers).
#[derive(Debug, Default)]
pub struct NamespaceCache {
    namespaces: RwLock<HashMap<String, Arc<CachedNamespace>>>,
    synced: AtomicBool,
}

impl NamespaceCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The namespace `name`, if known.
    pub fn get(&self, name: &str) -> Option<Arc<CachedNamespace>> {
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
    pub fn replace_all(&self, namespaces: HashMap<String, PsaLabels>) {
        let namespaces = namespaces
            .into_iter()
            .map(|(name, labels)| (name, Arc::new(CachedNamespace::new(labels))))
            .collect();
        *self.write() = namespaces;
        self.synced.store(true, Ordering::Release);
    }

    pub fn upsert(&self, name: String, labels: PsaLabels) {
        self.write()
            .insert(name, Arc::new(CachedNamespace::new(labels)));
    }

    pub fn remove(&self, name: &str) {
        self.write().remove(name);
    }

    // The map is only ever replaced or edited by single statements, so a panic elsewhere while
    // the lock was held cannot have left it half-updated: poisoning is ignored.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<CachedNamespace>>> {
        self.namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<CachedNamespace>>> {
        self.namespaces
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Cluster state read from a file of Namespace (and optionally Pod) objects.
#[derive(Debug, Default)]
pub struct FileState {
    /// Name → PSA labels of every Namespace in the file.
    pub namespaces: HashMap<String, PsaLabels>,
    /// Pods of the file by namespace, in file order.
    pub pods: HashMap<String, Vec<Pod>>,
}

impl FileState {
    /// Reads YAML or JSON documents (multi-document YAML and `kind: List` included). Namespaces
    /// and Pods are kept; other kinds are ignored so a whole demo manifest can be passed.
    pub fn load(path: &Path) -> Result<FileState, StateFileError> {
        let objects = read_documents(path)?;
        let mut state = FileState::default();
        for (index, object) in objects {
            state
                .add(object)
                .map_err(|message| StateFileError::in_document(path, index, message))?;
        }
        Ok(state)
    }

    fn add(&mut self, object: serde_json::Value) -> Result<(), String> {
        let kind = object
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or_default();
        match kind {
            "Namespace" => {
                let meta: Meta = field_of(&object, "metadata")
                    .map_err(|(field, e)| format!("Namespace {field}: {e}"))?;
                if meta.name.is_empty() {
                    return Err("Namespace without metadata.name".into());
                }
                self.namespaces.insert(meta.name, psa_labels(&meta.labels));
            }
            "Pod" => {
                let meta: Meta = field_of(&object, "metadata")
                    .map_err(|(field, e)| format!("Pod {field}: {e}"))?;
                let namespace = meta.namespace.unwrap_or_else(|| "default".to_owned());
                let pod: Pod = from_value(object).map_err(|(field, e)| match field {
                    Some(field) => format!("Pod {}: {field}: {e}", meta.name),
                    None => format!("Pod {}: {e}", meta.name),
                })?;
                self.pods.entry(namespace).or_default().push(pod);
            }
            // Kinds without pod-security meaning, so that a whole demo manifest can be passed.
            _ => {}
        }
        Ok(())
    }
}

/// The member `name` of `object` (absent: `null`) as a `T`; an error comes with the path of the
/// field it is in (`metadata.labels`), for the file's reader to find it.
fn field_of<T: serde::de::DeserializeOwned>(
    object: &serde_json::Value,
    name: &str,
) -> Result<T, (String, serde_json::Error)> {
    from_value(object.get(name).cloned().unwrap_or_default()).map_err(|(field, e)| {
        let field = match field {
            Some(field) => format!("{name}.{field}"),
            None => name.to_owned(),
        };
        (field, e)
    })
}

/// `value` as a `T`; an error comes with the path of the field it is in, `None` when it is the
/// value itself.
fn from_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, (Option<String>, serde_json::Error)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e
            .path()
            .iter()
            .next()
            .is_some()
            .then(|| e.path().to_string());
        (field, e.into_inner())
    })
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

    /// `kubectl get --raw /api/v1/namespaces` writes a NamespaceList whose items name no kind
    /// or apiVersion: they are Namespaces all the same (and a PodList's items Pods).
    #[test]
    fn the_items_of_typed_lists_are_of_the_lists_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.json");
        std::fs::write(
            &path,
            r#"{"kind":"NamespaceList","apiVersion":"v1","items":[{"metadata":{"name":"team","labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}]}
---
{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"p","namespace":"team"},"spec":{"containers":[{"name":"c","image":"i"}]}}]}"#,
        )
        .unwrap();
        let state = FileState::load(&path).unwrap();
        assert_eq!(
            state.namespaces["team"]["pod-security.kubernetes.io/enforce"],
            "restricted"
        );
        assert_eq!(state.pods["team"].len(), 1);
    }

    fn pod_yaml(index: usize) -> String {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{index}\n  namespace: team\n\
             spec:\n  containers:\n  - name: c\n    image: i\n    securityContext:\n      privileged: true\n"
        )
    }

    /// A cluster's worth of objects, one per document, loads as the same objects in one
    /// `kind: List` do (serde-saphyr's default budget stopped at 1,024 documents).
    #[test]
    fn thousands_of_documents_load_like_the_same_list() {
        const PODS: usize = 3500;
        let dir = tempfile::tempdir().unwrap();
        let namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n";
        let mut documents = namespace.to_owned();
        let mut list = format!("{namespace}---\napiVersion: v1\nkind: List\nitems:\n");
        for index in 0..PODS {
            documents.push_str("---\n");
            documents.push_str(&pod_yaml(index));
            for (n, line) in pod_yaml(index).lines().enumerate() {
                list.push_str(if n == 0 { "- " } else { "  " });
                list.push_str(line);
                list.push('\n');
            }
        }
        for (name, text) in [("documents.yaml", documents), ("list.yaml", list)] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let state = FileState::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(state.namespaces.len(), 1, "{name}");
            let pods = &state.pods["team"];
            assert_eq!(pods.len(), PODS, "{name}");
            let last = pods[PODS - 1].metadata.name.as_deref();
            assert_eq!(last, Some(format!("p{}", PODS - 1)).as_deref(), "{name}");
        }
    }

    /// What the lifted counts do not open: deep nesting and alias bombs are still refused, and
    /// the error names the file and says what was wrong.
    #[test]
    fn hostile_yaml_is_refused_with_a_message_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("deep.yaml");
        std::fs::write(
            &deep,
            format!(
                "apiVersion: v1\nkind: Namespace\nmetadata: {}{}\n",
                "[".repeat(100),
                "]".repeat(100)
            ),
        )
        .unwrap();
        let error = FileState::load(&deep).expect_err("too deep").to_string();
        assert!(
            error.starts_with(&format!("{}: line ", deep.display())),
            "{error}"
        );
        assert!(
            error.ends_with("YAML nested more than 64 levels deep, which is refused"),
            "{error}"
        );

        // Nine anchors, each ten of the one before: 10^9 strings once expanded.
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (previous, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            let aliases = vec![format!("*{previous}"); 10].join(", ");
            bomb.push_str(&format!("{name}: &{name} [{aliases}]\n"));
        }
        let bombed = dir.path().join("bomb.yaml");
        std::fs::write(&bombed, bomb).unwrap();
        let started = std::time::Instant::now();
        let error = FileState::load(&bombed)
            .expect_err("alias bomb")
            .to_string();
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert!(
            error.starts_with(&format!("{}: ", bombed.display())),
            "{error}"
        );
        assert!(error.to_lowercase().contains("alias"), "{error}");
    }

    /// A value of the wrong shape is named by its document and its field, for the file's
    /// reader to find it.
    #[test]
    fn a_malformed_object_is_named_by_its_field() {
        let dir = tempfile::tempdir().unwrap();
        for (text, expected) in [
            (
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: [x]}\n",
                "document 0: Namespace metadata.labels: invalid type: sequence, expected a map",
            ),
            (
                "kind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, securityContext: {privileged: 3}}]}\n",
                "document 1: Pod p: spec.containers[0].securityContext.privileged: invalid type: integer `3`, expected a boolean",
            ),
        ] {
            let file = dir.path().join("state.yaml");
            std::fs::write(&file, text).unwrap();
            let error = FileState::load(&file).expect_err(text).to_string();
            assert_eq!(error, format!("{}: {expected}", file.display()));
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> PsaLabels {
        pairs
            .iter()
            .map(|(k, v)| (format!("{LABEL_PREFIX}{k}"), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn kept_policies_are_the_freshly_resolved_ones() {
        use podsec_pss::{Level, LevelVersion, Version};
        let stricter = Policy {
            enforce: LevelVersion::new(Level::Baseline, Version::Minor(25)),
            audit: LevelVersion::new(Level::Restricted, Version::Latest),
            warn: LevelVersion::new(Level::Restricted, Version::Minor(30)),
        };
        let label_sets: [&[(&str, &str)]; 7] = [
            &[],
            &[("enforce", "baseline")],
            &[
                ("enforce", "baseline"),
                ("enforce-version", "v1.29"),
                ("audit", "restricted"),
                ("warn", "restricted"),
            ],
            &[("enforce", "strict"), ("enforce-version", "1.29")],
            &[
                ("audit", ""),
                ("audit-version", "v2.0"),
                ("warn", "x"),
                ("warn-version", "latest"),
            ],
            &[("enforce-version", "v1.3"), ("warn-version", "v1.99")],
            &[("enforce", "privileged"), ("warn", "restricted")],
        ];
        for pairs in label_sets {
            let labels = labels(pairs);
            let namespace = CachedNamespace::new(labels.clone());
            // Resolved on first use, then kept; other defaults are resolved on their own.
            for defaults in [
                Policy::PRIVILEGED,
                Policy::PRIVILEGED,
                stricter,
                Policy::PRIVILEGED,
            ] {
                assert_eq!(
                    namespace.policy(defaults),
                    NamespacePolicy::resolve(&labels, defaults),
                    "{pairs:?} over {defaults:?}"
                );
            }
            let namespace = CachedNamespace::new(labels.clone());
            for defaults in [stricter, Policy::PRIVILEGED, stricter] {
                assert_eq!(
                    namespace.policy(defaults),
                    NamespacePolicy::resolve(&labels, defaults),
                    "{pairs:?} over {defaults:?}"
                );
            }
        }
    }

    #[test]
    fn a_relabelled_namespace_gets_the_policy_of_its_new_labels() {
        let cache = NamespaceCache::new();
        cache.replace_all(HashMap::from([(
            "a".to_owned(),
            labels(&[("enforce", "baseline")]),
        )]));
        let resolved = |cache: &NamespaceCache| {
            cache
                .get("a")
                .map(|namespace| namespace.policy(Policy::PRIVILEGED).policy.enforce.level)
        };
        assert_eq!(resolved(&cache), Some(podsec_pss::Level::Baseline));
        cache.upsert("a".to_owned(), labels(&[("enforce", "restricted")]));
        assert_eq!(resolved(&cache), Some(podsec_pss::Level::Restricted));
        cache.remove("a");
        assert_eq!(resolved(&cache), None);
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
