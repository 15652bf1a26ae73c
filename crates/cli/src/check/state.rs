//! Cluster state found in the input, "as if applied first": Namespace objects and their labels
//! (for Pod Security Standards), PodSecurityPolicy objects and the RBAC objects that grant their
//! `use` (for PodSecurityPolicy admission).
//!
//! Collected in a first pass, so that state written after the pods it governs still counts.
//! The pass parses only documents whose text may spell `Namespace`, `PodSecurityPolicy` or the
//! RBAC API group (written out, or through an escape or a tag: see [`input::may_spell`]), and
//! does not even split the inputs, or their ends, that cannot hold them; this keeps it far
//! cheaper than the evaluation pass.

use std::collections::BTreeMap;
use std::sync::Arc;

use podsec_admission::Object;
use podsec_admission::object::ListOf;
use podsec_psp::RbacAuthorizer;
use serde_json::Value;

use crate::input::{self, Document};
use crate::psp::{POLICY_KIND, PolicySet, for_each_object};
use crate::report::item_prefix;

const NAMESPACE_KIND: &str = "Namespace";
/// The API group of Roles, ClusterRoles and their bindings.
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const RBAC_KINDS: [&str; 4] = ["ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding"];

#[derive(Debug, Default)]
pub struct ClusterState {
    /// Labels by namespace name.
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    pub policies: PolicySet,
    /// Whether any document is of kind PodSecurityPolicy, usable or not: that turns
    /// PodSecurityPolicy admission on.
    pub has_policy_documents: bool,
    pub rbac: RbacAuthorizer,
    /// PodSecurityPolicy documents the API server would have refused.
    pub policy_errors: Vec<StateError>,
    /// RBAC documents that cannot be decoded (they only matter when PodSecurityPolicy is on).
    pub rbac_errors: Vec<StateError>,
}

/// A cluster-state document that cannot be used.
#[derive(Debug)]
pub struct StateError {
    pub source: Arc<str>,
    pub document: usize,
    pub message: String,
}

impl ClusterState {
    /// The labels of a namespace that the input defines.
    pub fn namespace_labels(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.namespaces.get(name)
    }

    /// Reads `paths` for cluster state; namespaces only when `namespaces` is set (their labels do
    /// not matter under `--level`). Input errors are ignored here: the evaluation pass reads the
    /// same documents and reports them.
    pub fn read(paths: &[String], namespaces: bool) -> Self {
        let words: &[&'static str] = if namespaces {
            &[NAMESPACE_KIND, POLICY_KIND, RBAC_GROUP]
        } else {
            &[POLICY_KIND, RBAC_GROUP]
        };
        Self::collect(input::read_documents_mentioning(paths, words), namespaces)
    }

    /// Collects cluster state from `documents`.
    fn collect(
        documents: impl Iterator<Item = Result<Document, input::InputError>>,
        namespaces: bool,
    ) -> Self {
        let mut state = ClusterState::default();
        for document in documents.flatten() {
            if namespaces
                && input::may_spell(&document.text, NAMESPACE_KIND)
                && let Ok((object, parsed)) = input::decode_without_items(&document)
            {
                // A list's items one at a time, so that a large one is not held whole.
                match ListOf::of(&object) {
                    Some(list) => {
                        input::for_each_item(
                            &document,
                            &list,
                            parsed,
                            &|_| false,
                            &mut |_, item| {
                                if let Ok((object, _)) = item {
                                    state.add(&object);
                                }
                            },
                        );
                    }
                    None => state.add(&object),
                }
            }
            if (input::may_spell(&document.text, POLICY_KIND)
                || input::may_spell(&document.text, RBAC_GROUP))
                && let Ok(value) = input::decode::<Value>(&document)
            {
                for_each_object(&value, &mut |object, item| {
                    state.add_access_control(object, &document, item);
                });
            }
        }
        state
    }

    /// Records `object` if it is a Namespace (lists come item by item, from `for_each_item`).
    fn add(&mut self, object: &Object) {
        if is_namespace(object)
            && let Some(name) = object.metadata.name()
        {
            self.namespaces
                .insert(name.to_owned(), object.metadata.labels.clone());
        }
    }

    /// Records `object` if it is a PodSecurityPolicy or an RBAC object.
    fn add_access_control(&mut self, object: &Value, document: &Document, item: &[usize]) {
        let error = |message: String| StateError {
            source: document.source.clone(),
            document: document.index,
            message: format!("{}{message}", item_prefix(item)),
        };
        if podsec_psp::PodSecurityPolicy::has_policy_kind(object) {
            self.has_policy_documents = true;
            if let Err(message) = self.policies.add(object) {
                self.policy_errors.push(error(message));
            }
        } else if let Err(e) = self.rbac.add_object(object) {
            self.rbac_errors.push(error(e.to_string()));
        }
    }
}

/// A core `v1` Namespace: cluster state, not something to judge.
fn is_namespace(object: &Object) -> bool {
    object.kind == NAMESPACE_KIND && object.api_version == "v1"
}

/// Whether an object is cluster state that the report does not list: a Namespace, any document
/// of kind PodSecurityPolicy (unusable ones are reported as errors), or an RBAC object.
pub fn is_cluster_state(object: &Object) -> bool {
    is_namespace(object)
        || object.kind == POLICY_KIND
        || (object
            .api_version
            .split_once('/')
            .is_some_and(|(group, _)| group == RBAC_GROUP)
            && RBAC_KINDS.contains(&object.kind.as_str()))
}
