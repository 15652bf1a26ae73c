//! Lean decoding of Kubernetes objects: apiVersion, kind, the metadata admission reads, and the
//! pod template that decides what a workload's pods may do (spec §5.1).
//!
//! The decoder reads keys in document order. Once `kind` is known (it usually comes first),
//! `spec`, `template` and `items` are decoded straight into the typed pod view and everything
//! else is skipped without allocation; members that come before `kind` are buffered as
//! `serde_json::Value` and decoded when `kind` turns up. It works with any serde deserializer:
//! serde_json for the webhook and JSON files, serde-saphyr for YAML.
//!
//! Two ways in:
//! - `Object`'s `Deserialize` picks the shape from the object's own `kind`, in any version of
//!   the kind's API group or of one it was once served from (old manifests say
//!   `extensions/v1beta1`), and not in another group (a custom resource named `Deployment`):
//!   what the CLI wants. Items of a typed list that name no kind are of the list's kind.
//! - [`ObjectSeed`] picks the shape from a kind given up front: an AdmissionRequest's `kind`,
//!   or the kind the object names itself when that differs (the decision flow decodes again
//!   then, since upstream's decoder takes the request's kind only as defaults). Like upstream,
//!   only the `v1` versions of the workload groups yield a template there; anything else is an
//!   [`ExtractError`].
//!
//! Neither applies the API server's defaulting: call [`Object::apply_api_defaults`] for
//! objects as users write them (the CLI); AdmissionRequests carry already-defaulted objects.

use std::collections::BTreeMap;
use std::fmt;

use podsec_pss::pod::{OwnerReference, PodMetadata, PodSpec, Text};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::review::GroupVersionKind;

/// The kinds that carry a pod template, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkloadKind {
    Pod,
    PodTemplate,
    ReplicationController,
    ReplicaSet,
    Deployment,
    DaemonSet,
    StatefulSet,
    Job,
    CronJob,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 9] = [
        WorkloadKind::Pod,
        WorkloadKind::PodTemplate,
        WorkloadKind::ReplicationController,
        WorkloadKind::ReplicaSet,
        WorkloadKind::Deployment,
        WorkloadKind::DaemonSet,
        WorkloadKind::StatefulSet,
        WorkloadKind::Job,
        WorkloadKind::CronJob,
    ];

    /// The kind for a `kind` string (exact, case-sensitive).
    pub fn from_kind(kind: &str) -> Option<Self> {
        WorkloadKind::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "Pod",
            WorkloadKind::PodTemplate => "PodTemplate",
            WorkloadKind::ReplicationController => "ReplicationController",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
        }
    }

    /// The API group of the `v1` version upstream extracts templates from.
    pub fn group(self) -> &'static str {
        match self {
            WorkloadKind::Pod | WorkloadKind::PodTemplate | WorkloadKind::ReplicationController => {
                ""
            }
            WorkloadKind::ReplicaSet
            | WorkloadKind::Deployment
            | WorkloadKind::DaemonSet
            | WorkloadKind::StatefulSet => "apps",
            WorkloadKind::Job | WorkloadKind::CronJob => "batch",
        }
    }

    /// Whether a document of this kind with `api_version` is this workload: the kind's group,
    /// or one it was served from in older releases (`extensions/v1beta1` Deployments). A
    /// `Deployment` of another group (a custom resource) is not one. An absent apiVersion is
    /// given the benefit of the doubt.
    pub fn is_api_version(self, api_version: &str) -> bool {
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        api_version.is_empty()
            || group == self.group()
            || (group == "extensions"
                && matches!(
                    self,
                    WorkloadKind::Deployment
                        | WorkloadKind::ReplicaSet
                        | WorkloadKind::DaemonSet
                        | WorkloadKind::Job
                ))
    }

    /// Where the pod template sits in the object (`spec.template`,
    /// `spec.jobTemplate.spec.template`, `template`); `None` for a Pod, which is its own pod.
    pub fn template_path(self) -> Option<&'static str> {
        match self {
            WorkloadKind::Pod => None,
            WorkloadKind::PodTemplate => Some("template"),
            WorkloadKind::CronJob => Some("spec.jobTemplate.spec.template"),
            _ => Some("spec.template"),
        }
    }

    /// Where the pod spec sits in the object: `spec` for a Pod, `<template path>.spec` else.
    pub fn spec_path(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "spec",
            WorkloadKind::PodTemplate => "template.spec",
            WorkloadKind::CronJob => "spec.jobTemplate.spec.template.spec",
            _ => "spec.template.spec",
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An object's metadata: the pod-relevant part the checks read, plus labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectMeta {
    /// `name`, `generateName`, `namespace`, `annotations`, `ownerReferences`. Kept as the
    /// checks' own type so a Pod is evaluated without copying its metadata.
    pub meta: PodMetadata,
    pub labels: BTreeMap<String, String>,
}

impl ObjectMeta {
    pub fn name(&self) -> Option<&str> {
        self.meta.name.as_deref()
    }

    pub fn generate_name(&self) -> Option<&str> {
        self.meta.generate_name.as_deref()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.meta.namespace.as_deref()
    }

    pub fn annotations(&self) -> &BTreeMap<Text, Text> {
        &self.meta.annotations
    }

    pub fn owner_references(&self) -> &[OwnerReference] {
        &self.meta.owner_references
    }
}

impl<'de> Deserialize<'de> for ObjectMeta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Option::<MetaWire>::deserialize(deserializer)?;
        Ok(wire.map(ObjectMeta::from).unwrap_or_default())
    }
}

/// Metadata as written; `null` metadata decodes as empty.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaWire {
    #[serde(default)]
    name: Option<Text>,
    #[serde(default)]
    generate_name: Option<Text>,
    #[serde(default)]
    namespace: Option<Text>,
    #[serde(default, deserialize_with = "podsec_pss::nulls::values_as_default")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "podsec_pss::nulls::values_as_default")]
    annotations: BTreeMap<Text, Text>,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    owner_references: Vec<OwnerReference>,
}

impl From<MetaWire> for ObjectMeta {
    fn from(w: MetaWire) -> Self {
        ObjectMeta {
            meta: PodMetadata {
                name: w.name,
                generate_name: w.generate_name,
                namespace: w.namespace,
                annotations: w.annotations,
                owner_references: w.owner_references,
            },
            labels: w.labels,
        }
    }
}

/// A pod template: the metadata and spec of the pods a workload creates.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PodTemplateSpec {
    #[serde(deserialize_with = "podsec_pss::nulls::as_default")]
    pub metadata: PodMetadata,
    #[serde(deserialize_with = "podsec_pss::nulls::as_default")]
    pub spec: PodSpec,
}

/// A pod as the pod list of a namespace returns it, or as a pod request carries it: what the
/// checks read, and the apiVersion and kind it names itself (a request's object is a pod only
/// when those, where present, say so).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Pod {
    #[serde(rename = "apiVersion")]
    pub api_version: Option<Text>,
    pub kind: Option<Text>,
    #[serde(deserialize_with = "podsec_pss::nulls::as_default")]
    pub metadata: PodMetadata,
    #[serde(deserialize_with = "podsec_pss::nulls::as_default")]
    pub spec: PodSpec,
}

