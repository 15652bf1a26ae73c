//! Cluster state found in the input: Namespace objects and their labels, "as if applied first".
//!
//! Collected in a first pass, so that a Namespace written after the pods in it still counts.
//! The pass parses only documents whose text mentions `Namespace`, which keeps it far cheaper
//! than the evaluation pass.

use std::collections::BTreeMap;

use podsec_admission::Object;
use podsec_admission::object::Body;

use crate::input::{self, Document};

/// Labels by namespace name.
#[derive(Debug, Default)]
pub struct ClusterState {
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
}

impl ClusterState {
    /// The labels of a namespace that the input defines.
    pub fn namespace_labels(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.namespaces.get(name)
    }

    /// Reads the inputs once for cluster state. Errors are ignored here: the evaluation pass
    /// reads the same documents and reports them.
    pub fn collect(documents: impl Iterator<Item = Result<Document, input::InputError>>) -> Self {
        let mut state = ClusterState::default();
        for document in documents.flatten() {
            if !document.text.contains("Namespace") {
                continue;
            }
            if let Ok(object) = input::decode::<Object>(&document) {
                state.add(&object);
            }
        }
        state
    }

    /// Records `object` if it is cluster state (recursing into lists).
    pub fn add(&mut self, object: &Object) {
        if let Body::List(items) = &object.body {
            items.iter().for_each(|item| self.add(item));
        } else if is_namespace(object)
            && let Some(name) = object.metadata.name()
        {
            self.namespaces
                .insert(name.to_owned(), object.metadata.labels.clone());
        }
    }
}

/// A core `v1` Namespace: cluster state, not something to judge.
pub fn is_namespace(object: &Object) -> bool {
    object.kind == "Namespace" && object.api_version == "v1"
}
