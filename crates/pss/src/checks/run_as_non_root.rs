//! `runAsNonRoot` (restricted, every version): the pod or every container must set
//! `runAsNonRoot: true`, and none may set it to false. From v1.35 pods in a user namespace
//! (`hostUsers: false`) are exempt.

use crate::check::{Check, Forbidden, Variant};
use crate::format::{Message, Names};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "runAsNonRoot",
    level: Level::Restricted,
    variants: &[Variant::new(0, v1_0), Variant::new(35, v1_35)],
    needs: None,
};

const REASON: &str = "runAsNonRoot != true";

fn v1_0(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let pod_setting = spec
        .security_context
        .as_ref()
        .and_then(|psc| psc.run_as_non_root);
    let pod_explicitly_bad = pod_setting == Some(false);
    let pod_guarantees_non_root = pod_setting == Some(true);

    let mut explicitly_bad: Names<'_> = Names::new();
    let mut implicitly_bad: Names<'_> = Names::new();
    for c in spec.all_containers() {
        match c
            .security_context
            .as_ref()
            .and_then(|sc| sc.run_as_non_root)
        {
            Some(false) => explicitly_bad.push(&c.name),
            Some(true) => {}
            None if !pod_guarantees_non_root => implicitly_bad.push(&c.name),
            None => {}
        }
    }

    if pod_explicitly_bad || !explicitly_bad.is_empty() {
        return Some(Forbidden::new(
            REASON,
            Message::new()
                .setters(pod_explicitly_bad, &explicitly_bad)
                .text(" must not set securityContext.runAsNonRoot=false")
                .finish(),
        ));
    }
    if !implicitly_bad.is_empty() {
        return Some(Forbidden::new(
            REASON,
            Message::new()
                .text("pod or ")
                .containers(&implicitly_bad)
                .text(" must set securityContext.runAsNonRoot=true")
                .finish(),
        ));
    }
    None
}

fn v1_35(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    if spec.uses_user_namespace() {
        return None;
    }
    v1_0(meta, spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{detail, pod};

    #[test]
    fn table() {
        let cases = [
            (
                r#"{"spec":{"securityContext":{"runAsNonRoot":true},"containers":[{"name":"a"}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"containers":[{"name":"a","securityContext":{"runAsNonRoot":true}}]}}"#,
                None,
            ),
            (r#"{"spec":{}}"#, None),
            (
                r#"{"spec":{"securityContext":{"runAsNonRoot":false},"containers":[{"name":"a"}]}}"#,
                Some("pod must not set securityContext.runAsNonRoot=false"),
            ),
            (
                r#"{"spec":{"securityContext":{"runAsNonRoot":true},"containers":[{"name":"c","securityContext":{"runAsNonRoot":false}},{"name":"d","securityContext":{"runAsNonRoot":false}}]}}"#,
                Some(r#"containers "c", "d" must not set securityContext.runAsNonRoot=false"#),
            ),
            (
                r#"{"spec":{"securityContext":{"runAsNonRoot":false},"containers":[{"name":"c","securityContext":{"runAsNonRoot":false}},{"name":"x"}]}}"#,
                Some(r#"pod and container "c" must not set securityContext.runAsNonRoot=false"#),
            ),
            (
                r#"{"spec":{"initContainers":[{"name":"a"}],"containers":[{"name":"b","securityContext":{}}]}}"#,
                Some(r#"pod or containers "a", "b" must set securityContext.runAsNonRoot=true"#),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            for f in [v1_0, v1_35] {
                assert_eq!(detail(f(&m, &s), REASON).as_deref(), want, "{json}");
            }
        }
    }

    #[test]
    fn user_namespaces_relax_from_v1_35() {
        let (m, s) = pod(r#"{"spec":{"hostUsers":false,"containers":[{"name":"a"}]}}"#);
        assert!(v1_0(&m, &s).is_some());
        assert!(v1_35(&m, &s).is_none());
    }
}
