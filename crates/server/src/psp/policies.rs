//! Where PodSecurityPolicies (and, offline, the RBAC deciding their `use`) come from: the
//! `--psp-file` / `--rbac-file` documents, or a watch on our CustomResourceDefinition
//! `podsecuritypolicies.policy.podsec.dev` (kind `PodSecurityPolicy`, version `v1beta1`,
//! cluster-scoped, the `policy/v1beta1` schema).
//!
//! Every policy goes through what the API server did on create: v1beta1 defaulting and object
//! validation. An invalid policy is refused at start-up when it comes from a file, and skipped
//! with a warning when it comes from the cluster (the CRD's schema cannot express every rule,
//! and one bad object must not stop admission for the others).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::watcher::{self, Event};
use podsec_psp::field_error::render_error_list;
use podsec_psp::{PodSecurityPolicy, RbacAuthorizer, validate_policy};
use serde_json::Value;
use tokio::sync::watch;

use crate::cluster::{PAGE_SIZE, WatchName, WatchRetry, next_event};
use crate::documents::{StateFileError, read_documents};

/// Our API group for the policy CRD (the `policy` group's PodSecurityPolicy is gone since 1.25).
pub const CRD_GROUP: &str = "policy.podsec.dev";
pub const CRD_VERSION: &str = "v1beta1";
pub const CRD_KIND: &str = "PodSecurityPolicy";
pub const CRD_PLURAL: &str = "podsecuritypolicies";

pub const CRD_API_VERSION: &str = "policy.podsec.dev/v1beta1";

/// The apiVersion the policy library reads; CRD objects are rewritten to it.
const POLICY_API_VERSION: &str = "policy/v1beta1";

/// The current policies, shared between their source (file or watcher) and the handlers.
#[derive(Debug, Default)]
pub struct PolicyStore {
    policies: RwLock<Arc<Vec<PodSecurityPolicy>>>,
    synced: AtomicBool,
}

impl PolicyStore {
    /// An empty store waiting for its first complete listing.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding fixed policies (from a file), synced at once.
    pub fn fixed(policies: Vec<PodSecurityPolicy>) -> Self {
        let store = Self::new();
        store.replace_all(policies);
        store
    }

    /// The policies, or `None` before the first complete listing: deciding then would deny
    /// every pod with "no providers available".
    pub fn snapshot(&self) -> Option<Arc<Vec<PodSecurityPolicy>>> {
        if !self.synced.load(Ordering::Acquire) {
            return None;
        }
        Some(Arc::clone(
            &self.policies.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }

    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Replaces every policy and marks the store synced.
    pub fn replace_all(&self, policies: Vec<PodSecurityPolicy>) {
        // A single assignment under the lock: poisoning cannot leave it half-done.
        *self
            .policies
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(policies);
        self.synced.store(true, Ordering::Release);
    }
}

/// What the files say.
#[derive(Debug, Default)]
pub struct PspFiles {
    pub policies: Vec<PodSecurityPolicy>,
    /// Present when any RBAC object was found (or `--rbac-file` was given): `use` is then
    /// decided offline.
    pub rbac: Option<RbacAuthorizer>,
}

impl PspFiles {
    /// Reads policies (and RBAC objects) from `psp_file`, and RBAC objects from `rbac_file`.
    ///
    /// A name is one policy: when several documents define it, the last one counts, as with
    /// `kubectl apply` (and as `podsec check` and `podsec psp list` read them). Keeping both
    /// would let the first copy decide, since selection goes by name.
    pub fn load(psp_file: Option<&Path>, rbac_file: Option<&Path>) -> Result<Self, StateFileError> {
        let mut files = PspFiles::default();
        let mut rbac = RbacAuthorizer::new();
        let mut rbac_objects = 0usize;
        if let Some(path) = psp_file {
            let mut by_name: BTreeMap<String, PodSecurityPolicy> = BTreeMap::new();
            for (index, doc) in read_documents(path)? {
                if PodSecurityPolicy::has_policy_kind(&doc) {
                    let policy = ingest(doc)
                        .map_err(|message| StateFileError::in_document(path, index, message))?;
                    by_name.insert(policy.name().to_owned(), policy);
                } else {
                    rbac_objects += usize::from(add_rbac(&mut rbac, &doc, path, index)?);
                }
            }
            files.policies = by_name.into_values().collect();
        }
        if let Some(path) = rbac_file {
            for (index, doc) in read_documents(path)? {
                rbac_objects += usize::from(add_rbac(&mut rbac, &doc, path, index)?);
            }
        }
        if rbac_objects > 0 || rbac_file.is_some() {
            files.rbac = Some(rbac);
        }
        Ok(files)
    }
}

fn add_rbac(
    rbac: &mut RbacAuthorizer,
    doc: &Value,
    path: &Path,
    index: usize,
) -> Result<bool, StateFileError> {
    rbac.add_object(doc)
        .map_err(|error| StateFileError::in_document(path, index, error))
}

/// A policy document as the API server would have stored it: our CRD group read as
/// `policy/v1beta1`, defaulted and validated.
pub fn ingest(mut doc: Value) -> Result<PodSecurityPolicy, String> {
    if doc.get("apiVersion").and_then(Value::as_str) == Some(CRD_API_VERSION) {
        doc["apiVersion"] = Value::String(POLICY_API_VERSION.to_owned());
    }
    let policy = PodSecurityPolicy::from_value(&doc).map_err(|error| error.to_string())?;
    let errors = validate_policy(&policy);
    if !errors.is_empty() {
        return Err(format!(
            "PodSecurityPolicy {:?} is invalid: {}",
            policy.name(),
            render_error_list(&errors)
        ));
    }
    Ok(policy)
}

/// The CRD as kube-rs's dynamic API sees it.
pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(CRD_GROUP, CRD_VERSION, CRD_KIND),
        CRD_PLURAL,
    )
}