impl Pod {
    /// Decodes a pod from JSON, through the fast path when it can and serde_json otherwise.
    pub fn from_json(json: &str) -> Result<Pod, serde_json::Error> {
        match podsec_pss::json::from_slice(json.as_bytes()) {
            Ok(pod) => Ok(pod),
            Err(_) => serde_json::from_str(json),
        }
    }
}

/// A `PodList` reduced to its pods.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PodList {
    #[serde(deserialize_with = "podsec_pss::nulls::as_default")]
    pub items: Vec<Pod>,
}

/// Borrowed metadata and spec of one pod to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct PodRef<'a> {
    pub metadata: &'a PodMetadata,
    pub spec: &'a PodSpec,
}

/// What an object holds besides its metadata.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A Pod's spec (its metadata is the object's).
    Pod(PodSpec),
    /// The template of a workload kind. `None` only for a ReplicationController without one
    /// (its template is optional; every other kind's is not, and defaults to empty).
    Template(Option<PodTemplateSpec>),
    /// The items of `kind: List` or any `*List` kind, each decoded by its own kind.
    List(Vec<Object>),
    /// Any other kind (Namespace, Service, …): nothing beyond metadata is read.
    Other,
}

/// A decoded object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// As written; empty when absent.
    pub api_version: String,
    /// As written; empty when absent (possible for request objects).
    pub kind: String,
    pub metadata: ObjectMeta,
    /// The kind the body was decoded as, when it is a workload.
    pub workload: Option<WorkloadKind>,
    pub body: Body,
    /// Whether the document writes the pod spec ([`WorkloadKind::spec_path`]) rather than
    /// leaving it out or `null`. The API server always sends one in an AdmissionRequest, and
    /// a workload written without one (`spec.tempalte: …`) decodes to an empty pod, which every
    /// level allows: the CLI reports such an object as skipped instead of judging it.
    pub has_pod_spec: bool,
}

impl Object {
    /// The pod to evaluate: a Pod's own metadata and spec, or a workload's template.
    pub fn pod(&self) -> Option<PodRef<'_>> {
        match &self.body {
            Body::Pod(spec) => Some(PodRef {
                metadata: &self.metadata.meta,
                spec,
            }),
            Body::Template(Some(template)) => Some(PodRef {
                metadata: &template.metadata,
                spec: &template.spec,
            }),
            _ => None,
        }
    }

    /// Where the pod template sits in this object; `None` for Pods and non-workloads.
    pub fn template_path(&self) -> Option<&'static str> {
        self.workload.and_then(WorkloadKind::template_path)
    }

    /// The items of a list kind (empty for anything else).
    pub fn items(&self) -> &[Object] {
        match &self.body {
            Body::List(items) => items,
            _ => &[],
        }
    }

    /// Applies the API server's defaulting that the checks can see to the pod
    /// ([`PodSpec::apply_api_defaults`]) or template ([`PodSpec::apply_template_defaults`]: a
    /// template's ports are not defaulted), and to every list item. For manifests as users
    /// write them; request objects are already defaulted.
    pub fn apply_api_defaults(&mut self) {
        match &mut self.body {
            Body::Pod(spec) => spec.apply_api_defaults(),
            Body::Template(Some(template)) => template.spec.apply_template_defaults(),
            Body::List(items) => items.iter_mut().for_each(Object::apply_api_defaults),
            Body::Template(None) | Body::Other => {}
        }
    }

    /// Decodes a request's raw JSON object as `kind` says ([`ObjectSeed`]).
    pub fn from_request_json(
        json: &str,
        kind: &GroupVersionKind,
    ) -> Result<Object, serde_json::Error> {
        if let Ok(object) = fast::request_object(json.as_bytes(), ObjectSeed::new(kind).shape()) {
            return Ok(object);
        }
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let object = ObjectSeed::new(kind).deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(object)
    }

    /// Decodes one JSON document by its own `kind` (as `Object`'s `Deserialize` does), through
    /// the fast path when it can and serde_json otherwise.
    pub fn from_json_slice(json: &[u8]) -> Result<Object, serde_json::Error> {
        match Object::from_json_fast(json) {
            Some(object) => Ok(object),
            None => serde_json::from_slice(json),
        }
    }

    /// [`Object::from_json_slice`] without the fallback: `None` when the fast path declines,
    /// and the caller decodes the document its own way (and reports its errors). Whatever this
    /// accepts, serde_json decodes to the same object.
    pub fn from_json_fast(json: &[u8]) -> Option<Object> {
        fast::document(json).ok()
    }

    /// [`Object::from_json_fast`] with a list's items skipped, as [`WithoutItems`] does.
    pub fn from_json_fast_without_items(json: &[u8]) -> Option<Object> {
        fast::without_items(json).ok()
    }
}

/// The object is not one of the workload kinds upstream extracts a template from (in their `v1`
/// version): `unexpected object type: <group/version, Kind=kind>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected object type: {0}")]
pub struct ExtractError(pub GroupVersionKind);

/// Decodes an object as an AdmissionRequest's `kind` says, whatever the object's own `kind`.
#[derive(Debug, Clone, Copy)]
pub struct ObjectSeed<'a> {
    kind: &'a GroupVersionKind,
}

impl<'a> ObjectSeed<'a> {
    pub fn new(kind: &'a GroupVersionKind) -> Self {
        ObjectSeed { kind }
    }

    /// The shape upstream's typed decoding and extraction give this kind.
    fn shape(&self) -> Shape {
        match WorkloadKind::from_kind(&self.kind.kind) {
            Some(workload) if workload.group() == self.kind.group && self.kind.version == "v1" => {
                Shape::Workload(workload)
            }
            _ => Shape::Other,
        }
    }
}

/// Extracts the pod template of a request object decoded with [`ObjectSeed`] (spec §5.1):
/// `Ok(None)` for a ReplicationController without template, an error for kinds that have no
/// template.
pub fn extract_pod<'o>(
    object: &'o Object,
    kind: &GroupVersionKind,
) -> Result<Option<PodRef<'o>>, ExtractError> {
    if object.workload.is_none() {
        return Err(ExtractError(kind.clone()));
    }
    Ok(object.pod())
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Object;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Object, D::Error> {
        deserializer.deserialize_map(ObjectVisitor {
            shape: Some(self.shape()),
            item_kind: None,
            items: Items::Decode,
        })
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor {
            shape: None,
            item_kind: None,
            items: Items::Decode,
        })
    }
}

/// Whether a list's items are decoded with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Items {
    Decode,
    /// Skipped without being held: the caller reads them one at a time ([`ListOf`]).
    Skip,
}

/// How the members of an object are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Workload(WorkloadKind),
    /// `List` itself or a typed list (`PodList`, `DeploymentList`, …). The items of a typed
    /// list of a workload kind, of Namespaces or of PodSecurityPolicies, are of that kind when
    /// they do not say (the
    /// API's own lists, `kubectl get --raw /api/v1/pods`, leave `kind` out of each item).
    List {
        items: Option<ItemKind>,
    },
    Other,
}

