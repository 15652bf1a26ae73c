//! `allowPrivilegeEscalation` (restricted, v1.8+): every container must set
//! `securityContext.allowPrivilegeEscalation=false`. From v1.25 Windows pods are exempt.

use crate::check::{Check, Forbidden, Variant};
use crate::format::{Message, Names};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "allowPrivilegeEscalation",
    level: Level::Restricted,
    variants: &[Variant::new(8, v1_8), Variant::new(25, v1_25)],
    needs: None,
};

fn v1_8(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let bad: Names<'_> = spec
        .all_containers()
        .filter(|c| {
            c.security_context
                .as_ref()
                .and_then(|sc| sc.allow_privilege_escalation)
                != Some(false)
        })
        .map(|c| c.name.as_str())
        .collect();
    if bad.is_empty() {
        return None;
    }
    Some(Forbidden::new(
        "allowPrivilegeEscalation != false",
        Message::new()
            .containers(&bad)
            .text(" must set securityContext.allowPrivilegeEscalation=false")
            .finish(),
    ))
}

fn v1_25(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    if spec.is_windows() {
        return None;
    }
    v1_8(meta, spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{detail, pod};

    #[test]
    fn table() {
        let cases = [
            (
                r#"{"spec":{"containers":[{"name":"a"},{"name":"b","securityContext":{}},
                    {"name":"c","securityContext":{"allowPrivilegeEscalation":true}},
                    {"name":"d","securityContext":{"allowPrivilegeEscalation":false}}]}}"#,
                Some(
                    r#"containers "a", "b", "c" must set securityContext.allowPrivilegeEscalation=false"#,
                ),
            ),
            (
                r#"{"spec":{"initContainers":[{"name":"i"}],"containers":[{"name":"d","securityContext":{"allowPrivilegeEscalation":false}}]}}"#,
                Some(r#"container "i" must set securityContext.allowPrivilegeEscalation=false"#),
            ),
            (r#"{"spec":{"containers":[]}}"#, None),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            for f in [v1_8, v1_25] {
                assert_eq!(
                    detail(f(&m, &s), "allowPrivilegeEscalation != false").as_deref(),
                    want,
                    "{json}"
                );
            }
        }
    }

    #[test]
    fn windows_pods_are_exempt_from_v1_25() {
        let (m, s) = pod(r#"{"spec":{"os":{"name":"windows"},"containers":[{"name":"a"}]}}"#);
        assert!(v1_8(&m, &s).is_some());
        assert!(v1_25(&m, &s).is_none());
        let (m, s) = pod(r#"{"spec":{"os":{"name":"Windows"},"containers":[{"name":"a"}]}}"#);
        assert!(v1_25(&m, &s).is_some(), "the OS name is case-sensitive");
    }
}
