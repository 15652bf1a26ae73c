//! `seLinuxOptions` (baseline): SELinux may only select the container types, and may not set a
//! user or role. v1.31 adds the type `container_engine_t`.

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::{Message, Names, sorted_set};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec, SeLinuxOptions};

pub static CHECK: Check = Check {
    id: "seLinuxOptions",
    level: Level::Baseline,
    variants: &[Variant::new(0, v1_0), Variant::new(31, v1_31)],
    needs: Some(Fields::SE_LINUX_OPTIONS),
};

const TYPES_V1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
const TYPES_V1_31: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

fn v1_0(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    check(meta, spec, TYPES_V1_0)
}

fn v1_31(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    check(meta, spec, TYPES_V1_31)
}

#[derive(Default)]
struct Findings<'a> {
    types: Names<'a>,
    user: bool,
    role: bool,
}

impl<'a> Findings<'a> {
    /// Records what is wrong with one options object; true when anything is.
    fn inspect(&mut self, options: &'a SeLinuxOptions, allowed_types: &[&str]) -> bool {
        let mut bad = false;
        let selinux_type = options.type_.as_deref().unwrap_or("");
        if !allowed_types.contains(&selinux_type) {
            self.types.push(selinux_type);
            bad = true;
        }
        if options.user.as_deref().is_some_and(|u| !u.is_empty()) {
            self.user = true;
            bad = true;
        }
        if options.role.as_deref().is_some_and(|r| !r.is_empty()) {
            self.role = true;
            bad = true;
        }
        bad
    }
}

fn check(_: &PodMetadata, spec: &PodSpec, allowed_types: &[&str]) -> Option<Forbidden> {
    let mut findings = Findings::default();
    let pod_bad = spec
        .security_context
        .as_ref()
        .and_then(|psc| psc.se_linux_options.as_ref())
        .is_some_and(|o| findings.inspect(o, allowed_types));
    let mut bad_containers: Names<'_> = Names::new();
    for c in spec.all_containers() {
        let options = c
            .security_context
            .as_ref()
            .and_then(|sc| sc.se_linux_options.as_ref());
        if options.is_some_and(|o| findings.inspect(o, allowed_types)) {
            bad_containers.push(&c.name);
        }
    }
    if !pod_bad && bad_containers.is_empty() {
        return None;
    }
    let mut message = Message::new()
        .setters(pod_bad, &bad_containers)
        .text(" set forbidden securityContext.seLinuxOptions: ");
    let mut parts = 0;
    let mut separate = |message: Message| {
        parts += 1;
        if parts > 1 {
            message.text("; ")
        } else {
            message
        }
    };
    if !findings.types.is_empty() {
        let types = sorted_set(findings.types);
        message = separate(message)
            .noun("type ", "types ", types.len())
            .quoted(&types);
    }
    if findings.user {
        message = separate(message).text("user may not be set");
    }
    if findings.role {
        message = separate(message).text("role may not be set");
    }
    Some(Forbidden::new("seLinuxOptions", message.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{detail, pod};

    #[test]
    fn table() {
        let cases = [
            (
                r#"{"spec":{"securityContext":{"seLinuxOptions":{"type":"container_t","level":"s0:c1"}},
                "containers":[{"name":"a","securityContext":{"seLinuxOptions":{}}}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"securityContext":{"seLinuxOptions":{"type":"foo"}},
                "containers":[{"name":"e","securityContext":{"seLinuxOptions":{"type":"bar"}}},
                {"name":"f","securityContext":{"seLinuxOptions":{"user":"u"}}},
                {"name":"g","securityContext":{"seLinuxOptions":{"role":"r","user":""}}},
                {"name":"ok","securityContext":{"seLinuxOptions":{"type":"container_kvm_t"}}}]}}"#,
                Some(
                    r#"pod and containers "e", "f", "g" set forbidden securityContext.seLinuxOptions: types "bar", "foo"; user may not be set; role may not be set"#,
                ),
            ),
            (
                r#"{"spec":{"containers":[{"name":"a","securityContext":{"seLinuxOptions":{"user":"u"}}}]}}"#,
                Some(
                    r#"container "a" set forbidden securityContext.seLinuxOptions: user may not be set"#,
                ),
            ),
            (
                r#"{"spec":{"securityContext":{"seLinuxOptions":{"type":"x"}}}}"#,
                Some(r#"pod set forbidden securityContext.seLinuxOptions: type "x""#),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            for f in [v1_0, v1_31] {
                assert_eq!(
                    detail(f(&m, &s), "seLinuxOptions").as_deref(),
                    want,
                    "{json}"
                );
            }
        }
    }

    #[test]
    fn container_engine_t_is_allowed_from_v1_31() {
        let (m, s) =
            pod(r#"{"spec":{"securityContext":{"seLinuxOptions":{"type":"container_engine_t"}}}}"#);
        assert_eq!(
            detail(v1_0(&m, &s), "seLinuxOptions").as_deref(),
            Some(r#"pod set forbidden securityContext.seLinuxOptions: type "container_engine_t""#)
        );
        assert!(v1_31(&m, &s).is_none());
    }
}