/// The kind of a typed list's items that name none, when it matters here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    Workload(WorkloadKind),
    /// `NamespaceList`: its items are cluster state (namespace labels).
    Namespace,
    /// `PodSecurityPolicyList` (`kubectl get --raw /apis/policy/v1beta1/podsecuritypolicies`):
    /// its items are cluster state too, which the CLI must recognise so as not to report them.
    PodSecurityPolicy,
}

impl ItemKind {
    /// The kind of the items of a `<Kind>List`, given `<Kind>`.
    fn of_item_kind(item_kind: &str) -> Option<ItemKind> {
        match WorkloadKind::from_kind(item_kind) {
            Some(workload) => Some(ItemKind::Workload(workload)),
            None => match item_kind {
                "Namespace" => Some(ItemKind::Namespace),
                "PodSecurityPolicy" => Some(ItemKind::PodSecurityPolicy),
                _ => None,
            },
        }
    }

    fn workload(self) -> Option<WorkloadKind> {
        match self {
            ItemKind::Workload(workload) => Some(workload),
            ItemKind::Namespace | ItemKind::PodSecurityPolicy => None,
        }
    }
}

impl Shape {
    fn of_kind(kind: &str) -> Shape {
        if let Some(workload) = WorkloadKind::from_kind(kind) {
            Shape::Workload(workload)
        } else if let Some(item_kind) = kind.strip_suffix("List") {
            Shape::List {
                items: ItemKind::of_item_kind(item_kind),
            }
        } else {
            Shape::Other
        }
    }

    /// The kind of a list's items that name none.
    fn item_kind(self) -> Option<ItemKind> {
        match self {
            Shape::List { items } => items,
            _ => None,
        }
    }

    /// The shape of a document by its own `kind`, or, for an item of a typed list that names
    /// none, by the list's item kind.
    fn of_document(kind: &str, item_kind: Option<ItemKind>) -> Shape {
        match item_kind.and_then(ItemKind::workload) {
            Some(workload) if kind.is_empty() => Shape::Workload(workload),
            _ => Shape::of_kind(kind),
        }
    }
}

/// The top-level keys the decoder reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    ApiVersion,
    Kind,
    Metadata,
    Spec,
    Template,
    Items,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "apiVersion" => Key::ApiVersion,
                    "kind" => Key::Kind,
                    "metadata" => Key::Metadata,
                    "spec" => Key::Spec,
                    "template" => Key::Template,
                    "items" => Key::Items,
                    _ => Key::Other,
                })
            }
            // YAML allows non-string keys; they are never the members read here.
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Key, E> {
                Ok(Key::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Key, E> {
                Ok(Key::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Key, E> {
                Ok(Key::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Key, E> {
                Ok(Key::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key::Other)
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// The typed members collected while reading an object.
#[derive(Default)]
struct Parts {
    pod_spec: Option<PodSpec>,
    template: Option<TemplateWire>,
    items: Option<Vec<Object>>,
}

/// A pod template as written: whether it has a `spec` matters (see [`Object::has_pod_spec`]).
#[derive(Default, Deserialize)]
#[serde(default)]
struct TemplateWire {
    #[serde(deserialize_with = "podsec_pss::nulls::as_default")]
    metadata: PodMetadata,
    spec: Option<PodSpec>,
}

/// `spec` of the kinds whose template is at `spec.template`.
#[derive(Default, Deserialize)]
struct TemplateHolder {
    #[serde(default)]
    template: Option<TemplateWire>,
}

/// `spec` of a CronJob.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CronJobSpec {
    #[serde(default)]
    job_template: Option<JobTemplate>,
}

#[derive(Default, Deserialize)]
struct JobTemplate {
    #[serde(default)]
    spec: Option<TemplateHolder>,
}

/// Decodes one member (`spec`, `template` or `items`) into `parts` as `shape` dictates, and
/// skips it when the shape does not read it.
fn decode_member<'de, D: Deserializer<'de>>(
    shape: Shape,
    key: Key,
    deserializer: D,
    parts: &mut Parts,
) -> Result<(), D::Error> {
    match Member::of(shape, key) {
        Member::PodSpec => parts.pod_spec = Option::<PodSpec>::deserialize(deserializer)?,
        Member::Template => {
            parts.template = Option::<TemplateWire>::deserialize(deserializer)?;
        }
        Member::CronJobSpec => {
            parts.template =
                Option::<CronJobSpec>::deserialize(deserializer)?.and_then(CronJobSpec::template);
        }
        Member::TemplateHolder => {
            parts.template =
                Option::<TemplateHolder>::deserialize(deserializer)?.and_then(|h| h.template);
        }
        Member::Items => {
            parts.items = ItemsSeed {
                item_kind: shape.item_kind(),
            }
            .deserialize(deserializer)?;
        }
        Member::Ignored => {
            IgnoredAny::deserialize(deserializer)?;
        }
    }
    Ok(())
}

/// What a member (`spec`, `template`, `items`) holds for an object of a shape; the serde and
/// the fast decoding both route by it.
enum Member {
    PodSpec,
    Template,
    CronJobSpec,
    TemplateHolder,
    /// A list's items, when decoded ([`Items::Decode`]; skipped items never get here).
    Items,
    Ignored,
}

impl Member {
    fn of(shape: Shape, key: Key) -> Member {
        use WorkloadKind as W;
        match (shape, key) {
            (Shape::Workload(W::Pod), Key::Spec) => Member::PodSpec,
            (Shape::Workload(W::PodTemplate), Key::Template) => Member::Template,
            (Shape::Workload(W::CronJob), Key::Spec) => Member::CronJobSpec,
            (
                Shape::Workload(
                    W::ReplicationController
                    | W::ReplicaSet
                    | W::Deployment
                    | W::DaemonSet
                    | W::StatefulSet
                    | W::Job,
                ),
                Key::Spec,
            ) => Member::TemplateHolder,
            (Shape::List { .. }, Key::Items) => Member::Items,
            _ => Member::Ignored,
        }
    }
}

impl CronJobSpec {
    /// `spec.jobTemplate.spec.template`.
    fn template(self) -> Option<TemplateWire> {
        self.job_template
            .and_then(|job| job.spec)
            .and_then(|holder| holder.template)
    }
}

struct MemberSeed<'p> {
    shape: Shape,
    key: Key,
    parts: &'p mut Parts,
}

impl<'de> DeserializeSeed<'de> for MemberSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        decode_member(self.shape, self.key, deserializer, self.parts)
    }
}

struct ObjectVisitor {
    /// Known up front when decoding a request object; otherwise taken from `kind`.
    shape: Option<Shape>,
    /// For an item of a typed list: its kind if it names none.
    item_kind: Option<ItemKind>,
    items: Items,
}

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
        let mut shape = self.shape;
        let mut api_version = String::new();
        let mut kind = String::new();
        let mut metadata = ObjectMeta::default();
        let mut parts = Parts::default();
        // Members seen before `kind`, decoded once the shape is known.
        let mut pending: Vec<(Key, serde_json::Value)> = Vec::new();

        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::ApiVersion => {
                    api_version = map.next_value::<Option<String>>()?.unwrap_or_default();
                }
                Key::Kind => {
                    kind = map.next_value::<Option<String>>()?.unwrap_or_default();
                    if shape.is_none() {
                        shape = Some(Shape::of_kind(&kind));
                    }
                }
                Key::Metadata => metadata = map.next_value()?,
                // Skipped items are not held, whatever the shape turns out to be.
                Key::Items if self.items == Items::Skip => {
                    map.next_value::<IgnoredAny>()?;
                }
                Key::Spec | Key::Template | Key::Items => match shape {
                    Some(shape) => map.next_value_seed(MemberSeed {
                        shape,
                        key,
                        parts: &mut parts,
                    })?,
                    None => pending.push((key, map.next_value()?)),
                },
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }

        let by_own_kind = self.shape.is_none();
        let shape = shape.unwrap_or(Shape::of_document(&kind, self.item_kind));
        for (key, value) in pending {
            decode_member(shape, key, value, &mut parts).map_err(de::Error::custom)?;
        }
        Ok(assemble(
            shape,
            by_own_kind,
            api_version,
            kind,
            metadata,
            parts,
        ))
    }
}

