//! `hostNamespaces` (baseline, every version): no host network, PID or IPC namespace.

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::Names;
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "hostNamespaces",
    level: Level::Baseline,
    variants: &[Variant::new(0, v1_0)],
    needs: Some(Fields::HOST_NAMESPACES),
};

fn v1_0(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let shared = [
        (spec.host_network, "hostNetwork=true"),
        (spec.host_pid, "hostPID=true"),
        (spec.host_ipc, "hostIPC=true"),
    ];
    let bad: Names<'_> = shared
        .iter()
        .filter(|(set, _)| *set == Some(true))
        .map(|(_, text)| *text)
        .collect();
    if bad.is_empty() {
        return None;
    }
    Some(Forbidden::new("host namespaces", bad.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{detail, pod};

    #[test]
    fn table() {
        let cases = [
            (r#"{"spec":{"hostNetwork":false}}"#, None),
            (
                r#"{"spec":{"hostIPC":true,"hostPID":true,"hostNetwork":true}}"#,
                Some("hostNetwork=true, hostPID=true, hostIPC=true"),
            ),
            (r#"{"spec":{"hostIPC":true}}"#, Some("hostIPC=true")),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            assert_eq!(
                detail(v1_0(&m, &s), "host namespaces").as_deref(),
                want,
                "{json}"
            );
        }
    }
}