/// A CRD object converted for the library: the dynamic object's type fields are not always
/// present in watch events, so they are set here.
fn from_dynamic(object: &DynamicObject) -> Result<PodSecurityPolicy, String> {
    let mut doc = serde_json::to_value(object).map_err(|error| error.to_string())?;
    doc["apiVersion"] = Value::String(POLICY_API_VERSION.to_owned());
    doc["kind"] = Value::String(CRD_KIND.to_owned());
    ingest(doc)
}

const POLICY_WATCH: WatchName = WatchName {
    what: "PodSecurityPolicy",
    serving: "policies",
};

/// Keeps `store` in step with the CRD's objects until `stop` turns true. Like the namespace
/// watcher, errors are retried with backoff ([`WatchRetry`]) while the last known policies keep
/// answering.
pub async fn watch_policies(
    client: kube::Client,
    store: Arc<PolicyStore>,
    mut stop: watch::Receiver<bool>,
) {
    let api: Api<DynamicObject> = Api::all_with(client, &api_resource());
    let config = watcher::Config::default().page_size(PAGE_SIZE);
    // The watcher retries as soon as it is polled after an error; the waiting is done here.
    let events = watcher::watcher(api, config);
    futures::pin_mut!(events);
    let mut current: BTreeMap<String, PodSecurityPolicy> = BTreeMap::new();
    let mut relist: Option<BTreeMap<String, PodSecurityPolicy>> = None;
    let mut retry = WatchRetry::default();
    while let Some(event) = next_event(events.as_mut(), &mut retry, &mut stop, &POLICY_WATCH).await
    {
        match event {
            Event::Init => relist = Some(BTreeMap::new()),
            Event::InitApply(object) => {
                if let (Some(map), Some((name, policy))) = (relist.as_mut(), convert(&object)) {
                    map.insert(name, policy);
                }
            }
            Event::InitDone => {
                let first = !store.is_synced();
                current = relist.take().unwrap_or_default();
                store.replace_all(current.values().cloned().collect());
                if first {
                    tracing::info!(policies = current.len(), "PodSecurityPolicies synced");
                }
            }
            Event::Apply(object) => {
                let name = object.metadata.name.clone().unwrap_or_default();
                // An object that became invalid no longer counts, as if it were deleted.
                match convert(&object) {
                    Some((name, policy)) => current.insert(name, policy),
                    None => current.remove(&name),
                };
                store.replace_all(current.values().cloned().collect());
            }
            Event::Delete(object) => {
                if let Some(name) = &object.metadata.name {
                    current.remove(name);
                    store.replace_all(current.values().cloned().collect());
                }
            }
        }
    }
}

fn convert(object: &DynamicObject) -> Option<(String, PodSecurityPolicy)> {
    match from_dynamic(object) {
        Ok(policy) => Some((policy.name().to_owned(), policy)),
        Err(error) => {
            tracing::warn!(name = ?object.metadata.name, %error, "skipping an unusable PodSecurityPolicy");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crd_objects_are_read_as_policy_v1beta1_and_validated() {
        let policy = ingest(json!({
            "apiVersion": "policy.podsec.dev/v1beta1", "kind": "PodSecurityPolicy",
            "metadata": {"name": "p"},
            "spec": {"seLinux": {"rule": "RunAsAny"}, "runAsUser": {"rule": "RunAsAny"},
                     "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"}}
        }))
        .expect("valid");
        assert_eq!(policy.spec.allow_privilege_escalation, Some(true));
        let error = ingest(json!({
            "apiVersion": "policy.podsec.dev/v1beta1", "kind": "PodSecurityPolicy",
            "metadata": {"name": "p"}, "spec": {"runAsUser": {"rule": "Sometimes"}}
        }))
        .expect_err("invalid");
        assert!(
            error.starts_with("PodSecurityPolicy \"p\" is invalid: "),
            "{error}"
        );
    }

    #[test]
    fn store_answers_only_once_synced() {
        let store = PolicyStore::new();
        assert!(store.snapshot().is_none());
        store.replace_all(Vec::new());
        assert_eq!(store.snapshot().map(|p| p.len()), Some(0));
    }
}