/// The items of a list, each decoded by its own kind, or by the list's item kind when it names
/// none (see [`Shape::List`]).
struct ItemsSeed {
    item_kind: Option<ItemKind>,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed {
    type Value = Option<Vec<Object>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed {
    type Value = Option<Vec<Object>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of Kubernetes objects")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ItemSeed {
            item_kind: self.item_kind,
            items: Items::Decode,
        })? {
            items.push(item);
        }
        Ok(Some(items))
    }
}

/// One list item (see `ItemsSeed` and [`ListOf::item_seed`]). The list's apiVersion is not
/// applied here: [`ListOf::adopt`] does that.
#[derive(Debug, Clone, Copy)]
pub struct ItemSeed {
    item_kind: Option<ItemKind>,
    items: Items,
}

impl<'de> DeserializeSeed<'de> for ItemSeed {
    type Value = Object;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Object, D::Error> {
        deserializer.deserialize_map(ObjectVisitor {
            shape: None,
            item_kind: self.item_kind,
            items: self.items,
        })
    }
}

/// Decodes an object by its own kind, as `Object`'s `Deserialize` does, except that a list's
/// items are skipped without being held ([`Body::List`] is then empty): the caller reads them
/// one at a time with [`ListOf`], so that a large list is never in memory as a whole, and one
/// item that cannot be decoded spoils only itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct WithoutItems;

impl<'de> DeserializeSeed<'de> for WithoutItems {
    type Value = Object;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Object, D::Error> {
        deserializer.deserialize_map(ObjectVisitor {
            shape: None,
            item_kind: None,
            items: Items::Skip,
        })
    }
}

/// What a list says of its items: the kind of those that name none (typed lists) and the
/// apiVersion they inherit. Items read with [`ListOf::item_seed`] (or
/// [`ListOf::item_from_json_fast`]) and completed by [`ListOf::adopt`] are the items
/// `Object`'s `Deserialize` decodes in the list, except that their own list items are skipped,
/// as [`WithoutItems`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOf {
    item_kind: Option<ItemKind>,
    api_version: String,
}

impl ListOf {
    /// For an object of a list kind (`List`, `PodList`, …); `None` for anything else.
    pub fn of(object: &Object) -> Option<ListOf> {
        match &object.body {
            Body::List(_) => Some(ListOf {
                item_kind: Shape::of_kind(&object.kind).item_kind(),
                api_version: object.api_version.clone(),
            }),
            _ => None,
        }
    }

    /// Decodes one item (a map), its own list items skipped.
    pub fn item_seed(&self) -> ItemSeed {
        ItemSeed {
            item_kind: self.item_kind,
            items: Items::Skip,
        }
    }

    /// [`ListOf::item_seed`] on the fast JSON path; `None` when it declines (decode the item
    /// with serde_json and the seed then: the result is the same).
    pub fn item_from_json_fast(&self, json: &[u8]) -> Option<Object> {
        fast::item(json, self.item_kind).ok()
    }

    /// Completes an item as its list does: a typed list's items that name no apiVersion or
    /// kind have the list's.
    pub fn adopt(&self, item: &mut Object) {
        adopt_item(self.item_kind, &self.api_version, item);
    }
}

/// See [`ListOf::adopt`]. A workload item of a typed list in another API group (a custom
/// resource's `PodList`) is not that workload.
fn adopt_item(item_kind: Option<ItemKind>, api_version: &str, item: &mut Object) {
    let Some(item_kind) = item_kind else {
        return;
    };
    if item.api_version.is_empty() {
        api_version.clone_into(&mut item.api_version);
        if let ItemKind::Workload(workload) = item_kind
            && item.workload == Some(workload)
            && !workload.is_api_version(api_version)
        {
            item.workload = None;
            item.body = Body::Other;
            item.has_pod_spec = false;
        }
    }
    if item.kind.is_empty() {
        match item_kind {
            ItemKind::Namespace => item.kind = "Namespace".to_owned(),
            ItemKind::PodSecurityPolicy => item.kind = "PodSecurityPolicy".to_owned(),
            // Set when the item is assembled, since it decides how the item is read.
            ItemKind::Workload(_) => {}
        }
    }
}

/// The object from what its members decoded to. `by_own_kind`: the shape came from the
/// document's own `kind` (not from an AdmissionRequest's), so a workload kind of another API
/// group is not that workload.
fn assemble(
    shape: Shape,
    by_own_kind: bool,
    api_version: String,
    mut kind: String,
    metadata: ObjectMeta,
    parts: Parts,
) -> Object {
    let shape = match shape {
        Shape::Workload(workload) if by_own_kind && !workload.is_api_version(&api_version) => {
            Shape::Other
        }
        shape => shape,
    };
    if let Shape::Workload(workload) = shape
        && kind.is_empty()
    {
        // An item of a typed list, of the list's kind.
        workload.as_str().clone_into(&mut kind);
    }
    // `Option<PodSpec>` is `None` for an absent or `null` spec.
    let pod_has_spec = parts.pod_spec.is_some();
    let template_has_spec = parts
        .template
        .as_ref()
        .is_some_and(|template| template.spec.is_some());
    let (workload, body, has_pod_spec) = match shape {
        Shape::Workload(WorkloadKind::Pod) => (
            Some(WorkloadKind::Pod),
            Body::Pod(parts.pod_spec.unwrap_or_default()),
            pod_has_spec,
        ),
        Shape::Workload(WorkloadKind::ReplicationController) => (
            Some(WorkloadKind::ReplicationController),
            Body::Template(parts.template.map(TemplateWire::into_template)),
            template_has_spec,
        ),
        Shape::Workload(workload) => (
            Some(workload),
            Body::Template(Some(
                parts
                    .template
                    .map(TemplateWire::into_template)
                    .unwrap_or_default(),
            )),
            template_has_spec,
        ),
        Shape::List { items: item_kind } => {
            let mut items = parts.items.unwrap_or_default();
            for item in &mut items {
                adopt_item(item_kind, &api_version, item);
            }
            (None, Body::List(items), false)
        }
        Shape::Other => (None, Body::Other, false),
    };
    Object {
        api_version,
        kind,
        metadata,
        workload,
        body,
        has_pod_spec,
    }
}

