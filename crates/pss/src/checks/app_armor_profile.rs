//! `appArmorProfile` (baseline, every version): AppArmor may only be `RuntimeDefault` or
//! `Localhost`, whether set through the `appArmorProfile` fields or the beta annotations.

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::{Message, Names, go_quote, sorted_set};
use crate::level::Level;
use crate::pod::{AppArmorProfile, PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "appArmorProfile",
    level: Level::Baseline,
    variants: &[Variant::new(0, v1_0)],
    needs: Some(Fields::APP_ARMOR_PROFILE.union(Fields::ANNOTATIONS)),
};

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// The profile type when it is forbidden (`None` when the profile is absent or allowed).
fn forbidden_type(profile: Option<&AppArmorProfile>) -> Option<&str> {
    let t = profile?.type_.as_deref().unwrap_or("");
    (t != "RuntimeDefault" && t != "Localhost").then_some(t)
}

fn allowed_annotation(value: &str) -> bool {
    value.is_empty() || value == "runtime/default" || value.starts_with("localhost/")
}

fn v1_0(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let pod_profile = spec
        .security_context
        .as_ref()
        .and_then(|psc| psc.app_armor_profile.as_deref());
    let pod_type = forbidden_type(pod_profile);
    let mut bad_types: Names<'_> = pod_type.into_iter().collect();

    let mut bad_containers: Names<'_> = Names::new();
    for c in spec.all_containers() {
        let profile = c
            .security_context
            .as_ref()
            .and_then(|sc| sc.app_armor_profile.as_deref());
        if let Some(t) = forbidden_type(profile) {
            bad_containers.push(&c.name);
            bad_types.push(t);
        }
    }

    let mut bad_annotations: Vec<String> = meta
        .annotations
        .iter()
        .filter(|(k, v)| k.starts_with(ANNOTATION_PREFIX) && !allowed_annotation(v))
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    if pod_type.is_none() && bad_containers.is_empty() && bad_annotations.is_empty() {
        return None;
    }
    bad_annotations.sort();

    let mut message = Message::new().setters(pod_type.is_some(), &bad_containers);
    if !bad_annotations.is_empty() {
        if pod_type.is_some() || !bad_containers.is_empty() {
            message = message.text(" and ");
        }
        message = message.noun("annotation", "annotations", bad_annotations.len());
    }
    // The distinct types, then the annotations: two sorted groups, not one.
    let bad_types = sorted_set(bad_types);
    let values = bad_types.len() + bad_annotations.len();
    let reason = if values == 1 {
        "forbidden AppArmor profile"
    } else {
        "forbidden AppArmor profiles"
    };
    let detail = message
        .text(" must not set AppArmor profile type to ")
        .quoted(
            bad_types
                .into_iter()
                .chain(bad_annotations.iter().map(String::as_str)),
        )
        .finish();
    Some(Forbidden::new(reason, detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::pod;

    #[test]
    fn table() {
        let cases = [
            (
                r#"{"spec":{"securityContext":{"appArmorProfile":{"type":"RuntimeDefault"}},
                "containers":[{"name":"a","securityContext":{"appArmorProfile":{"type":"Localhost","localhostProfile":"p"}}}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"securityContext":{"appArmorProfile":{"type":"Unconfined"}}}}"#,
                Some((
                    "forbidden AppArmor profile",
                    r#"pod must not set AppArmor profile type to "Unconfined""#,
                )),
            ),
            (
                r#"{"spec":{"containers":[{"name":"foo","securityContext":{"appArmorProfile":{"type":"Unconfined"}}}]}}"#,
                Some((
                    "forbidden AppArmor profile",
                    r#"container "foo" must not set AppArmor profile type to "Unconfined""#,
                )),
            ),
            (
                r#"{"spec":{"containers":[{"name":"a","securityContext":{"appArmorProfile":{}}},{"name":"b","securityContext":{"appArmorProfile":{"type":"x"}}}]}}"#,
                Some((
                    "forbidden AppArmor profiles",
                    r#"containers "a", "b" must not set AppArmor profile type to "", "x""#,
                )),
            ),
            (
                r#"{"metadata":{"annotations":{
                "container.apparmor.security.beta.kubernetes.io/e":"unconfined",
                "container.apparmor.security.beta.kubernetes.io/":"bogus",
                "container.apparmor.security.beta.kubernetes.io/f":"unknown",
                "container.apparmor.security.beta.kubernetes.io/g":"",
                "container.apparmor.security.beta.kubernetes.io/h":"runtime/default",
                "container.apparmor.security.beta.kubernetes.io/i":"localhost/",
                "other":"unconfined"}}}"#,
                Some((
                    "forbidden AppArmor profiles",
                    r#"annotations must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/="bogus"", "container.apparmor.security.beta.kubernetes.io/e="unconfined"", "container.apparmor.security.beta.kubernetes.io/f="unknown"""#,
                )),
            ),
            (
                r#"{"metadata":{"annotations":{"container.apparmor.security.beta.kubernetes.io/a":"unconfined"}},
                "spec":{"securityContext":{"appArmorProfile":{"type":"Unconfined"}},
                "containers":[{"name":"a","securityContext":{"appArmorProfile":{"type":"Unconfined"}}}]}}"#,
                Some((
                    "forbidden AppArmor profiles",
                    r#"pod and container "a" and annotation must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/a="unconfined"""#,
                )),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            let got = v1_0(&m, &s);
            assert_eq!(
                got.as_ref().map(|f| (f.reason.as_ref(), f.detail.as_str())),
                want,
                "{json}"
            );
        }
    }
}
