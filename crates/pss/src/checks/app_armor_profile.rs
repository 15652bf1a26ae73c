//! `appArmorProfile` (baseline, every version): AppArmor may only be `RuntimeDefault` or
//! `Localhost`, whether set through the `appArmorProfile` fields or the beta annotations.

use std::collections::BTreeSet;

use crate::check::{Check, Forbidden, Variant, containers_phrase};
use crate::format::{go_quote, plural, quote_join};
use crate::level::Level;
use crate::pod::{AppArmorProfile, PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "appArmorProfile",
    level: Level::Baseline,
    variants: &[Variant::new(0, v1_0)],
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
    let mut setters: Vec<String> = Vec::new();
    let mut bad_types: BTreeSet<&str> = BTreeSet::new();

    let pod_profile = spec
        .security_context
        .as_ref()
        .and_then(|psc| psc.app_armor_profile.as_ref());
    if let Some(t) = forbidden_type(pod_profile) {
        setters.push("pod".to_owned());
        bad_types.insert(t);
    }

    let mut bad_containers: Vec<&str> = Vec::new();
    for c in spec.all_containers() {
        let profile = c
            .security_context
            .as_ref()
            .and_then(|sc| sc.app_armor_profile.as_ref());
        if let Some(t) = forbidden_type(profile) {
            bad_containers.push(&c.name);
            bad_types.insert(t);
        }
    }
    if !bad_containers.is_empty() {
        setters.push(containers_phrase(&bad_containers));
    }

    let mut bad_annotations: Vec<String> = meta
        .annotations
        .iter()
        .filter(|(k, v)| k.starts_with(ANNOTATION_PREFIX) && !allowed_annotation(v))
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    bad_annotations.sort();
    if !bad_annotations.is_empty() {
        setters.push(plural("annotation", "annotations", bad_annotations.len()).to_owned());
    }

    if setters.is_empty() {
        return None;
    }
    let values: Vec<&str> = bad_types
        .iter()
        .copied()
        .chain(bad_annotations.iter().map(String::as_str))
        .collect();
    let reason = if values.len() == 1 {
        "forbidden AppArmor profile"
    } else {
        "forbidden AppArmor profiles"
    };
    Some(Forbidden::new(
        reason,
        format!(
            "{} must not set AppArmor profile type to {}",
            setters.join(" and "),
            quote_join(&values)
        ),
    ))
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