impl TemplateWire {
    fn into_template(self) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: self.metadata,
            spec: self.spec.unwrap_or_default(),
        }
    }
}

/// The same decoding on the fast JSON path of `podsec_pss::json`: one pass, members before
/// `kind` kept as raw bytes instead of `serde_json::Value`. It declines whatever is unusual and
/// the callers above fall back to the serde decoding, so the two never disagree.
mod fast {
    use podsec_pss::json::{self, FromJson, Reader};

    use super::*;

    podsec_pss::json_struct!(MetaWire {
        "name" => name,
        "generateName" => generate_name,
        "namespace" => namespace,
        "labels" => labels,
        "annotations" => annotations,
        "ownerReferences" => owner_references,
    });

    /// `null` metadata is empty metadata, as the serde decoding.
    impl FromJson for ObjectMeta {
        fn read_into(reader: &mut Reader<'_>, slot: &mut Self) -> json::Result<()> {
            let wire: Option<MetaWire> = json::read(reader)?;
            *slot = wire.map(ObjectMeta::from).unwrap_or_default();
            Ok(())
        }
    }

    podsec_pss::json_struct!(TemplateWire { "metadata" => metadata, "spec" => spec });
    podsec_pss::json_struct!(Pod {
        "apiVersion" => api_version,
        "kind" => kind,
        "metadata" => metadata,
        "spec" => spec,
    });
    podsec_pss::json_struct!(TemplateHolder { "template" => template });
    podsec_pss::json_struct!(CronJobSpec { "jobTemplate" => job_template });
    podsec_pss::json_struct!(JobTemplate { "spec" => spec });

    /// A request's object, shaped by the request's kind.
    pub(super) fn request_object(bytes: &[u8], shape: Shape) -> json::Result<Object> {
        whole(bytes, Some(shape), None, Items::Decode)
    }

    /// A document shaped by its own kind.
    pub(super) fn document(bytes: &[u8]) -> json::Result<Object> {
        whole(bytes, None, None, Items::Decode)
    }

    /// A document shaped by its own kind, a list's items skipped ([`WithoutItems`]).
    pub(super) fn without_items(bytes: &[u8]) -> json::Result<Object> {
        whole(bytes, None, None, Items::Skip)
    }

    /// One list item ([`ListOf::item_seed`]).
    pub(super) fn item(bytes: &[u8], item_kind: Option<ItemKind>) -> json::Result<Object> {
        whole(bytes, None, item_kind, Items::Skip)
    }

    /// `bytes` as one object ([`object`]) and nothing after it but whitespace.
    fn whole(
        bytes: &[u8],
        fixed: Option<Shape>,
        item_kind: Option<ItemKind>,
        items: Items,
    ) -> json::Result<Object> {
        let mut reader = Reader::new(bytes);
        let object = object(&mut reader, fixed, item_kind, items)?;
        reader.finish()?;
        Ok(object)
    }

    fn key(raw: &[u8]) -> Key {
        match raw {
            b"apiVersion" => Key::ApiVersion,
            b"kind" => Key::Kind,
            b"metadata" => Key::Metadata,
            b"spec" => Key::Spec,
            b"template" => Key::Template,
            b"items" => Key::Items,
            _ => Key::Other,
        }
    }

    /// Mirrors `ObjectVisitor::visit_map`.
    fn object(
        reader: &mut Reader<'_>,
        fixed: Option<Shape>,
        item_kind: Option<ItemKind>,
        items: Items,
    ) -> json::Result<Object> {
        let mut shape = fixed;
        let mut api_version = String::new();
        let mut kind = String::new();
        let mut metadata = ObjectMeta::default();
        let mut parts = Parts::default();
        reader.fields(|reader, raw_key| {
            match key(raw_key) {
                Key::ApiVersion => {
                    api_version = json::read::<Option<String>>(reader)?.unwrap_or_default();
                }
                Key::Kind => {
                    kind = json::read::<Option<String>>(reader)?.unwrap_or_default();
                    if shape.is_none() {
                        shape = Some(Shape::of_kind(&kind));
                    }
                }
                Key::Metadata => metadata = json::read(reader)?,
                // Skipped as serde skips them (`IgnoredAny`), wherever they are.
                Key::Items if items == Items::Skip => reader.skip_value()?,
                // Before `kind` the serde decoding buffers the member as a `serde_json::Value`,
                // whose rules (every string UTF-8, no lone surrogates, finite numbers) differ
                // from decoding or skipping it: leave such documents to serde.
                member @ (Key::Spec | Key::Template | Key::Items) => match shape {
                    Some(shape) => read_member(shape, member, reader, &mut parts)?,
                    None => return Err(json::Declined),
                },
                Key::Other => reader.unknown_key(raw_key)?,
            }
            Ok(())
        })?;

        let shape = shape.unwrap_or(Shape::of_document(&kind, item_kind));
        Ok(assemble(
            shape,
            fixed.is_none(),
            api_version,
            kind,
            metadata,
            parts,
        ))
    }

