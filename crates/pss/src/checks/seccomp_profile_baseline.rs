//! `seccompProfile_baseline` (baseline): seccomp may not be `Unconfined`. Up to v1.18 the alpha
//! annotations are examined; from v1.19 the `seccompProfile` fields (annotations are ignored).
//! Replaced at restricted v1.19+ by `seccompProfile_restricted`.

use std::collections::BTreeSet;

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::{Message, Names, go_quote, plural, sorted_set};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec, SeccompProfile};

pub static CHECK: Check = Check {
    id: "seccompProfile_baseline",
    level: Level::Baseline,
    variants: &[Variant::new(0, v1_0), Variant::new(19, v1_19)],
    // Up to v1.18 the alpha annotations.
    needs: Some(Fields::SECCOMP_PROFILE.union(Fields::ANNOTATIONS)),
};

const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn allowed_annotation(value: &str) -> bool {
    value == "runtime/default" || value == "docker/default" || value.starts_with("localhost/")
}

fn v1_0(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let mut bad: BTreeSet<String> = BTreeSet::new();
    if let Some(value) = meta.annotations.get(POD_ANNOTATION)
        && !allowed_annotation(value)
    {
        bad.insert(format!("{POD_ANNOTATION}={}", go_quote(value)));
    }
    for c in spec.all_containers() {
        let key = format!("{CONTAINER_ANNOTATION_PREFIX}{}", c.name);
        if let Some(value) = meta.annotations.get(key.as_str())
            && !allowed_annotation(value)
        {
            bad.insert(format!("{key}={}", go_quote(value)));
        }
    }
    if bad.is_empty() {
        return None;
    }
    let rendered: Names<'_> = bad.iter().map(String::as_str).collect();
    Some(Forbidden::new(
        "seccompProfile",
        format!(
            "forbidden {} {}",
            plural("annotation", "annotations", rendered.len()),
            rendered.join(", ")
        ),
    ))
}

/// The profile type when the profile is present and not `RuntimeDefault` or `Localhost`.
pub(crate) fn forbidden_type(profile: Option<&SeccompProfile>) -> Option<&str> {
    let t = profile?.type_.as_deref().unwrap_or("");
    (t != "RuntimeDefault" && t != "Localhost").then_some(t)
}

fn v1_19(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let pod_type = forbidden_type(
        spec.security_context
            .as_ref()
            .and_then(|psc| psc.seccomp_profile.as_ref()),
    );
    let mut values: Names<'_> = pod_type.into_iter().collect();
    let mut bad_containers: Names<'_> = Names::new();
    for c in spec.all_containers() {
        let profile = c
            .security_context
            .as_ref()
            .and_then(|sc| sc.seccomp_profile.as_ref());
        if let Some(t) = forbidden_type(profile) {
            bad_containers.push(&c.name);
            values.push(t);
        }
    }
    if values.is_empty() {
        return None;
    }
    Some(Forbidden::new(
        "seccompProfile",
        Message::new()
            .setters(pod_type.is_some(), &bad_containers)
            .text(" must not set securityContext.seccompProfile.type to ")
            .quoted(&sorted_set(values))
            .finish(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{detail, pod};

    #[test]
    fn annotations_up_to_v1_18() {
        let cases = [
            (
                r#"{"metadata":{"annotations":{"seccomp.security.alpha.kubernetes.io/pod":"runtime/default",
                "container.seccomp.security.alpha.kubernetes.io/a":"localhost/x",
                "container.seccomp.security.alpha.kubernetes.io/zzz":"unconfined"}},
                "spec":{"containers":[{"name":"a"}]}}"#,
                None,
            ),
            (
                r#"{"metadata":{"annotations":{"seccomp.security.alpha.kubernetes.io/pod":"unconfined",
                "container.seccomp.security.alpha.kubernetes.io/b":"unknown",
                "container.seccomp.security.alpha.kubernetes.io/a":"unconfined"}},
                "spec":{"containers":[{"name":"a"},{"name":"b"}]}}"#,
                Some(
                    r#"forbidden annotations container.seccomp.security.alpha.kubernetes.io/a="unconfined", container.seccomp.security.alpha.kubernetes.io/b="unknown", seccomp.security.alpha.kubernetes.io/pod="unconfined""#,
                ),
            ),
            (
                r#"{"metadata":{"annotations":{"seccomp.security.alpha.kubernetes.io/pod":""}},"spec":{}}"#,
                Some(r#"forbidden annotation seccomp.security.alpha.kubernetes.io/pod="""#),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            assert_eq!(
                detail(v1_0(&m, &s), "seccompProfile").as_deref(),
                want,
                "{json}"
            );
        }
    }

    #[test]
    fn fields_from_v1_19() {
        let cases = [
            (
                r#"{"metadata":{"annotations":{"seccomp.security.alpha.kubernetes.io/pod":"unconfined"}},
                "spec":{"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}},
                "containers":[{"name":"a","securityContext":{"seccompProfile":{"type":"Localhost"}}},{"name":"b"}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"securityContext":{"seccompProfile":{"type":"Unconfined"}},
                "containers":[{"name":"c","securityContext":{"seccompProfile":{"type":"Unconfined"}}},
                {"name":"d","securityContext":{"seccompProfile":{"type":"Unconfined"}}}]}}"#,
                Some(
                    r#"pod and containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined""#,
                ),
            ),
            (
                r#"{"spec":{"containers":[{"name":"c","securityContext":{"seccompProfile":{}}}]}}"#,
                Some(r#"container "c" must not set securityContext.seccompProfile.type to """#),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            assert_eq!(
                detail(v1_19(&m, &s), "seccompProfile").as_deref(),
                want,
                "{json}"
            );
        }
    }
}
