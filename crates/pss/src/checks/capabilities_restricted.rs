//! `capabilities_restricted` (restricted, v1.22+): every container must drop `ALL` and may add
//! back only `NET_BIND_SERVICE`. Replaces `capabilities_baseline`; Windows pods are exempt from
//! v1.25.

use crate::check::{Check, Forbidden, Variant};
use crate::format::{Message, Names, sorted_set};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "capabilities_restricted",
    level: Level::Restricted,
    variants: &[
        Variant::overriding(22, v1_22, &["capabilities_baseline"]),
        Variant::overriding(25, v1_25, &["capabilities_baseline"]),
    ],
    needs: None,
};

fn v1_22(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let mut missing_drop: Names<'_> = Names::new();
    let mut adding_forbidden: Names<'_> = Names::new();
    let mut forbidden_caps: Names<'_> = Names::new();
    for c in spec.all_containers() {
        let Some(caps) = c
            .security_context
            .as_ref()
            .and_then(|sc| sc.capabilities.as_ref())
        else {
            missing_drop.push(&c.name);
            continue;
        };
        if !caps.drop.iter().any(|d| d == "ALL") {
            missing_drop.push(&c.name);
        }
        let mut container_adds_forbidden = false;
        for cap in caps.add.iter().filter(|cap| *cap != "NET_BIND_SERVICE") {
            container_adds_forbidden = true;
            forbidden_caps.push(cap);
        }
        if container_adds_forbidden {
            adding_forbidden.push(&c.name);
        }
    }
    if missing_drop.is_empty() && adding_forbidden.is_empty() {
        return None;
    }
    let mut message = Message::new();
    if !missing_drop.is_empty() {
        message = message
            .containers(&missing_drop)
            .text(" must set securityContext.capabilities.drop=[\"ALL\"]");
    }
    if !adding_forbidden.is_empty() {
        if !missing_drop.is_empty() {
            message = message.text("; ");
        }
        message = message
            .containers(&adding_forbidden)
            .text(" must not include ")
            .quoted(&sorted_set(forbidden_caps))
            .text(" in securityContext.capabilities.add");
    }
    Some(Forbidden::new(
        "unrestricted capabilities",
        message.finish(),
    ))
}

fn v1_25(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    if spec.is_windows() {
        return None;
    }
    v1_22(meta, spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{detail, pod};

    #[test]
    fn table() {
        let cases = [
            (
                r#"{"spec":{"containers":[{"name":"a","securityContext":{"capabilities":{"drop":["ALL"],"add":["NET_BIND_SERVICE"]}}}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"containers":[
                {"name":"a","securityContext":{"capabilities":{"add":["FOO"]}}},
                {"name":"b","securityContext":{"capabilities":{"drop":["all"],"add":["BAR","BAZ"]}}},
                {"name":"c","securityContext":{"capabilities":{"drop":["ALL"],"add":["CHOWN","NET_BIND_SERVICE"]}}}]}}"#,
                Some(
                    r#"containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add"#,
                ),
            ),
            (
                r#"{"spec":{"initContainers":[{"name":"i"}],"containers":[{"name":"a","securityContext":{}}]}}"#,
                Some(r#"containers "i", "a" must set securityContext.capabilities.drop=["ALL"]"#),
            ),
            (
                r#"{"spec":{"containers":[{"name":"a","securityContext":{"capabilities":{"drop":["ALL"],"add":["SYS_ADMIN"]}}}]}}"#,
                Some(
                    r#"container "a" must not include "SYS_ADMIN" in securityContext.capabilities.add"#,
                ),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            for f in [v1_22, v1_25] {
                assert_eq!(
                    detail(f(&m, &s), "unrestricted capabilities").as_deref(),
                    want,
                    "{json}"
                );
            }
        }
    }

    #[test]
    fn windows_pods_are_exempt_from_v1_25() {
        let (m, s) = pod(r#"{"spec":{"os":{"name":"windows"},"containers":[{"name":"a"}]}}"#);
        assert!(v1_22(&m, &s).is_some());
        assert!(v1_25(&m, &s).is_none());
    }
}
