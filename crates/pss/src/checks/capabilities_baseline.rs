//! `capabilities_baseline` (baseline, every version): containers may only add capabilities from
//! the default set the container runtime grants anyway.

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::{Message, Names, sorted_set};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "capabilities_baseline",
    level: Level::Baseline,
    variants: &[Variant::new(0, v1_0)],
    needs: Some(Fields::CAPABILITIES),
};

const ALLOWED_ADDITIONS: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn v1_0(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let mut bad_containers: Names<'_> = Names::new();
    let mut bad_caps: Names<'_> = Names::new();
    for c in spec.all_containers() {
        let Some(caps) = c
            .security_context
            .as_ref()
            .and_then(|sc| sc.capabilities.as_ref())
        else {
            continue;
        };
        let mut container_bad = false;
        for cap in &caps.add {
            if !ALLOWED_ADDITIONS.contains(&cap.as_str()) {
                container_bad = true;
                bad_caps.push(cap);
            }
        }
        if container_bad {
            bad_containers.push(&c.name);
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    Some(Forbidden::new(
        "non-default capabilities",
        Message::new()
            .containers(&bad_containers)
            .text(" must not include ")
            .quoted(&sorted_set(bad_caps))
            .text(" in securityContext.capabilities.add")
            .finish(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{detail, pod};

    #[test]
    fn table() {
        let cases = [
            (
                r#"{"spec":{"containers":[{"name":"a","securityContext":{"capabilities":{"add":["CHOWN","SYS_CHROOT"],"drop":["NET_RAW"]}}}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"containers":[
                {"name":"a","securityContext":{"capabilities":{"add":["FOO","BAR","CHOWN"]}}},
                {"name":"b","securityContext":{"capabilities":{"add":["BAZ","FOO"]}}},
                {"name":"c","securityContext":{"capabilities":{"add":["KILL"]}}}]}}"#,
                Some(
                    r#"containers "a", "b" must not include "BAR", "BAZ", "FOO" in securityContext.capabilities.add"#,
                ),
            ),
            (
                r#"{"spec":{"containers":[{"name":"a","securityContext":{"capabilities":{"add":["chown","CAP_CHOWN"]}}}]}}"#,
                Some(
                    r#"container "a" must not include "CAP_CHOWN", "chown" in securityContext.capabilities.add"#,
                ),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            assert_eq!(
                detail(v1_0(&m, &s), "non-default capabilities").as_deref(),
                want,
                "{json}"
            );
        }
    }
}
