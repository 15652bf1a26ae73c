//! `seccompProfile_restricted` (restricted, v1.19+): the pod or every container must set a
//! `RuntimeDefault` or `Localhost` seccomp profile. Replaces `seccompProfile_baseline`; Windows
//! pods are exempt from v1.25.

use crate::check::{Check, Forbidden, Variant};
use crate::checks::seccomp_profile_baseline::forbidden_type;
use crate::format::{Message, Names, sorted_set};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "seccompProfile_restricted",
    level: Level::Restricted,
    variants: &[
        Variant::overriding(19, v1_19, &["seccompProfile_baseline"]),
        Variant::overriding(25, v1_25, &["seccompProfile_baseline"]),
    ],
    needs: None,
};

fn v1_19(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let pod_profile = spec
        .security_context
        .as_ref()
        .and_then(|psc| psc.seccomp_profile.as_ref());
    let pod_type = forbidden_type(pod_profile);
    let pod_covers_containers = pod_profile.is_some() && pod_type.is_none();

    let mut values: Names<'_> = pod_type.into_iter().collect();
    let mut explicitly_bad: Names<'_> = Names::new();
    let mut implicitly_bad: Names<'_> = Names::new();
    for c in spec.all_containers() {
        match c
            .security_context
            .as_ref()
            .and_then(|sc| sc.seccomp_profile.as_ref())
        {
            Some(profile) => {
                if let Some(t) = forbidden_type(Some(profile)) {
                    explicitly_bad.push(&c.name);
                    values.push(t);
                }
            }
            None if !pod_covers_containers => implicitly_bad.push(&c.name),
            None => {}
        }
    }

    if pod_type.is_some() || !explicitly_bad.is_empty() {
        return Some(Forbidden::new(
            "seccompProfile",
            Message::new()
                .setters(pod_type.is_some(), &explicitly_bad)
                .text(" must not set securityContext.seccompProfile.type to ")
                .quoted(&sorted_set(values))
                .finish(),
        ));
    }
    if !implicitly_bad.is_empty() {
        return Some(Forbidden::new(
            "seccompProfile",
            Message::new()
                .text("pod or ")
                .containers(&implicitly_bad)
                .text(" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"")
                .finish(),
        ));
    }
    None
}

fn v1_25(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    if spec.is_windows() {
        return None;
    }
    v1_19(meta, spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{detail, pod};

    #[test]
    fn table() {
        let cases = [
            (
                r#"{"spec":{"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"a"}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"containers":[{"name":"a","securityContext":{"seccompProfile":{"type":"Localhost"}}}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"containers":[{"name":"a"},{"name":"b","securityContext":{}}]}}"#,
                Some(
                    r#"pod or containers "a", "b" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#,
                ),
            ),
            (
                r#"{"spec":{"securityContext":{"seccompProfile":{"type":"Unconfined"}},"containers":[{"name":"a"}]}}"#,
                Some(r#"pod must not set securityContext.seccompProfile.type to "Unconfined""#),
            ),
            (
                r#"{"spec":{"securityContext":{"seccompProfile":{"type":"Unconfined"}},
                "containers":[{"name":"c","securityContext":{"seccompProfile":{"type":"Foo"}}},{"name":"d","securityContext":{"seccompProfile":{"type":"Unconfined"}}}]}}"#,
                Some(
                    r#"pod and containers "c", "d" must not set securityContext.seccompProfile.type to "Foo", "Unconfined""#,
                ),
            ),
            (
                r#"{"spec":{"containers":[{"name":"c","securityContext":{"seccompProfile":{"type":"Unconfined"}}},{"name":"e"}]}}"#,
                Some(
                    r#"container "c" must not set securityContext.seccompProfile.type to "Unconfined""#,
                ),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            for f in [v1_19, v1_25] {
                assert_eq!(
                    detail(f(&m, &s), "seccompProfile").as_deref(),
                    want,
                    "{json}"
                );
            }
        }
    }

    #[test]
    fn windows_pods_are_exempt_from_v1_25() {
        let (m, s) = pod(r#"{"spec":{"os":{"name":"windows"},"containers":[{"name":"a"}]}}"#);
        assert!(v1_19(&m, &s).is_some());
        assert!(v1_25(&m, &s).is_none());
    }
}
