//! AdmissionReview `admission.k8s.io/v1` and `v1beta1` on the wire: the request the API server
//! sends a webhook and the response it expects back, plus `metav1.Status`.
//!
//! The two versions have the same JSON shape, so one set of types serves both; the reply keeps
//! the request's `apiVersion` because the API server only accepts an answer in the version it
//! asked in. `object`, `oldObject` and `options` stay raw JSON: the decision flow decodes them
//! lazily, into the lean view it needs, and only when it gets that far.
//!
//! Decoding is lenient like Go's: absent and `null` fields take their zero value, unknown
//! fields are ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::object::Pod;

pub const ADMISSION_V1: &str = "admission.k8s.io/v1";
pub const ADMISSION_V1BETA1: &str = "admission.k8s.io/v1beta1";
pub const ADMISSION_REVIEW_KIND: &str = "AdmissionReview";

/// A whole AdmissionReview: a request (from the API server) or a response (to it).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReview {
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub api_version: String,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<AdmissionRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<AdmissionResponse>,
}

impl AdmissionReview {
    /// The review to send back for this one: same `apiVersion` (`admission.k8s.io/v1` when the
    /// request left it out, as the API server's decoder defaults it), the response with the
    /// request's uid. The request is not echoed: the API server ignores it, and re-encoding it
    /// would only cost time.
    pub fn reply(&self, mut response: AdmissionResponse) -> AdmissionReview {
        if let Some(request) = &self.request {
            response.uid.clone_from(&request.uid);
        }
        let api_version = if self.api_version.is_empty() {
            ADMISSION_V1.to_owned()
        } else {
            self.api_version.clone()
        };
        AdmissionReview {
            api_version,
            kind: ADMISSION_REVIEW_KIND.to_owned(),
            request: None,
            response: Some(response),
        }
    }
}

/// `group`, `version`, `kind` of an object (`metav1.GroupVersionKind`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupVersionKind {
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub group: String,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub version: String,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub kind: String,
}

/// A group, version and kind borrowed from a request and its object (see
/// [`GroupVersionKind::of_object`]): deciding what a pod request's object is costs no copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindOf<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
}

impl KindOf<'_> {
    /// True for the `v1` version of a core kind (`Pod`, `Namespace`).
    pub fn is_core_v1(&self, kind: &str) -> bool {
        self.group.is_empty() && self.version == "v1" && self.kind == kind
    }

    /// True when this is `kind`.
    pub fn is(&self, kind: &GroupVersionKind) -> bool {
        (self.group, self.version, self.kind) == (&kind.group, &kind.version, &kind.kind)
    }
}

impl From<KindOf<'_>> for GroupVersionKind {
    fn from(kind: KindOf<'_>) -> Self {
        GroupVersionKind::new(kind.group, kind.version, kind.kind)
    }
}

impl GroupVersionKind {
    /// What a request's object is decoded as: upstream's decoder takes the apiVersion and kind
    /// the object names itself, and the request's `kind` only for what the object leaves out
    /// (an object without type fields is of the request's kind; one that says `kind: Service`
    /// in a pod request is a Service).
    pub fn of_object<'a>(
        &'a self,
        api_version: Option<&'a str>,
        kind: Option<&'a str>,
    ) -> KindOf<'a> {
        let (group, version) = match api_version.filter(|v| !v.is_empty()) {
            Some(api_version) => api_version.rsplit_once('/').unwrap_or(("", api_version)),
            None => (self.group.as_str(), self.version.as_str()),
        };
        KindOf {
            group,
            version,
            kind: kind.filter(|k| !k.is_empty()).unwrap_or(&self.kind),
        }
    }

    pub fn new(group: &str, version: &str, kind: &str) -> Self {
        GroupVersionKind {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
        }
    }

    /// The `apiVersion` this kind is written with: `v1` for the core group, `apps/v1` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Go's `GroupKind.String()`: `Namespace` for the core group, `Deployment.apps` otherwise.
    pub fn group_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }
}

impl std::fmt::Display for GroupVersionKind {
    /// Go's `GroupVersionKind.String()`: `apps/v1, Kind=Deployment`, `/v1, Kind=Pod`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}, Kind={}", self.group, self.version, self.kind)
    }
}

