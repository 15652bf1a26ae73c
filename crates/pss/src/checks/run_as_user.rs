//! `runAsUser` (restricted, v1.23+): neither the pod nor a container may set `runAsUser: 0`.
//! From v1.35 pods in a user namespace (`hostUsers: false`) are exempt.

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::{Message, Names};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "runAsUser",
    level: Level::Restricted,
    variants: &[Variant::new(23, v1_23), Variant::new(35, v1_35)],
    needs: Some(Fields::RUN_AS_USER),
};

fn v1_23(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let pod_bad = spec
        .security_context
        .as_ref()
        .and_then(|psc| psc.run_as_user)
        == Some(0);
    let bad: Names<'_> = spec
        .all_containers()
        .filter(|c| c.security_context.as_ref().and_then(|sc| sc.run_as_user) == Some(0))
        .map(|c| c.name.as_str())
        .collect();
    if !pod_bad && bad.is_empty() {
        return None;
    }
    Some(Forbidden::new(
        "runAsUser=0",
        Message::new()
            .setters(pod_bad, &bad)
            .text(" must not set runAsUser=0")
            .finish(),
    ))
}

fn v1_35(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    if spec.uses_user_namespace() {
        return None;
    }
    v1_23(meta, spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{detail, pod};

    #[test]
    fn table() {
        let cases = [
            (
                r#"{"spec":{"securityContext":{"runAsUser":1000},"containers":[{"name":"a"},{"name":"b","securityContext":{"runAsUser":1}}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"securityContext":{"runAsUser":0},"containers":[{"name":"a"}]}}"#,
                Some("pod must not set runAsUser=0"),
            ),
            (
                r#"{"spec":{"containers":[{"name":"c","securityContext":{"runAsUser":0}},{"name":"d","securityContext":{"runAsUser":0}}]}}"#,
                Some(r#"containers "c", "d" must not set runAsUser=0"#),
            ),
            (
                r#"{"spec":{"securityContext":{"runAsUser":0},"containers":[{"name":"c","securityContext":{"runAsUser":0}}]}}"#,
                Some(r#"pod and container "c" must not set runAsUser=0"#),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            for f in [v1_23, v1_35] {
                assert_eq!(detail(f(&m, &s), "runAsUser=0").as_deref(), want, "{json}");
            }
        }
    }

    #[test]
    fn user_namespaces_relax_from_v1_35() {
        let (m, s) = pod(r#"{"spec":{"hostUsers":false,"securityContext":{"runAsUser":0}}}"#);
        assert!(v1_23(&m, &s).is_some());
        assert!(v1_35(&m, &s).is_none());
    }
}