    /// Mirrors `decode_member`.
    fn read_member(
        shape: Shape,
        key: Key,
        reader: &mut Reader<'_>,
        parts: &mut Parts,
    ) -> json::Result<()> {
        match Member::of(shape, key) {
            Member::PodSpec => parts.pod_spec = json::read(reader)?,
            Member::Template => parts.template = json::read(reader)?,
            Member::CronJobSpec => {
                parts.template =
                    json::read::<Option<CronJobSpec>>(reader)?.and_then(CronJobSpec::template);
            }
            Member::TemplateHolder => {
                parts.template =
                    json::read::<Option<TemplateHolder>>(reader)?.and_then(|h| h.template);
            }
            Member::Items => {
                if reader.null()? {
                    parts.items = None;
                } else {
                    let mut list = Vec::new();
                    reader.array(|reader| {
                        list.push(object(reader, None, shape.item_kind(), Items::Decode)?);
                        Ok(())
                    })?;
                    parts.items = Some(list);
                }
            }
            Member::Ignored => reader.skip_value()?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest of `kind` with a privileged container named after the kind, template
    /// metadata carrying an annotation, and decoys (`spec.template` on a Pod, `template` on a
    /// Deployment) that must not be read.
    fn manifest(kind: WorkloadKind) -> serde_json::Value {
        let template = serde_json::json!({
            "metadata": {"name": "t", "annotations": {"a": "b"}},
            "spec": {"containers": [{"name": kind.as_str(), "image": "x",
                "securityContext": {"privileged": true}}]}
        });
        let (api_version, body) = match kind {
            WorkloadKind::Pod => (
                "v1",
                serde_json::json!({"spec": {
                "containers": [{"name": "Pod", "image": "x", "securityContext": {"privileged": true}}],
                "template": {"spec": {"containers": []}}}}),
            ),
            WorkloadKind::PodTemplate => ("v1", serde_json::json!({"template": template})),
            WorkloadKind::CronJob => (
                "batch/v1",
                serde_json::json!({"spec": {"schedule": "* * * * *",
                "jobTemplate": {"spec": {"template": template}}}}),
            ),
            WorkloadKind::Job => (
                "batch/v1",
                serde_json::json!({"spec": {"template": template}}),
            ),
            WorkloadKind::ReplicationController => (
                "v1",
                serde_json::json!({"spec": {"replicas": 1, "template": template}}),
            ),
            _ => (
                "apps/v1",
                serde_json::json!({"spec": {"selector": {}, "template": template},
                "template": {"spec": {"containers": []}}}),
            ),
        };
        let mut object = serde_json::json!({"apiVersion": api_version, "kind": kind.as_str(),
            "metadata": {"name": "obj", "namespace": "ns", "labels": {"app": "a"}}});
        for (key, value) in body.as_object().into_iter().flatten() {
            object[key] = value.clone();
        }
        object
    }

    /// The same object rendered with its members in the given key order.
    fn render(object: &serde_json::Value, order: &[&str]) -> String {
        let map = object.as_object().expect("object");
        let members: Vec<String> = order
            .iter()
            .filter_map(|key| map.get(*key).map(|value| format!("{key:?}:{value}")))
            .collect();
        format!("{{{}}}", members.join(","))
    }

    fn check_workload(object: &Object, kind: WorkloadKind) {
        assert_eq!(object.kind, kind.as_str());
        assert_eq!(object.workload, Some(kind));
        assert_eq!(object.metadata.name(), Some("obj"));
        assert_eq!(object.metadata.namespace(), Some("ns"));
        assert_eq!(
            object.metadata.labels.get("app").map(String::as_str),
            Some("a")
        );
        let pod = object.pod().expect("pod template");
        assert_eq!(pod.spec.containers.len(), 1, "{kind}");
        assert_eq!(pod.spec.containers[0].name, kind.as_str());
        if kind != WorkloadKind::Pod {
            assert_eq!(pod.metadata.name.as_deref(), Some("t"));
            assert_eq!(pod.metadata.annotations.len(), 1);
        }
        assert_eq!(object.template_path(), kind.template_path());
    }

    #[test]
    fn decodes_every_workload_kind_from_json_and_yaml_in_any_key_order() {
        let orders: [&[&str]; 3] = [
            &["apiVersion", "kind", "metadata", "spec", "template"],
            &["spec", "template", "metadata", "apiVersion", "kind"],
            &["metadata", "template", "kind", "spec", "apiVersion"],
        ];
        for kind in WorkloadKind::ALL {
            let value = manifest(kind);
            for order in orders {
                let json = render(&value, order);
                let from_json: Object = serde_json::from_str(&json).expect("json");
                check_workload(&from_json, kind);
                // The fast path takes documents whose kind comes before the members it reads.
                match fast::document(json.as_bytes()) {
                    Ok(fast) => assert_eq!(fast, from_json),
                    Err(_) => assert_ne!(order[0], "apiVersion", "{kind} {order:?}"),
                }
                // JSON is YAML; a block-style rendering goes through the YAML decoder too.
                let from_yaml: Object = serde_saphyr::from_str(&json).expect("yaml");
                assert_eq!(from_yaml, from_json, "{kind} {order:?}");
            }
        }
    }

    #[test]
    fn decodes_block_yaml() {
        let yaml = "
# comment
spec:
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
            container.apparmor.security.beta.kubernetes.io/c: unconfined
        spec:
          hostNetwork: true
          containers:
          - name: c
            image: busybox
            ports:
            - containerPort: 80
metadata:
  name: cj
apiVersion: batch/v1
kind: CronJob
";
        let mut object: Object = serde_saphyr::from_str(yaml).expect("yaml");
        object.apply_api_defaults();
        let pod = object.pod().expect("template");
        assert_eq!(pod.spec.host_network, Some(true));
        // Since Kubernetes 1.28 the API server defaults hostPort in Pods, not in templates.
        assert_eq!(pod.spec.containers[0].ports[0].host_port, None);
        assert!(pod.spec.lacks_host_port_defaults());
        let mut created = pod.spec.clone();
        created.apply_host_port_defaults();
        assert_eq!(created.containers[0].ports[0].host_port, Some(80));
        assert!(!created.lacks_host_port_defaults());
        assert_eq!(pod.metadata.annotations.len(), 1);
        assert_eq!(
            object.template_path(),
            Some("spec.jobTemplate.spec.template")
        );
        assert_eq!(
            WorkloadKind::CronJob.spec_path(),
            "spec.jobTemplate.spec.template.spec"
        );
    }

    #[test]
    fn missing_templates_follow_upstream() {
        let rc: Object =
            serde_json::from_str(r#"{"kind":"ReplicationController","spec":{"replicas":1}}"#)
                .expect("rc");
        assert_eq!(rc.body, Body::Template(None));
        assert!(rc.pod().is_none());
        for kind in [
            "Deployment",
            "DaemonSet",
            "StatefulSet",
            "ReplicaSet",
            "Job",
            "CronJob",
        ] {
            for body in ["", r#","spec":null"#, r#","spec":{}"#] {
                let json = format!(r#"{{"kind":"{kind}"{body}}}"#);
                let object: Object = serde_json::from_str(&json).expect("decodes");
                let pod = object.pod().expect("empty template");
                assert_eq!(pod.spec, &PodSpec::default(), "{json}");
            }
        }
        let pod: Object =
            serde_json::from_str(r#"{"kind":"Pod","metadata":null,"spec":null}"#).expect("pod");
        assert_eq!(pod.body, Body::Pod(PodSpec::default()));
    }

    /// Decodes a document on both paths, which must agree (the fast one may decline).
    fn decode_both(json: &str) -> Object {
        let object: Object = serde_json::from_str(json).expect("serde decodes");
        if let Ok(fast) = fast::document(json.as_bytes()) {
            assert_eq!(fast, object, "the fast path agrees on {json}");
        }
        object
    }

    #[test]
    fn objects_say_whether_they_write_a_pod_spec() {
        let cases = [
            (r#"{"apiVersion":"v1","kind":"Pod"}"#, false),
            (r#"{"apiVersion":"v1","kind":"Pod","spec":null}"#, false),
            (r#"{"apiVersion":"v1","kind":"Pod","spec":{}}"#, true),
            (r#"{"kind":"Pod","spec":{"containers":[]}}"#, true),
            (
                r#"{"apiVersion":"apps/v1","kind":"Deployment","spec":{"tempalte":{"spec":{}}}}"#,
                false,
            ),
            (
                r#"{"apiVersion":"apps/v1","kind":"Deployment","spec":{"template":{}}}"#,
                false,
            ),
            (
                r#"{"apiVersion":"apps/v1","kind":"Deployment","spec":{"template":{"spec":null}}}"#,
                false,
            ),
            (
                r#"{"apiVersion":"apps/v1","kind":"Deployment","spec":{"template":{"spec":{}}}}"#,
                true,
            ),
            (
                r#"{"apiVersion":"v1","kind":"ReplicationController","spec":{}}"#,
                false,
            ),
            (
                r#"{"apiVersion":"v1","kind":"PodTemplate","template":{"spec":{}}}"#,
                true,
            ),
            (
                r#"{"apiVersion":"batch/v1","kind":"CronJob","spec":{"jobTemplate":{"spec":{}}}}"#,
                false,
            ),
            (
                r#"{"apiVersion":"batch/v1","kind":"CronJob","spec":{"jobTemplate":{"spec":{"template":{"spec":{}}}}}}"#,
                true,
            ),
            (r#"{"apiVersion":"v1","kind":"Namespace","spec":{}}"#, false),
        ];
        for (json, written) in cases {
            assert_eq!(decode_both(json).has_pod_spec, written, "{json}");
        }
    }

    #[test]
    fn workload_kinds_of_other_api_groups_are_not_workloads() {
        let spec = r#""spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}"#;
        let cases = [
            ("apps/v1", "Deployment", true),
            ("extensions/v1beta1", "Deployment", true),
            ("extensions/v1beta1", "DaemonSet", true),
            ("apps/v1beta2", "StatefulSet", true),
            ("extensions/v1beta1", "StatefulSet", false),
            ("example.com/v1", "Deployment", false),
            ("batch/v1beta1", "Job", true),
            ("apps/v1", "Job", false),
            ("", "Deployment", true),
            ("v1", "ReplicationController", true),
            ("apps/v1", "ReplicationController", false),
        ];
        for (api_version, kind, workload) in cases {
            let json = format!(r#"{{"apiVersion":"{api_version}","kind":"{kind}",{spec}}}"#);
            let object = decode_both(&json);
            assert_eq!(object.workload.is_some(), workload, "{json}");
            if !workload {
                assert_eq!((object.body, object.has_pod_spec), (Body::Other, false));
            }
        }
        let pod = decode_both(r#"{"apiVersion":"apps/v1","kind":"Pod","spec":{}}"#);
        assert_eq!(pod.workload, None);
        // A request's kind decides there, as upstream does: not the object's apiVersion.
        let kind = GroupVersionKind {
            group: String::new(),
            version: "v1".into(),
            kind: "Pod".into(),
        };
        let request =
            Object::from_request_json(r#"{"apiVersion":"x/v1","kind":"Pod","spec":{}}"#, &kind)
                .expect("request object");
        assert_eq!(request.workload, Some(WorkloadKind::Pod));
    }

    #[test]
    fn items_of_typed_workload_lists_are_of_the_list_kind_when_they_name_none() {
        let pod = r#"{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c"}]}}"#;
        for json in [
            format!(r#"{{"kind":"PodList","apiVersion":"v1","items":[{pod}]}}"#),
            // Items before the list's kind, and before the item's own members.
            format!(r#"{{"items":[{pod}],"apiVersion":"v1","kind":"PodList"}}"#),
        ] {
            let list = decode_both(&json);
            let item = &list.items()[0];
            assert_eq!(
                (item.api_version.as_str(), item.kind.as_str()),
                ("v1", "Pod"),
                "{json}"
            );
            assert_eq!(item.workload, Some(WorkloadKind::Pod));
            assert!(item.has_pod_spec);
            assert_eq!(item.metadata.name(), Some("p"));
            assert_eq!(item.pod().map(|p| p.spec.containers.len()), Some(1));
        }
        let deployments = decode_both(
            r#"{"kind":"DeploymentList","apiVersion":"apps/v1","items":[{"spec":{"template":{"spec":{}}}},{"kind":"Service","apiVersion":"v1"}]}"#,
        );
        let items = deployments.items();
        assert_eq!(items[0].workload, Some(WorkloadKind::Deployment));
        assert_eq!(items[0].api_version, "apps/v1");
        assert_eq!(
            (items[1].kind.as_str(), items[1].workload),
            ("Service", None)
        );
        // `List` says nothing of its items' kinds; a custom group's list is not a workload list.
        for json in [
            format!(r#"{{"kind":"List","apiVersion":"v1","items":[{pod}]}}"#),
            format!(r#"{{"kind":"PodList","apiVersion":"example.com/v1","items":[{pod}]}}"#),
        ] {
            let list = decode_both(&json);
            assert_eq!(list.items()[0].workload, None, "{json}");
        }
        let yaml = "kind: PodList\napiVersion: v1\nitems:\n- metadata: {name: y}\n  spec: {hostPID: true}\n";
        let list: Object = serde_saphyr::from_str(yaml).expect("yaml list");
        assert_eq!(list.items()[0].kind, "Pod");
        assert_eq!(
            list.items()[0].pod().map(|p| p.spec.host_pid),
            Some(Some(true))
        );
    }

    #[test]
    fn items_of_a_namespace_list_without_kind_are_namespaces() {
        let json = r#"{"kind":"NamespaceList","apiVersion":"v1","items":[{"metadata":{"name":"n","labels":{"a":"b"}}},{"kind":"Secret","metadata":{"name":"s"}}]}"#;
        let list = decode_both(json);
        let kinds: Vec<(&str, &str)> = list
            .items()
            .iter()
            .map(|item| (item.api_version.as_str(), item.kind.as_str()))
            .collect();
        assert_eq!(kinds, [("v1", "Namespace"), ("v1", "Secret")]);
        // Read one at a time, they are the same.
        let shallow: Object = WithoutItems
            .deserialize(&mut serde_json::Deserializer::from_str(json))
            .expect("shallow");
        assert_eq!(shallow.items(), &[]);
        assert_eq!(
            Object::from_json_fast_without_items(json.as_bytes()),
            Some(shallow.clone())
        );
        let of = ListOf::of(&shallow).expect("a list");
        let mut item = of
            .item_from_json_fast(br#"{"metadata":{"name":"n","labels":{"a":"b"}}}"#)
            .expect("fast");
        of.adopt(&mut item);
        assert_eq!(item, list.items()[0]);
    }

    #[test]
    fn items_of_a_podsecuritypolicy_list_without_kind_are_podsecuritypolicies() {
        let json = r#"{"apiVersion":"policy/v1beta1","kind":"PodSecurityPolicyList","items":[{"metadata":{"name":"typed"}}]}"#;
        let list = decode_both(json);
        let item = &list.items()[0];
        assert_eq!(
            (item.api_version.as_str(), item.kind.as_str()),
            ("policy/v1beta1", "PodSecurityPolicy")
        );
        let shallow: Object = WithoutItems
            .deserialize(&mut serde_json::Deserializer::from_str(json))
            .expect("shallow");
        let of = ListOf::of(&shallow).expect("a list");
        let mut fast = of
            .item_from_json_fast(br#"{"metadata":{"name":"typed"}}"#)
            .expect("fast");
        of.adopt(&mut fast);
        assert_eq!(&fast, item);
    }

    #[test]
    fn lists_hold_objects_of_their_own_kinds() {
        let json = r#"{"items":[{"kind":"Pod","spec":{"containers":[{"name":"a"}]}},
            {"kind":"Service","spec":{"ports":[]}},
            {"spec":{"template":{"spec":{"containers":[{"name":"b"}]}}},"kind":"Deployment"}],
            "kind":"List","apiVersion":"v1"}"#;
        let list: Object = serde_json::from_str(json).expect("list");
        let items = list.items();
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[0].pod().map(|p| p.spec.containers[0].name.as_str()),
            Some("a")
        );
        assert_eq!(items[1].body, Body::Other);
        assert_eq!(
            items[2].pod().map(|p| p.spec.containers[0].name.as_str()),
            Some("b")
        );
        let typed: Object =
            serde_json::from_str(r#"{"kind":"PodList","items":[{"kind":"Pod"}]}"#).expect("typed");
        assert_eq!(typed.items().len(), 1);
        let yaml = "kind: List\nitems:\n- kind: Namespace\n  metadata:\n    name: n\n    labels:\n      a: b\n";
        let list: Object = serde_saphyr::from_str(yaml).expect("yaml list");
        assert_eq!(
            list.items()[0].metadata.labels.get("a").map(String::as_str),
            Some("b")
        );
    }

    #[test]
    fn other_kinds_keep_metadata_only() {
        let ns: Object = serde_json::from_str(
            r#"{"kind":"Namespace","metadata":{"name":"n","labels":{"pod-security.kubernetes.io/enforce":"baseline"}},"spec":{"finalizers":["kubernetes"]}}"#,
        )
        .expect("namespace");
        assert_eq!(ns.body, Body::Other);
        assert_eq!(ns.workload, None);
        assert_eq!(ns.metadata.labels.len(), 1);
        let nothing: Object = serde_json::from_str("{}").expect("empty");
        assert_eq!((nothing.kind.as_str(), &nothing.body), ("", &Body::Other));
    }

    #[test]
    fn type_errors_are_errors_not_panics() {
        for bad in [
            r#"{"kind":"Pod","spec":{"containers":"x"}}"#,
            r#"{"spec":{"containers":"x"},"kind":"Pod"}"#,
            r#"{"kind":"Deployment","spec":{"template":"x"}}"#,
            r#"{"kind":3}"#,
            r#"{"kind":"List","items":{}}"#,
            "[]",
            r#"{"metadata":{"labels":[]}}"#,
        ] {
            assert!(serde_json::from_str::<Object>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_objects_decode_by_the_request_kind() {
        let gvk = GroupVersionKind::new("apps", "v1", "Deployment");
        // The object's own kind (absent, or even different) does not matter.
        let json = r#"{"spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}}"#;
        let object = Object::from_request_json(json, &gvk).expect("decodes");
        let pod = extract_pod(&object, &gvk)
            .expect("extracts")
            .expect("template");
        assert_eq!(pod.spec.containers[0].name, "c");
        let json = r#"{"kind":"Pod","spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}}"#;
        let object = Object::from_request_json(json, &gvk).expect("decodes");
        assert!(extract_pod(&object, &gvk).expect("extracts").is_some());

        // Only the v1 versions upstream extracts from.
        for gvk in [
            GroupVersionKind::new("extensions", "v1beta1", "Deployment"),
            GroupVersionKind::new("batch", "v1beta1", "CronJob"),
            GroupVersionKind::new("", "v1", "Service"),
        ] {
            let object = Object::from_request_json(json, &gvk).expect("decodes");
            let error = extract_pod(&object, &gvk).expect_err("no template");
            assert_eq!(error.to_string(), format!("unexpected object type: {gvk}"));
        }
        let rc = GroupVersionKind::new("", "v1", "ReplicationController");
        let object = Object::from_request_json(r#"{"spec":{}}"#, &rc).expect("decodes");
        assert_eq!(
            extract_pod(&object, &rc)
                .expect("extracts")
                .map(|p| p.spec.clone()),
            None
        );
        assert!(Object::from_request_json("{} x", &rc).is_err());
    }

    #[test]
    fn listed_pods_decode_leanly() {
        let list: PodList = serde_json::from_str(
            r#"{"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"p",
            "ownerReferences":[{"uid":"u","controller":true}]},"spec":{"runtimeClassName":"gvisor"},"status":{}}]}"#,
        )
        .expect("list");
        assert_eq!(list.items[0].metadata.owner_references[0].uid, "u");
        assert_eq!(
            list.items[0].spec.runtime_class_name.as_deref(),
            Some("gvisor")
        );
    }

    /// Serde's decoding of a request object, without the fast path.
    fn serde_request_object(json: &str, kind: &GroupVersionKind) -> Option<Object> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let object = ObjectSeed::new(kind).deserialize(&mut deserializer).ok()?;
        deserializer.end().ok()?;
        Some(object)
    }

    #[test]
    fn fast_path_agrees_with_serde_on_the_corpus() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
        if !root.is_dir() {
            eprintln!("skipping: ../shared/corpus not found beside the checkout");
            return;
        }
        let (mut fast_documents, mut fast_requests) = (0, 0);
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("corpus dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                // JSON files as they are, YAML ones converted: both exercise the decoder.
                let json = if path.extension().is_some_and(|e| e == "json") {
                    bytes
                } else {
                    match serde_saphyr::from_slice::<serde_json::Value>(&bytes) {
                        Ok(value) => serde_json::to_vec(&value).expect("JSON"),
                        Err(_) => continue,
                    }
                };
                if let Ok(fast) = fast::document(&json) {
                    let serde: Object = serde_json::from_slice(&json).unwrap_or_else(|e| {
                        panic!("{}: fast accepted, serde: {e}", path.display())
                    });
                    assert_eq!(fast, serde, "{}", path.display());
                    fast_documents += 1;
                }
                let Ok(request) = crate::review::request_from_slice(&json) else {
                    continue;
                };
                for raw in [&request.object, &request.old_object].into_iter().flatten() {
                    let shape = ObjectSeed::new(&request.kind).shape();
                    if let Ok(fast) = fast::request_object(raw.get().as_bytes(), shape) {
                        let serde = serde_request_object(raw.get(), &request.kind);
                        assert_eq!(Some(fast), serde, "{}", path.display());
                        fast_requests += 1;
                    }
                }
            }
        }
        assert!(
            fast_documents > 500,
            "only {fast_documents} documents took the fast path"
        );
        assert!(
            fast_requests > 50,
            "only {fast_requests} request objects took the fast path"
        );
    }

    #[test]
    fn members_before_kind_follow_serde_value_rules() {
        // Found by the fast_json fuzz target: before `kind`, serde buffers a member as a
        // `serde_json::Value`, which refuses a key that is not UTF-8 even where the member is
        // then ignored; the fast path must not accept it.
        let mut doc = br#"{"spec":{"co"#.to_vec();
        doc.extend_from_slice(&[0xd2, 0xd2]);
        doc.extend_from_slice(br#"":1}}"#);
        assert!(serde_json::from_slice::<Object>(&doc).is_err());
        assert!(Object::from_json_slice(&doc).is_err());
        let late_kind = br#"{"spec":{"containers":[{"name":"c"}]},"kind":"Pod"}"#;
        assert_eq!(
            Object::from_json_slice(late_kind).ok(),
            serde_json::from_slice::<Object>(late_kind).ok()
        );
    }
}