/// `group`, `version`, `resource` of a request (`metav1.GroupVersionResource`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupVersionResource {
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub group: String,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub version: String,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub resource: String,
}

impl GroupVersionResource {
    pub fn new(group: &str, version: &str, resource: &str) -> Self {
        GroupVersionResource {
            group: group.to_owned(),
            version: version.to_owned(),
            resource: resource.to_owned(),
        }
    }

    /// Go's `GroupResource.String()`: `pods` for the core group, `deployments.apps` otherwise.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

/// Who makes the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    #[serde(
        default,
        deserialize_with = "podsec_pss::nulls::as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub username: String,
    #[serde(
        default,
        deserialize_with = "podsec_pss::nulls::as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub uid: String,
    #[serde(
        default,
        deserialize_with = "podsec_pss::nulls::as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
    #[serde(
        default,
        deserialize_with = "podsec_pss::nulls::as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// The request part of an AdmissionReview (also what the bare-request corpus files hold).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub uid: String,
    /// The kind of `object` (and `oldObject`): what they decode as.
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub kind: GroupVersionKind,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub resource: GroupVersionResource,
    #[serde(
        default,
        deserialize_with = "podsec_pss::nulls::as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub sub_resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_kind: Option<GroupVersionKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_resource: Option<GroupVersionResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_sub_resource: Option<String>,
    #[serde(
        default,
        deserialize_with = "podsec_pss::nulls::as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    #[serde(
        default,
        deserialize_with = "podsec_pss::nulls::as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`; kept as sent.
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub operation: String,
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    pub user_info: UserInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<RawJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_object: Option<RawJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<RawJson>,
}

/// A JSON value kept as its text (`object`, `oldObject`, `options`), decoded later by kind.
///
/// When a review is decoded on the fast path and its `kind` (which the API server writes before
/// the objects) says Pod, the pod is decoded in the same pass and kept beside the text, so the
/// pod flow need not scan the object a second time ([`RawJson::pod`]). It is exactly what
/// decoding the text gives, so equality and `Debug` look at the text only.
#[derive(Clone)]
pub struct RawJson {
    text: Box<str>,
    pod: Option<Box<Pod>>,
}

impl RawJson {
    /// The value's JSON text, exactly as received (without surrounding whitespace).
    pub fn get(&self) -> &str {
        &self.text
    }

    /// The value decoded as a pod, when that was done while the review was decoded.
    pub fn pod(&self) -> Option<&Pod> {
        self.pod.as_deref()
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for RawJson {}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RawJson").field(&self.text).finish()
    }
}

impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw =
            RawValue::from_string(self.text.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(|raw| RawJson {
            text: raw.into(),
            pod: None,
        })
    }
}

impl AdmissionReview {
    /// Decodes a review from JSON: on the fast path of `podsec_pss::json` in one pass when it
    /// can (the object is kept as raw JSON either way), with serde_json otherwise, which then
    /// also gives the error.
    pub fn from_json_slice(bytes: &[u8]) -> Result<AdmissionReview, serde_json::Error> {
        match fast::review(bytes) {
            Ok(review) => Ok(review),
            Err(_) => serde_json::from_slice(bytes),
        }
    }
}

/// The review's fast decoding: the same keys as the serde derives above. A `response` (never
/// in a request from the API server) or anything unusual declines to serde.
mod fast {
    use podsec_pss::json::{self, Declined, FromJson, Reader};

    use super::*;

