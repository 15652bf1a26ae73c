//! `sysctls` (baseline): only the namespaced "safe" sysctls. The safe set grows at v1.27,
//! v1.29, v1.32 and v1.37.

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::Names;
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "sysctls",
    level: Level::Baseline,
    variants: &[
        Variant::new(0, v1_0),
        Variant::new(27, v1_27),
        Variant::new(29, v1_29),
        Variant::new(32, v1_32),
        Variant::new(37, v1_37),
    ],
    needs: Some(Fields::SYSCTLS),
};

/// Every safe sysctl with the version that made it safe, oldest first.
const SAFE: &[(u32, &str)] = &[
    (0, "kernel.shm_rmid_forced"),
    (0, "net.ipv4.ip_local_port_range"),
    (0, "net.ipv4.tcp_syncookies"),
    (0, "net.ipv4.ping_group_range"),
    (0, "net.ipv4.ip_unprivileged_port_start"),
    (27, "net.ipv4.ip_local_reserved_ports"),
    (29, "net.ipv4.tcp_keepalive_time"),
    (29, "net.ipv4.tcp_fin_timeout"),
    (29, "net.ipv4.tcp_keepalive_intvl"),
    (29, "net.ipv4.tcp_keepalive_probes"),
    (32, "net.ipv4.tcp_rmem"),
    (32, "net.ipv4.tcp_wmem"),
    (37, "net.ipv4.tcp_slow_start_after_idle"),
    (37, "net.ipv4.tcp_notsent_lowat"),
];

fn v1_0(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    check(meta, spec, 0)
}
fn v1_27(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    check(meta, spec, 27)
}
fn v1_29(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    check(meta, spec, 29)
}
fn v1_32(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    check(meta, spec, 32)
}
fn v1_37(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    check(meta, spec, 37)
}

fn is_safe(name: &str, minor: u32) -> bool {
    SAFE.iter()
        .any(|(since, safe)| *since <= minor && *safe == name)
}

fn check(_: &PodMetadata, spec: &PodSpec, minor: u32) -> Option<Forbidden> {
    let psc = spec.security_context.as_ref()?;
    // Upstream lists them in array order, duplicates kept, unquoted.
    let forbidden: Names<'_> = psc
        .sysctls
        .iter()
        .map(|s| s.name.as_str())
        .filter(|name| !is_safe(name, minor))
        .collect();
    if forbidden.is_empty() {
        return None;
    }
    Some(Forbidden::new("forbidden sysctls", forbidden.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckFn;
    use crate::checks::test_support::{detail, pod};

    fn with(names: &[&str]) -> String {
        let list: Vec<String> = names
            .iter()
            .map(|n| format!(r#"{{"name":"{n}","value":"1"}}"#))
            .collect();
        format!(
            r#"{{"spec":{{"securityContext":{{"sysctls":[{}]}}}}}}"#,
            list.join(",")
        )
    }

    #[test]
    fn table() {
        let cases = [
            (
                with(&[
                    "kernel.shm_rmid_forced",
                    "net.ipv4.ip_unprivileged_port_start",
                ]),
                None,
            ),
            (
                with(&["b", "a", "b", "kernel.shm_rmid_forced"]),
                Some("b, a, b"),
            ),
            (
                with(&["net/ipv4/tcp_syncookies"]),
                Some("net/ipv4/tcp_syncookies"),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(&json);
            for f in [v1_0, v1_27, v1_29, v1_32, v1_37] {
                assert_eq!(
                    detail(f(&m, &s), "forbidden sysctls").as_deref(),
                    want,
                    "{json}"
                );
            }
        }
    }

    #[test]
    fn the_safe_set_grows_by_version() {
        let steps: [(&str, CheckFn, CheckFn); 4] = [
            ("net.ipv4.ip_local_reserved_ports", v1_0, v1_27),
            ("net.ipv4.tcp_keepalive_probes", v1_27, v1_29),
            ("net.ipv4.tcp_wmem", v1_29, v1_32),
            ("net.ipv4.tcp_notsent_lowat", v1_32, v1_37),
        ];
        for (name, before, from) in steps {
            let (m, s) = pod(&with(&[name]));
            assert!(before(&m, &s).is_some(), "{name} forbidden before");
            assert!(from(&m, &s).is_none(), "{name} allowed from its version");
        }
    }
}