    podsec_pss::json_struct!(GroupVersionKind {
        "group" => group,
        "version" => version,
        "kind" => kind,
    });
    podsec_pss::json_struct!(GroupVersionResource {
        "group" => group,
        "version" => version,
        "resource" => resource,
    });
    podsec_pss::json_struct!(UserInfo {
        "username" => username,
        "uid" => uid,
        "groups" => groups,
        "extra" => extra,
    });
    /// `AdmissionRequest` by hand rather than with `json_struct!`, for one thing: once `kind`
    /// says Pod, `object` and `oldObject` are decoded as pods in the same pass.
    impl FromJson for AdmissionRequest {
        fn read_into(reader: &mut Reader<'_>, out: &mut Self) -> json::Result<()> {
            let is_pod = |kind: &GroupVersionKind| {
                kind.group.is_empty() && kind.version == "v1" && kind.kind == "Pod"
            };
            // Bit `n` of `seen` marks the `n`th field; a repeated field declines (serde's derive
            // refuses it), checked once the value is read.
            let mut seen: u16 = 0;
            reader.fields(|reader, key| {
                let field: u16 = match key {
                    b"uid" => FromJson::read_into(reader, &mut out.uid).map(|()| 0)?,
                    b"kind" => FromJson::read_into(reader, &mut out.kind).map(|()| 1)?,
                    b"resource" => FromJson::read_into(reader, &mut out.resource).map(|()| 2)?,
                    b"subResource" => {
                        FromJson::read_into(reader, &mut out.sub_resource).map(|()| 3)?
                    }
                    b"requestKind" => {
                        FromJson::read_into(reader, &mut out.request_kind).map(|()| 4)?
                    }
                    b"requestResource" => {
                        FromJson::read_into(reader, &mut out.request_resource).map(|()| 5)?
                    }
                    b"requestSubResource" => {
                        FromJson::read_into(reader, &mut out.request_sub_resource).map(|()| 6)?
                    }
                    b"name" => FromJson::read_into(reader, &mut out.name).map(|()| 7)?,
                    b"namespace" => FromJson::read_into(reader, &mut out.namespace).map(|()| 8)?,
                    b"operation" => FromJson::read_into(reader, &mut out.operation).map(|()| 9)?,
                    b"userInfo" => FromJson::read_into(reader, &mut out.user_info).map(|()| 10)?,
                    b"object" | b"oldObject" => {
                        let value = if is_pod(&out.kind) {
                            raw_pod(reader)?
                        } else {
                            json::read(reader)?
                        };
                        if key == b"object" {
                            out.object = value;
                            11
                        } else {
                            out.old_object = value;
                            12
                        }
                    }
                    b"dryRun" => FromJson::read_into(reader, &mut out.dry_run).map(|()| 13)?,
                    b"options" => FromJson::read_into(reader, &mut out.options).map(|()| 14)?,
                    _ => return reader.unknown_key(key),
                };
                if seen & (1 << field) != 0 {
                    return Err(Declined);
                }
                seen |= 1 << field;
                Ok(())
            })
        }
    }

    /// An object that is a pod: its text, and the pod decoded from it.
    fn raw_pod(reader: &mut Reader<'_>) -> json::Result<Option<RawJson>> {
        if reader.null()? {
            return Ok(None);
        }
        let (pod, text) = reader.with_text(json::read::<Pod>)?;
        let text = simdutf8::basic::from_utf8(text).map_err(|_| Declined)?;
        Ok(Some(RawJson {
            text: text.into(),
            pod: Some(Box::new(pod)),
        }))
    }

    impl Default for RawJson {
        fn default() -> Self {
            RawJson {
                text: "null".into(),
                pod: None,
            }
        }
    }

    impl FromJson for RawJson {
        fn read_into(reader: &mut Reader<'_>, slot: &mut Self) -> json::Result<()> {
            let raw = simdutf8::basic::from_utf8(reader.raw_value()?).map_err(|_| Declined)?;
            *slot = RawJson {
                text: raw.into(),
                pod: None,
            };
            Ok(())
        }
    }

    /// The response is left to serde: it never comes from the API server.
    #[derive(Default)]
    struct Declines;
    impl FromJson for Declines {
        fn read_into(_: &mut Reader<'_>, _: &mut Self) -> json::Result<()> {
            Err(Declined)
        }
    }

    #[derive(Default)]
    struct Wire {
        api_version: String,
        kind: String,
        request: Option<AdmissionRequest>,
        response: Declines,
    }
    podsec_pss::json_struct!(Wire {
        "apiVersion" => api_version,
        "kind" => kind,
        "request" => request,
        "response" => response,
    });

    pub(super) fn review(bytes: &[u8]) -> json::Result<AdmissionReview> {
        let wire: Wire = json::from_slice(bytes)?;
        Ok(AdmissionReview {
            api_version: wire.api_version,
            kind: wire.kind,
            request: wire.request,
            response: None,
        })
    }
}

/// The answer to an AdmissionRequest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub allowed: bool,
    /// Why the request is denied (or, rarely, details of an allowed one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// A JSON patch (RFC 6902) to apply, base64-encoded on the wire.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "base64_bytes"
    )]
    pub patch: Option<Vec<u8>>,
    /// `JSONPatch` whenever `patch` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    /// Un-prefixed keys; the API server prefixes them with the webhook's name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl AdmissionResponse {
    /// An allowed response with nothing else.
    pub fn allowed() -> Self {
        AdmissionResponse {
            allowed: true,
            ..Default::default()
        }
    }

    /// A denied response carrying `status`.
    pub fn denied(status: Status) -> Self {
        AdmissionResponse {
            allowed: false,
            status: Some(status),
            ..Default::default()
        }
    }
}

/// `metav1.Status` as carried in a response (no type metadata).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// `Failure` for errors.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// `Forbidden`, `Invalid`, `BadRequest`, `InternalError`, …
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub code: i32,
}

impl Status {
    /// A `Failure` status with the given reason, code and message.
    pub fn failure(reason: &str, code: i32, message: impl Into<String>) -> Self {
        Status {
            status: "Failure".to_owned(),
            message: message.into(),
            reason: reason.to_owned(),
            details: None,
            code,
        }
    }
}

/// `metav1.StatusDetails`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusDetails {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
}

/// `metav1.StatusCause`: one field error of an Invalid status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusCause {
    /// The cause type, e.g. `FieldValueInvalid`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}

/// Why a request document could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum RequestDecodeError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Yaml(#[from] serde_saphyr::Error),
}

/// Decodes a request, either a whole AdmissionReview (`v1` or `v1beta1`) or a bare
/// AdmissionRequest, as test data often holds them. A document with a `request` member is a
/// review; anything else is taken as the request itself.
///
/// JSON is decoded directly. Anything else is taken as YAML (some tools keep reviews as YAML)
/// and converted to JSON first, because `object` and `oldObject` are kept as raw JSON.
pub fn request_from_slice(bytes: &[u8]) -> Result<AdmissionRequest, RequestDecodeError> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        request: Option<AdmissionRequest>,
    }
    let is_json = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    let converted;
    let json = if is_json {
        bytes
    } else {
        let value: serde_json::Value = serde_saphyr::from_slice(bytes)?;
        converted = serde_json::to_vec(&value)?;
        &converted
    };
    let probe: Probe = serde_json::from_slice(json)?;
    match probe.request {
        Some(request) => Ok(request),
        None => Ok(serde_json::from_slice(json)?),
    }
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// `[]byte` fields are base64 strings in Kubernetes JSON.
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => s.serialize_str(&STANDARD.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| STANDARD.decode(text).map_err(de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_keeps_uid_and_api_version() {
        for version in [ADMISSION_V1, ADMISSION_V1BETA1] {
            let body = format!(
                r#"{{"apiVersion":"{version}","kind":"AdmissionReview","request":{{"uid":"abc",
                "kind":{{"group":"","version":"v1","kind":"Pod"}},"operation":"CREATE",
                "object":{{"kind":"Pod"}},"oldObject":null,"name":null}}}}"#
            );
            let review: AdmissionReview = serde_json::from_str(&body).expect("decodes");
            let request = review.request.as_ref().expect("request");
            assert_eq!(
                request.object.as_ref().map(|o| o.get()),
                Some(r#"{"kind":"Pod"}"#)
            );
            assert!(request.old_object.is_none());
            let reply = review.reply(AdmissionResponse::allowed());
            let json = serde_json::to_value(&reply).expect("encodes");
            assert_eq!(
                json,
                serde_json::json!({"apiVersion": version, "kind": "AdmissionReview",
                    "response": {"uid": "abc", "allowed": true}})
            );
        }
        let bare = AdmissionReview::default().reply(AdmissionResponse::allowed());
        assert_eq!(bare.api_version, ADMISSION_V1);
    }

    #[test]
    fn status_and_patch_encode_like_kubernetes() {
        let mut status = Status::failure("Forbidden", 403, "pods \"x\" is forbidden: no");
        status.details = Some(StatusDetails {
            name: "x".into(),
            kind: "pods".into(),
            ..Default::default()
        });
        let mut response = AdmissionResponse::denied(status);
        response.patch = Some(b"[]".to_vec());
        response.patch_type = Some("JSONPatch".into());
        let json = serde_json::to_value(&response).expect("encodes");
        assert_eq!(
            json,
            serde_json::json!({"uid": "", "allowed": false, "patch": "W10=", "patchType": "JSONPatch",
                "status": {"status": "Failure", "code": 403, "reason": "Forbidden",
                    "message": "pods \"x\" is forbidden: no", "details": {"name": "x", "kind": "pods"}}})
        );
        let back: AdmissionResponse = serde_json::from_value(json).expect("decodes");
        assert_eq!(back, response);
    }

    #[test]
    fn bare_requests_and_reviews_both_decode() {
        let bare = request_from_slice(br#"{"uid":"1","operation":"UPDATE"}"#).expect("bare");
        assert_eq!(
            (bare.uid.as_str(), bare.operation.as_str()),
            ("1", "UPDATE")
        );
        let review = request_from_slice(br#"{"kind":"AdmissionReview","request":{"uid":"2"}}"#)
            .expect("review");
        assert_eq!(review.uid, "2");
        assert!(request_from_slice(b"\"x\"").is_err());
        let yaml = b"kind: AdmissionReview\nrequest:\n  uid: '3'\n  object:\n    kind: Pod\n";
        let from_yaml = request_from_slice(yaml).expect("yaml review");
        assert_eq!(from_yaml.uid, "3");
        assert_eq!(
            from_yaml.object.as_ref().map(|o| o.get()),
            Some(r#"{"kind":"Pod"}"#)
        );
        assert!(request_from_slice(b"{").is_err());
    }

    #[test]
    fn kinds_render_like_go() {
        let pod = GroupVersionKind::new("", "v1", "Pod");
        assert_eq!(pod.to_string(), "/v1, Kind=Pod");
        assert_eq!(pod.group_kind(), "Pod");
        let deploy = GroupVersionKind::new("apps", "v1", "Deployment");
        assert_eq!(deploy.api_version(), "apps/v1");
        assert_eq!(deploy.group_kind(), "Deployment.apps");
        let gvr = GroupVersionResource::new("apps", "v1", "deployments");
        assert_eq!(gvr.group_resource(), "deployments.apps");
    }

    #[test]
    fn fast_review_decoding_agrees_with_serde_on_the_corpus() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpus/admissionreview");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("skipping: ../shared/corpus not found beside the checkout");
            return;
        };
        let (mut fast_reviews, mut predecoded) = (0, 0);
        for entry in entries {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("readable");
            let Ok(fast) = fast::review(&bytes) else {
                continue;
            };
            let serde: AdmissionReview = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{}: fast accepted, serde: {e}", path.display()));
            assert_eq!(
                format!("{fast:?}"),
                format!("{serde:?}"),
                "{}",
                path.display()
            );
            fast_reviews += 1;
            // A pod decoded during the review's pass is the pod its text decodes to.
            let request = fast.request.as_ref().expect("request");
            for raw in [&request.object, &request.old_object].into_iter().flatten() {
                if let Some(pod) = raw.pod() {
                    let again = Pod::from_json(raw.get()).expect("decodes again");
                    assert_eq!(pod, &again, "{}", path.display());
                    predecoded += 1;
                }
            }
        }
        assert!(
            predecoded >= 5,
            "only {predecoded} pods were decoded with their review"
        );
        // Most corpus files are bare requests, which are not reviews; the reviews are fewer.
        assert!(
            fast_reviews >= 10,
            "only {fast_reviews} reviews took the fast path"
        );
        // A response, a duplicate key or a null string goes to serde.
        for declined in [
            r#"{"response":{"uid":"u","allowed":true}}"#,
            r#"{"request":{"uid":"a","uid":"b"}}"#,
            r#"{"request":{"name":null}}"#,
        ] {
            assert!(fast::review(declined.as_bytes()).is_err(), "{declined}");
            let serde = serde_json::from_slice::<AdmissionReview>(declined.as_bytes());
            let both = AdmissionReview::from_json_slice(declined.as_bytes());
            assert_eq!(format!("{both:?}"), format!("{serde:?}"), "{declined}");
        }
    }
}
